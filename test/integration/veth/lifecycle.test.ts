// DEL that finds nothing, DEL after the container is gone, CHECK against a drifted
// kernel, masquerade rules, and failed ADDs that must leave nothing behind.
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Netns, links, nsExec } from "../../../netns-fixtures";
import { callVeth, hostVeths, leases, network, nftRuleComments, succeed, testBed } from "./harness";

const { fixture, workDir } = testBed("life");
let host: Netns;
beforeAll(() => {
  host = fixture.hostNetns();
});

function containerLinks(ctr: Netns): string[] {
  return links(ctr).map((link) => link.ifname);
}

/** Our masquerade rules in the host namespace (their comments carry the network name). */
function masqRules(networkName: string): string[] {
  return nftRuleComments(host, networkName);
}

describe("DEL", () => {
  const dataDir = path.join(workDir, "del");
  const config = network({ dataDir, subnet: 20, ipv6: true, extra: { ipMasq: true } });

  it("twice succeeds, and the second finds nothing to do", async () => {
    const ctr = fixture.containerNetns();
    await succeed({ command: "ADD", host, netns: ctr.path, containerId: "twice", config });
    expect(masqRules("vnet20")).toHaveLength(2);
    await succeed({ command: "DEL", host, netns: ctr.path, containerId: "twice", config });
    await succeed({ command: "DEL", host, netns: ctr.path, containerId: "twice", config });
    expect(containerLinks(ctr)).toEqual(["lo"]);
    expect(hostVeths(host)).toEqual([]);
    expect(leases(dataDir, "vnet20")).toEqual([]);
    expect(masqRules("vnet20")).toEqual([]);
  });

  it("with the container's namespace gone still releases the lease and the rules", async () => {
    const ctr = fixture.containerNetns();
    await succeed({ command: "ADD", host, netns: ctr.path, containerId: "gone", config });
    expect(leases(dataDir, "vnet20")).toHaveLength(2);
    nsExec(host, ["ip", "netns", "del", ctr.name]);
    await succeed({ command: "DEL", host, netns: ctr.path, containerId: "gone", config });
    expect(hostVeths(host)).toEqual([]);
    expect(leases(dataDir, "vnet20")).toEqual([]);
    expect(masqRules("vnet20")).toEqual([]);
  });

  it("without CNI_NETNS releases the lease", async () => {
    const ctr = fixture.containerNetns();
    await succeed({ command: "ADD", host, netns: ctr.path, containerId: "nonetns", config });
    await succeed({ command: "DEL", host, containerId: "nonetns", config });
    expect(leases(dataDir, "vnet20")).toEqual([]);
    expect(hostVeths(host)).toEqual([]);
  });
});

describe("CHECK", () => {
  const dataDir = path.join(workDir, "check");
  const config = network({ cniVersion: "1.1.0", dataDir, subnet: 21, ipv6: true });
  let ctr: Netns;
  let result: Record<string, unknown>;

  beforeAll(async () => {
    ctr = fixture.containerNetns();
    result = await succeed({ command: "ADD", host, netns: ctr.path, containerId: "check", config });
  });
  afterAll(async () => {
    await succeed({ command: "DEL", host, netns: ctr.path, containerId: "check", config });
  });

  const check = () =>
    callVeth({
      command: "CHECK",
      host,
      netns: ctr.path,
      containerId: "check",
      config: { ...config, prevResult: result },
    });

  it("fails with code 104 when the subnet route through the gateway is gone, and passes once it is back", async () => {
    expect(await check()).toMatchObject({ status: 0 });
    nsExec(ctr, ["ip", "route", "del", "10.66.21.0/24"]);
    expect((await check()).json).toMatchObject({
      code: 104,
      msg: expect.stringContaining("10.66.21.0/24 via 10.66.21.1"),
    });
    nsExec(ctr, ["ip", "route", "add", "10.66.21.0/24", "via", "10.66.21.1", "dev", "eth0", "src", "10.66.21.2"]);
    expect(await check()).toMatchObject({ status: 0 });
  });

  it("fails when the host route to the container is gone", async () => {
    const hostEnd = (result.interfaces as Array<{ name: string }>)[0]?.name ?? "";
    nsExec(host, ["ip", "-6", "route", "del", "fd66:21::2", "dev", hostEnd]);
    expect((await check()).json).toMatchObject({ code: 104, msg: expect.stringContaining("fd66:21::2") });
    nsExec(host, ["ip", "-6", "route", "add", "fd66:21::2", "dev", hostEnd]);
    expect(await check()).toMatchObject({ status: 0 });
  });

  it("fails when the container interface's MAC changed", async () => {
    nsExec(ctr, ["ip", "link", "set", "eth0", "address", "0a:58:0a:42:15:99"]);
    expect((await check()).json).toMatchObject({ code: 104, msg: expect.stringContaining("MAC") });
  });

  it("without prevResult is a config error", async () => {
    expect(
      (await callVeth({ command: "CHECK", host, netns: ctr.path, containerId: "check", config })).json,
    ).toMatchObject({ code: 7 });
  });
});

