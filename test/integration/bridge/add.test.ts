// ADD with isGateway, isDefaultGateway and ipMasq through the compiled executable, in
// a throwaway host namespace: the kernel state with `ip -j` and `nft -j`, then real
// traffic between two containers and from a container to the gateway; DEL undoes it.
import { beforeAll, describe, expect, it } from "vitest";
import { type Netns, nsExec, ping, udpProbe } from "../../../netns-fixtures";
import {
  type AddResult,
  addOk,
  addressesOf,
  bridgeNetwork,
  defaultRoute,
  leases,
  linkNamed,
  masqRules,
  runBridge,
  sysctlIn,
  vethNames,
  useTestbed,
} from "./harness";

const { fixture, dataDir } = useTestbed("add");
let host: Netns;
let ctrA: Netns;
let ctrB: Netns;
const config = bridgeNetwork({
  name: "addnet",
  bridge: "ckadd0",
  subnet: "10.61.0.0/24",
  dataDir,
  extra: { isGateway: true, isDefaultGateway: true, ipMasq: true },
});
let resultA: AddResult;
let resultB: AddResult;

beforeAll(() => {
  host = fixture.hostNetns();
  ctrA = fixture.containerNetns();
  ctrB = fixture.containerNetns();
  resultA = addOk({ host, config, netns: ctrA.path, containerId: "ctr-a" });
  resultB = addOk({ host, config, netns: ctrB.path, containerId: "ctr-b" });
});

function containerAddress(result: AddResult): string {
  const address = result.ips?.[0]?.address;
  if (!address) throw new Error(`no address in ${JSON.stringify(result)}`);
  return address;
}

describe("bridge ADD with isGateway, isDefaultGateway, ipMasq", () => {
  it("result lists bridge, host veth, container interface; the address points at the container", () => {
    expect(resultA.interfaces?.map((iface) => iface.name)).toEqual(["ckadd0", expect.stringMatching(/^veth/), "eth0"]);
    expect(resultA.interfaces?.[2]).toMatchObject({
      sandbox: ctrA.path,
      mac: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/),
    });
    expect(resultA.ips).toEqual([
      { interface: 2, address: expect.stringMatching(/^10\.61\.0\.\d+\/24$/), gateway: "10.61.0.1" },
    ]);
    expect(resultA.routes).toEqual([{ dst: "0.0.0.0/0", gw: "10.61.0.1" }]);
  });

  it("the bridge exists, is up, and holds the gateway address once, with the subnet's broadcast", () => {
    const bridge = linkNamed(host, "ckadd0");
    expect(bridge?.linkinfo?.info_kind).toBe("bridge");
    expect(bridge?.flags).toContain("UP");
    expect(addressesOf(host, "ckadd0")).toEqual(["10.61.0.1/24"]);
  });

  it("each host veth is a port of the bridge under the name the result gives", () => {
    for (const result of [resultA, resultB]) {
      const hostVeth = result.interfaces?.[1];
      const link = linkNamed(host, hostVeth?.name ?? "");
      expect(link).toMatchObject({ master: "ckadd0", address: hostVeth?.mac });
      expect(link?.flags).toContain("UP");
      expect(link?.linkinfo?.info_slave_kind).toBe("bridge");
    }
    expect(vethNames(host).sort()).toEqual([resultA.interfaces?.[1]?.name, resultB.interfaces?.[1]?.name].sort());
  });

  it("the container has eth0 with the IPAM address, the result's MAC and the default route", () => {
    const eth0 = linkNamed(ctrA, "eth0");
    expect(eth0?.address).toBe(resultA.interfaces?.[2]?.mac);
    expect(eth0?.flags).toContain("UP");
    expect(addressesOf(ctrA, "eth0")).toEqual([containerAddress(resultA)]);
    expect(defaultRoute(ctrA)).toMatchObject({ gateway: "10.61.0.1", dev: "eth0" });
  });

  it("turns ip_forward on in the host namespace", () => {
    expect(sysctlIn(host, "ipv4/ip_forward")).toBe("1");
  });

  it("masquerades each container address in inet cnikit_masq", () => {
    const rules = masqRules(host);
    const sources = rules.map((rule) => rule.saddr).sort();
    expect(sources).toEqual([containerAddress(resultA).split("/")[0], containerAddress(resultB).split("/")[0]].sort());
    expect(new Set(rules.map((rule) => rule.comment)).size).toBe(2);
  });

  it("carries traffic container to container and container to gateway", async () => {
    const addressB = containerAddress(resultB).split("/")[0] ?? "";
    expect(await udpProbe({ from: ctrA, to: ctrB, address: addressB })).toBe(true);
    expect(ping(ctrA, addressB)).toBe(true);
    expect(ping(ctrB, "10.61.0.1")).toBe(true);
    expect(await udpProbe({ from: ctrA, to: host, address: "10.61.0.1" })).toBe(true);
  });

  it("the bridge keeps its own MAC while ports come and go (the gateway's ARP entries stay valid)", () => {
    const before = linkNamed(host, "ckadd0")?.address;
    const ctrC = fixture.containerNetns();
    const extra = addOk({ host, config, netns: ctrC.path, containerId: "ctr-c" });
    const hostVeth = extra.interfaces?.[1]?.name ?? "";
    // An unpinned bridge would adopt this port's MAC, the lowest there is.
    expect(nsExec(host, ["ip", "link", "set", hostVeth, "address", "02:00:00:00:00:01"]).status).toBe(0);
    expect(linkNamed(host, "ckadd0")?.address).toBe(before);
    expect(runBridge({ host, command: "DEL", config, netns: ctrC.path, containerId: "ctr-c" }).status).toBe(0);
    expect(linkNamed(host, "ckadd0")?.address).toBe(before);
    expect(linkNamed(host, hostVeth)).toBeUndefined();
    expect(resultA.interfaces?.[0]?.mac).toBe(before);
  });

  it("DEL removes veths, leases and rules, and keeps the bridge", () => {
    for (const [ctr, id] of [
      [ctrA, "ctr-a"],
      [ctrB, "ctr-b"],
    ] as const) {
      const exit = runBridge({ host, command: "DEL", config, netns: ctr.path, containerId: id });
      expect(exit.status, exit.stdout).toBe(0);
      expect(linkNamed(ctr, "eth0")).toBeUndefined();
    }
    expect(vethNames(host)).toEqual([]);
    expect(leases(dataDir, "addnet")).toEqual([]);
    expect(masqRules(host)).toEqual([]);
    expect(linkNamed(host, "ckadd0")).toBeDefined();
  });
});
