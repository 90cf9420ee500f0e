// Options that meet existing host state or change what ADD configures at all: L2 only,
// disableContainerInterface, forceAddress, and a non-bridge link with the bridge's name.
import { beforeAll, describe, expect, it } from "vitest";
import { type Netns, nsExec, udpProbe } from "../../../netns-fixtures";
import {
  addOk,
  addRefused,
  addressesOf,
  bridgeNetwork,
  expectNothingLeft,
  leases,
  linkNamed,
  vethNames,
  useTestbed,
} from "./harness";

const { fixture, dataDir } = useTestbed("hst");
let host: Netns;

beforeAll(() => {
  host = fixture.hostNetns();
});

function ipIn(netns: Netns, args: string[]): void {
  const run = nsExec(netns, ["ip", ...args]);
  if (run.status !== 0) throw new Error(`ip ${args.join(" ")}: ${run.stderr}`);
}

describe('L2 only ("ipam": {})', () => {
  const config = { cniVersion: "1.0.0", name: "l2net", type: "bridge", bridge: "ckl2", ipam: {} };

  it("result has interfaces only; no addresses anywhere; containers still talk over L2", async () => {
    const [ctrA, ctrB] = [fixture.containerNetns(), fixture.containerNetns()];
    const result = addOk({ host, config, netns: ctrA.path, containerId: "l2-a" });
    addOk({ host, config, netns: ctrB.path, containerId: "l2-b" });
    expect(Object.keys(result).sort()).toEqual(["cniVersion", "interfaces"]);
    expect(result.interfaces?.map((iface) => iface.name)).toEqual(["ckl2", expect.stringMatching(/^veth/), "eth0"]);
    expect(addressesOf(ctrA, "eth0")).toEqual([]);
    expect(addressesOf(host, "ckl2")).toEqual([]);
    expect(linkNamed(ctrA, "eth0")?.flags).toContain("UP");
    // Addresses the test adds itself: the bridge forwards frames without any IPAM.
    ipIn(ctrA, ["addr", "add", "10.64.0.1/24", "dev", "eth0"]);
    ipIn(ctrB, ["addr", "add", "10.64.0.2/24", "dev", "eth0"]);
    expect(await udpProbe({ from: ctrA, to: ctrB, address: "10.64.0.2" })).toBe(true);
  });
});

describe("disableContainerInterface", () => {
  it("leaves the container interface down (L2 only)", () => {
    const ctr = fixture.containerNetns();
    const config = {
      cniVersion: "1.0.0",
      name: "downnet",
      type: "bridge",
      bridge: "ckdown",
      disableContainerInterface: true,
      ipam: {},
    };
    const result = addOk({ host, config, netns: ctr.path, containerId: "down" });
    expect(result.interfaces?.[2]?.name).toBe("eth0");
    expect(linkNamed(ctr, "eth0")?.flags).not.toContain("UP");
    expect(linkNamed(host, result.interfaces?.[1]?.name ?? "")?.master).toBe("ckdown");
  });

  it("with an IPAM plugin is a config error (code 7), as in the reference, and changes nothing", () => {
    const config = bridgeNetwork({
      name: "downipam",
      bridge: "ckdownip",
      subnet: "10.64.1.0/24",
      dataDir,
      extra: { disableContainerInterface: true },
    });
    addRefused(
      { host, config, netns: fixture.containerNetns().path, containerId: "downip" },
      7,
      "disableContainerInterface",
    );
    expect(linkNamed(host, "ckdownip")).toBeUndefined();
    expect(leases(dataDir, "downipam")).toEqual([]);
  });
});

describe("forceAddress", () => {
  // A host of its own, so "nothing left behind" sees only this case's links.
  let forceHost: Netns;
  beforeAll(() => {
    forceHost = fixture.hostNetns();
  });
  const network = (force: boolean) =>
    bridgeNetwork({
      name: `force${force ? 1 : 0}`,
      bridge: `ckforce${force ? 1 : 0}`,
      subnet: "10.64.2.0/24",
      dataDir,
      extra: { isGateway: true, forceAddress: force },
    });

  /** A bridge that already has another address of the subnet, as an admin may have left it. */
  function bridgeWithOtherAddress(name: string): void {
    ipIn(forceHost, ["link", "add", name, "type", "bridge"]);
    ipIn(forceHost, ["addr", "add", "10.64.2.254/24", "dev", name]);
  }

  it("without it: an error naming the address present, and nothing left behind", () => {
    bridgeWithOtherAddress("ckforce0");
    const call = {
      host: forceHost,
      config: network(false),
      netns: fixture.containerNetns().path,
      containerId: "force0",
    };
    addRefused(call, 7, "10.64.2.254/24");
    expect(addressesOf(forceHost, "ckforce0")).toEqual(["10.64.2.254/24"]);
    expectNothingLeft({ host: forceHost, dataDir, network: "force0" });
  });

  it("with it: the other address is replaced by the gateway", () => {
    bridgeWithOtherAddress("ckforce1");
    addOk({ host: forceHost, config: network(true), netns: fixture.containerNetns().path, containerId: "force1" });
    expect(addressesOf(forceHost, "ckforce1")).toEqual(["10.64.2.1/24"]);
  });
});

describe("a link named like the bridge that is not a bridge", () => {
  it("is an error (code 7) naming it, leaving no veth and no lease", () => {
    const ownHost = fixture.hostNetns();
    ipIn(ownHost, ["link", "add", "cknotbr", "type", "veth", "peer", "name", "cknotbr-peer"]);
    const config = bridgeNetwork({
      name: "notbr",
      bridge: "cknotbr",
      subnet: "10.64.3.0/24",
      dataDir,
      extra: { isGateway: true },
    });
    const ctr = fixture.containerNetns();
    addRefused({ host: ownHost, config, netns: ctr.path, containerId: "notbr" }, 7, '"cknotbr"');
    expect(vethNames(ownHost).sort()).toEqual(["cknotbr", "cknotbr-peer"]);
    expect(leases(dataDir, "notbr")).toEqual([]);
    expect(linkNamed(ctr, "eth0")).toBeUndefined();
  });
});

describe("isGateway on a subnet with no room for a gateway", () => {
  it("a /32 range gets no invented gateway outside it: no gateway in the result, none on the bridge", () => {
    const config = bridgeNetwork({
      name: "slash32",
      bridge: "ck32",
      subnet: "10.64.9.7/32",
      dataDir,
      extra: { isGateway: true },
    });
    const result = addOk({ host, config, netns: fixture.containerNetns().path, containerId: "slash32" });
    expect(result.ips).toEqual([{ interface: 2, address: "10.64.9.7/32" }]);
    expect(addressesOf(host, "ck32")).toEqual([]);
  });
});