describe("a failed ADD leaves nothing behind", () => {
  function expectNothingLeft(ctr: Netns, dataDir: string, networkName: string, keptLeases: string[] = []): void {
    expect(containerLinks(ctr)).toEqual(["lo"]);
    expect(hostVeths(host)).toEqual([]);
    expect(leases(dataDir, networkName).sort()).toEqual(keptLeases);
    expect(masqRules(networkName)).toEqual([]);
  }

  it("when the IPAM range is exhausted (after the veth pair was made)", async () => {
    const dataDir = path.join(workDir, "exhausted");
    const config = network({
      dataDir,
      subnet: 22,
      extra: { ipMasq: true },
      ipamExtra: { ranges: [[{ subnet: "10.66.22.0/30" }]] },
    });
    const first = fixture.containerNetns();
    const second = fixture.containerNetns();
    await succeed({ command: "ADD", host, netns: first.path, containerId: "full-1", config });
    const exit = await callVeth({ command: "ADD", host, netns: second.path, containerId: "full-2", config });
    expect(exit.status).toBe(1);
    expect(exit.json).toMatchObject({ msg: expect.stringMatching(/10\.66\.22\.0\/30/) });
    expect(containerLinks(second)).toEqual(["lo"]);
    expect(hostVeths(host)).toHaveLength(1);
    expect(leases(dataDir, "vnet22")).toEqual(["10.66.22.2"]);
    await succeed({ command: "DEL", host, netns: first.path, containerId: "full-1", config });
    expectNothingLeft(first, dataDir, "vnet22");
  });

  it("when the kernel refuses the MTU for IPv6 (after IPAM allocated)", async () => {
    const dataDir = path.join(workDir, "mtu");
    const config = network({ dataDir, subnet: 23, ipv6: true, extra: { mtu: 1000, ipMasq: true } });
    const ctr = fixture.containerNetns();
    const exit = await callVeth({ command: "ADD", host, netns: ctr.path, containerId: "mtu", config });
    expect(exit.status).toBe(1);
    expect(exit.json).toMatchObject({ msg: expect.stringContaining("fd66:23::2") });
    expectNothingLeft(ctr, dataDir, "vnet23");
  });

  it("when an IPAM route cannot be installed (after addresses and point-to-point routes)", async () => {
    const dataDir = path.join(workDir, "route");
    const config = network({
      dataDir,
      subnet: 24,
      extra: { ipMasq: true },
      ipamExtra: { routes: [{ dst: "10.99.0.0/16", gw: "10.200.0.1" }] },
    });
    const ctr = fixture.containerNetns();
    const exit = await callVeth({ command: "ADD", host, netns: ctr.path, containerId: "route", config });
    expect(exit.json).toMatchObject({ code: 102, msg: expect.stringContaining("10.99.0.0/16") });
    expectNothingLeft(ctr, dataDir, "vnet24");
  });

  it("when CNI_IFNAME already exists in the container (nothing allocated)", async () => {
    const dataDir = path.join(workDir, "exists");
    const config = network({ dataDir, subnet: 25 });
    const ctr = fixture.containerNetns();
    // This kernel has no dummy driver; any link named eth0 will do.
    expect(nsExec(ctr, ["ip", "link", "add", "eth0", "type", "bridge"]).status).toBe(0);
    const exit = await callVeth({ command: "ADD", host, netns: ctr.path, containerId: "exists", config });
    expect(exit.json).toMatchObject({ code: 4 });
    expect(containerLinks(ctr)).toEqual(["lo", "eth0"]);
    expect(hostVeths(host)).toEqual([]);
    expect(leases(dataDir, "vnet25")).toEqual([]);
  });

  it("refuses an MTU below 68 and a config without IPAM before touching anything", async () => {
    const dataDir = path.join(workDir, "config");
    const ctr = fixture.containerNetns();
    const tooSmall = await callVeth({
      command: "ADD",
      host,
      netns: ctr.path,
      config: network({ dataDir, subnet: 26, extra: { mtu: 10 } }),
    });
    expect(tooSmall.json).toMatchObject({ code: 7, msg: expect.stringContaining("mtu") });
    const noIpam = await callVeth({
      command: "ADD",
      host,
      netns: ctr.path,
      config: { cniVersion: "1.0.0", name: "noipam", type: "veth" },
    });
    expect(noIpam.json).toMatchObject({ code: 7, msg: expect.stringContaining("ipam") });
    expectNothingLeft(ctr, dataDir, "vnet26");
  });
});
