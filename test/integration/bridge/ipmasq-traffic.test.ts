// ipMasq with real traffic: a container on our bridge reaches a namespace beyond the host
// only because the host masquerades it. The outside namespace has an address on a veth to
// the host and no route back to the container subnets; a second network, identical but
// without ipMasq, shows the difference (its replies have nowhere to go).
import { beforeAll, describe, expect, it } from "vitest";
import { type Netns, ping } from "../../../netns-fixtures";
import { linkOutside, udpSourceSeen } from "./beyond-host";
import {
  type AddResult,
  addOk,
  bridgeNetwork,
  defaultRoute,
  leases,
  masqRules,
  runBridge,
  sysctlIn,
  useTestbed,
  vethNames,
  withPrevResult,
} from "./harness";

const { fixture, dataDir } = useTestbed("masqtr");
const HOST_ADDRESS = "198.18.63.1";
const OUTSIDE_ADDRESS = "198.18.63.2";
const gatewayOptions = { isGateway: true, isDefaultGateway: true };
const masqConfig = bridgeNetwork({
  name: "masqnet",
  bridge: "ckmasq0",
  subnet: "10.63.0.0/24",
  dataDir,
  extra: { ...gatewayOptions, ipMasq: true },
});
const plainConfig = bridgeNetwork({
  name: "plainnet",
  bridge: "ckplain0",
  subnet: "10.63.1.0/24",
  dataDir,
  extra: gatewayOptions,
});

let host: Netns;
let outside: Netns;
let masqCtr: Netns;
let plainCtr: Netns;
let masqResult: AddResult;
let plainResult: AddResult;

beforeAll(() => {
  host = fixture.hostNetns();
  outside = fixture.createNetns("outside");
  linkOutside({ host, hostAddress: HOST_ADDRESS, outside, outsideAddress: OUTSIDE_ADDRESS });
  masqCtr = fixture.containerNetns();
  plainCtr = fixture.containerNetns();
  masqResult = addOk({ host, config: masqConfig, netns: masqCtr.path, containerId: "masq-ctr" });
  plainResult = addOk({ host, config: plainConfig, netns: plainCtr.path, containerId: "plain-ctr" });
});

function addressOf(result: AddResult): string {
  const address = result.ips?.[0]?.address.split("/")[0];
  if (!address) throw new Error(`no address in ${JSON.stringify(result)}`);
  return address;
}

describe("ipMasq: a container reaches a namespace beyond the host", () => {
  it("the setup is what the test relies on: forwarding on, default routes, no way back from outside", () => {
    expect(sysctlIn(host, "ipv4/ip_forward")).toBe("1");
    expect(defaultRoute(masqCtr)).toMatchObject({ gateway: "10.63.0.1" });
    expect(defaultRoute(plainCtr)).toMatchObject({ gateway: "10.63.1.1" });
    expect(defaultRoute(outside)).toBeUndefined();
    expect(masqRules(host).map((rule) => rule.saddr)).toEqual([addressOf(masqResult)]);
  });

  it("with ipMasq, ping beyond the host gets its replies", () => {
    expect(ping(masqCtr, OUTSIDE_ADDRESS, 3)).toBe(true);
  });

  it("with ipMasq, the outside sees the host's address as the source", async () => {
    expect(await udpSourceSeen({ from: masqCtr, to: outside, address: OUTSIDE_ADDRESS, port: 47_001 })).toBe(
      HOST_ADDRESS,
    );
  });

  it("without ipMasq, the datagram arrives with the container's own source and ping gets no reply", async () => {
    expect(await udpSourceSeen({ from: plainCtr, to: outside, address: OUTSIDE_ADDRESS, port: 47_002 })).toBe(
      addressOf(plainResult),
    );
    expect(ping(plainCtr, OUTSIDE_ADDRESS, 2)).toBe(false);
  });

  it("after DEL the rule is gone and nothing of either network is left", () => {
    for (const [config, ctr, containerId, result] of [
      [masqConfig, masqCtr, "masq-ctr", masqResult],
      [plainConfig, plainCtr, "plain-ctr", plainResult],
    ] as const) {
      const exit = runBridge({
        host,
        command: "DEL",
        config: withPrevResult(config, result),
        netns: ctr.path,
        containerId,
      });
      expect(exit.status, exit.stdout).toBe(0);
    }
    // up0, the link to the outside, is the test's own veth.
    expect(vethNames(host)).toEqual(["up0"]);
    expect(masqRules(host)).toEqual([]);
    expect([...leases(dataDir, "masqnet"), ...leases(dataDir, "plainnet")]).toEqual([]);
  });
});
