// The peer list changing under a running overlay (peersFile), parallel ADDs on one host,
// and the ways an ADD must fail: bad values answer 7 naming the field, and a failed ADD
// leaves no VTEP, bridge, veth or lease behind. Flood entries changed by hand are
// repaired by the next ADD.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, type UnderlayHost, fdb, links, nsExec, udpProbe, vxlanAddArgs } from "../../../netns-fixtures";
import { addContainer, floodDsts, labConfig, linkNamed, runOverlay, tempDir } from "./harness";

const VNI = 7001;
const VTEP = `vx${VNI}`;
const BRIDGE = `vxbr${VNI}`;

describe("vxlan-overlay peers, parallelism and failures", () => {
  const fixture = new NetnsFixture();
  const temp = tempDir("vxlan-peers");
  const peersFile = path.join(temp.dir, "peers.json");
  let hosts: UnderlayHost[] = [];
  const writePeers = (peers: string[]) => fs.writeFileSync(peersFile, JSON.stringify(peers));
  const configFor = (hostIndex: number, extra: Record<string, unknown> = {}) =>
    labConfig({ vni: VNI, hostIndex, dataDir: path.join(temp.dir, `host${hostIndex}`), peersFile, ...extra });
  const host = (index: number) => hosts[index] as UnderlayHost;
  const leaseCount = (hostIndex: number) => {
    const dir = path.join(temp.dir, `host${hostIndex}`, `overlay${VNI}`);
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => /^\d+\.\d+\.\d+\.\d+$/.test(name)).length : 0;
  };

  beforeAll(() => {
    hosts = fixture.underlay({ hosts: 3 });
  });

  afterAll(() => {
    try {
      fixture.cleanup();
    } finally {
      temp.remove();
    }
  });

  it("answers code 7 naming the field for bad values, and changes nothing on the host", async () => {
    const before = links(host(0))
      .map((link) => link.ifname)
      .sort();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ vni: 0 }, "vni"],
      [{ vni: 16777216 }, "vni"],
      [{ port: 70000 }, "port"],
      [{ port: 0 }, "port"],
      [{ peers: ["198.18.0.2", "not-an-address"] }, "peers[1]"],
      [{ peers: ["198.18.0.0/24"] }, "peers[0]"],
      [{ underlay: "nosuch0" }, "underlay"],
      [{ localAddress: "198.18.0.99" }, "localAddress"],
      [{ mode: "l3" }, "peersFile"],
      [{ mode: "l3", peersFile: undefined, peers: [{ address: "198.18.0.2" }] }, "peers[0].subnet"],
      [{ mode: "l3", peersFile: undefined, peers: [{ address: "198.18.0.2", subnet: "10.78.2.0/24" }] }, "subnet"],
      [{ mode: "l7" }, "mode"],
      [{ hostAddress: "10.77.0.1/16" }, "hostAddress"],
      [{ hostAddress: { "198.18.0.1": "10.77.0.1/16", "198.18.0.2": "10.77.0.1/16" } }, "hostAddress"],
      [{ peersFile: path.join(temp.dir, "missing.json") }, "peersFile"],
    ];
    writePeers(hosts.map((h) => h.address));
    for (const [override, field] of cases) {
      const container = fixture.containerNetns();
      const exit = await runOverlay({
        host: host(0),
        command: "ADD",
        config: { ...configFor(0), ...override },
        container,
        containerId: "bad",
      });
      expect(exit.json, JSON.stringify(override)).toMatchObject({ code: 7 });
      expect(String(exit.json?.msg), JSON.stringify(override)).toContain(field);
      expect(links(container).map((link) => link.ifname)).toEqual(["lo"]);
    }
    expect(
      links(host(0))
        .map((link) => link.ifname)
        .sort(),
    ).toEqual(before);
    expect(leaseCount(0)).toBe(0);
  });

  it("a failed ADD leaves no VTEP, bridge, veth or lease", async () => {
    const container = fixture.containerNetns();
    // CNI_IFNAME taken in the container: the ADD fails after the VTEP and bridge exist.
    expect(nsExec(container, ["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "x0"]).status).toBe(0);
    const before = links(host(0))
      .map((link) => link.ifname)
      .sort();
    const exit = await runOverlay({
      host: host(0),
      command: "ADD",
      config: configFor(0),
      container,
      containerId: "clash",
    });
    expect(exit.json).toMatchObject({ code: 4 });
    expect(
      links(host(0))
        .map((link) => link.ifname)
        .sort(),
    ).toEqual(before);
    expect(linkNamed(host(0), VTEP)).toBeUndefined();
    expect(linkNamed(host(0), BRIDGE)).toBeUndefined();
    expect(leaseCount(0)).toBe(0);
  });

  it("parallel ADDs on one host leave exactly one VTEP and one flood entry per peer", async () => {
    writePeers(hosts.map((h) => h.address));
    const containers = Array.from({ length: 6 }, () => fixture.containerNetns());
    const results = await Promise.all(
      containers.map((container, index) =>
        addContainer({ host: host(0), config: configFor(0), container, containerId: `par-${index}` }),
      ),
    );
    expect(new Set(results.map((result) => result.address)).size).toBe(6);
    expect(
      links(host(0))
        .filter((link) => link.linkinfo?.info_kind === "vxlan")
        .map((link) => link.ifname),
    ).toEqual([VTEP]);
    expect(floodDsts(fdb(host(0), VTEP))).toEqual([host(1).address, host(2).address]);
    expect(leaseCount(0)).toBe(6);
  });

  it("replaces a VTEP with the wrong port, keeping it on the bridge", async () => {
    writePeers(hosts.map((h) => h.address));
    nsExec(host(2), [
      "ip",
      ...vxlanAddArgs({ name: VTEP, vni: VNI, local: host(2).address, dev: "ul0", dstport: 8472 }),
    ]);
    expect(linkNamed(host(2), VTEP)?.linkinfo?.info_data).toMatchObject({ port: 8472 });
    await addContainer({
      host: host(2),
      config: configFor(2),
      container: fixture.containerNetns(),
      containerId: "h2-replace",
    });
    const vtep = linkNamed(host(2), VTEP);
    expect(vtep?.linkinfo?.info_data).toMatchObject({ id: VNI, port: 4789, local: host(2).address });
    expect(vtep?.master).toBe(BRIDGE);
  });

  it("picks up a peersFile change on the next ADD: a stale peer loses its entry, a new one gains it", async () => {
    writePeers([host(0).address, host(1).address]);
    const first = fixture.containerNetns();
    const onHost1 = await addContainer({ host: host(1), config: configFor(1), container: first, containerId: "h1-a" });
    expect(floodDsts(fdb(host(1), VTEP))).toEqual([host(0).address]);

    writePeers([host(1).address, host(2).address]);
    const check = await runOverlay({
      host: host(1),
      command: "CHECK",
      config: { ...configFor(1), prevResult: onHost1.result },
      container: first,
      containerId: "h1-a",
    });
    // CHECK compares; only an ADD changes the entries.
    expect(check.json).toMatchObject({ code: 104, msg: expect.stringContaining(host(2).address) });

    const second = fixture.containerNetns();
    await addContainer({ host: host(1), config: configFor(1), container: second, containerId: "h1-b" });
    expect(floodDsts(fdb(host(1), VTEP))).toEqual([host(2).address]);
    // Host 0 still lists host 1, so its traffic keeps arriving and may be learned again;
    // only entries we own (permanent) must be gone for the dropped peer.
    expect(fdb(host(1), VTEP).filter((entry) => entry.dst === host(0).address && entry.state === "permanent")).toEqual(
      [],
    );

    const onHost2Container = fixture.containerNetns();
    const onHost2 = await addContainer({
      host: host(2),
      config: configFor(2),
      container: onHost2Container,
      containerId: "h2-a",
    });
    expect(await udpProbe({ from: second, to: onHost2Container, address: onHost2.address })).toBe(true);
  });

  it("repairs on the next ADD a flood entry deleted by hand and removes one added by hand", async () => {
    writePeers([host(0).address, host(1).address, host(2).address]);
    await addContainer({
      host: host(0),
      config: configFor(0),
      container: fixture.containerNetns(),
      containerId: "h0-a",
    });
    expect(floodDsts(fdb(host(0), VTEP))).toEqual([host(1).address, host(2).address]);
    const flood = ["00:00:00:00:00:00", "dev", VTEP];
    expect(nsExec(host(0), ["bridge", "fdb", "del", ...flood, "dst", host(1).address]).status).toBe(0);
    expect(nsExec(host(0), ["bridge", "fdb", "append", ...flood, "dst", "198.18.0.250"]).status).toBe(0);
    expect(floodDsts(fdb(host(0), VTEP))).toEqual(["198.18.0.250", host(2).address]);

    await addContainer({
      host: host(0),
      config: configFor(0),
      container: fixture.containerNetns(),
      containerId: "h0-b",
    });
    expect(floodDsts(fdb(host(0), VTEP))).toEqual([host(1).address, host(2).address]);
  });
});
