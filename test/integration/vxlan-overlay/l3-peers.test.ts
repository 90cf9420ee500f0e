// Mode l3 under change: a peer dropped from the peersFile loses its three entries on the
// next ADD and an added one gains them; parallel ADDs racing to create the VTEP leave one
// VTEP with one set of entries per peer, and its MAC is the one it had (the peers' entries
// stay right without touching them); a VTEP with the wrong port is replaced; entries
// changed by hand are repaired by the next ADD.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, type UnderlayHost, links, nsExec, udpProbe, vxlanAddArgs } from "../../../netns-fixtures";
import { type L3LabPeer, addContainer, expectedL3Entries, l3Config, l3Entries, linkNamed, tempDir } from "./harness";
import { tcpEcho } from "./tcp";

const VNI = 5252;
const VTEP = `vx${VNI}`;

describe("vxlan-overlay l3 peers, parallelism and replacement", () => {
  const fixture = new NetnsFixture();
  const temp = tempDir("vxlan-l3-peers");
  const peersFile = path.join(temp.dir, "peers.json");
  let hosts: UnderlayHost[] = [];
  let allPeers: L3LabPeer[] = [];
  const host = (index: number) => hosts[index] as UnderlayHost;
  const writePeers = (peers: L3LabPeer[]) => fs.writeFileSync(peersFile, JSON.stringify(peers));
  const configFor = (hostIndex: number) =>
    l3Config({
      vni: VNI,
      ipamSubnet: `10.79.${hostIndex + 1}.0/24`,
      dataDir: path.join(temp.dir, `host${hostIndex}`),
      peersFile,
    });
  const macs = new Map<string, string>();
  const macOf = (address: string) => macs.get(address) ?? "?";
  const remoteOf = (index: number, peers: L3LabPeer[]) => peers.filter((peer) => peer.address !== host(index).address);
  const vxlanDevices = (index: number) =>
    links(host(index))
      .filter((link) => link.linkinfo?.info_kind === "vxlan")
      .map((link) => link.ifname);

  beforeAll(async () => {
    hosts = fixture.underlay({ hosts: 3 });
    allPeers = hosts.map((underlayHost, index) => ({
      address: underlayHost.address,
      subnet: `10.79.${index + 1}.0/24`,
    }));
    writePeers(allPeers);
    for (const index of [0, 1, 2]) {
      await addContainer({
        host: host(index),
        config: configFor(index),
        container: fixture.containerNetns(),
        containerId: `first-${index}`,
      });
      macs.set(host(index).address, linkNamed(host(index), VTEP)?.address ?? "");
    }
  });

  afterAll(() => {
    try {
      fixture.cleanup();
    } finally {
      temp.remove();
    }
  });

  it("drops the three entries of a peer removed from the peersFile on the next ADD, and adds them back when it returns", async () => {
    writePeers(allPeers.filter((peer) => peer.address !== host(2).address));
    await addContainer({
      host: host(0),
      config: configFor(0),
      container: fixture.containerNetns(),
      containerId: "drop-0",
    });
    const dropped = l3Entries(host(0), VTEP);
    expect(dropped).toEqual(expectedL3Entries([allPeers[1] as L3LabPeer], macOf));
    expect(JSON.stringify(dropped)).not.toContain(host(2).address);
    expect(JSON.stringify(dropped)).not.toContain("10.79.3.");
    // Host 1 has had no ADD since: it keeps host 2 until its next one.
    expect(l3Entries(host(1), VTEP)).toEqual(expectedL3Entries(remoteOf(1, allPeers), macOf));

    writePeers(allPeers);
    await addContainer({
      host: host(0),
      config: configFor(0),
      container: fixture.containerNetns(),
      containerId: "back-0",
    });
    expect(l3Entries(host(0), VTEP)).toEqual(expectedL3Entries(remoteOf(0, allPeers), macOf));
  });

  it("repairs on the next ADD entries deleted, changed or added by hand (the kernel is read back, not trusted)", async () => {
    const target = host(0);
    const [peer1, peer2] = [allPeers[1] as L3LabPeer, allPeers[2] as L3LabPeer];
    const network = (subnet: string) => subnet.split("/")[0] ?? "";
    const drift = [
      ["bridge", "fdb", "del", macOf(peer1.address), "dev", VTEP, "dst", peer1.address, "self"],
      ["ip", "route", "del", peer2.subnet, "dev", VTEP],
      ["ip", "neigh", "replace", network(peer1.subnet), "lladdr", "02:00:00:00:00:99", "dev", VTEP, "nud", "permanent"],
      ["ip", "route", "add", "10.79.200.0/24", "via", "10.79.200.0", "dev", VTEP, "onlink"],
    ];
    for (const argv of drift) expect(nsExec(target, argv).status, argv.join(" ")).toBe(0);
    const drifted = l3Entries(target, VTEP);
    expect(drifted.fdb).not.toContain(`${macOf(peer1.address)} ${peer1.address} permanent`);
    expect(drifted.routes).not.toContain(`${peer2.subnet} via ${network(peer2.subnet)} onlink`);
    expect(drifted.routes).toContain("10.79.200.0/24 via 10.79.200.0 onlink");
    expect(drifted.neighbours).toContain(`${network(peer1.subnet)} 02:00:00:00:00:99`);

    await addContainer({
      host: target,
      config: configFor(0),
      container: fixture.containerNetns(),
      containerId: "drift-0",
    });
    expect(l3Entries(target, VTEP)).toEqual(expectedL3Entries(remoteOf(0, allPeers), macOf));
  });

  it("gives a new peer its entries on the next ADD and carries traffic to it", async () => {
    writePeers(allPeers.slice(0, 2));
    const lateHost = host(2);
    nsExec(lateHost, ["ip", "link", "del", VTEP]);
    await addContainer({
      host: host(1),
      config: configFor(1),
      container: fixture.containerNetns(),
      containerId: "without-2",
    });
    expect(l3Entries(host(1), VTEP)).toEqual(expectedL3Entries(remoteOf(1, allPeers.slice(0, 2)), macOf));

    writePeers(allPeers);
    const onHost1 = fixture.containerNetns();
    const from = await addContainer({ host: host(1), config: configFor(1), container: onHost1, containerId: "with-2" });
    expect(l3Entries(host(1), VTEP)).toEqual(expectedL3Entries(remoteOf(1, allPeers), macOf));
    const onHost2 = fixture.containerNetns();
    const to = await addContainer({ host: lateHost, config: configFor(2), container: onHost2, containerId: "late-2" });
    expect(linkNamed(lateHost, VTEP)?.address).toBe(macOf(lateHost.address));
    expect(await udpProbe({ from: onHost1, to: onHost2, address: to.address })).toBe(true);
    expect(await tcpEcho({ from: onHost2, to: onHost1, address: from.address })).toBe(true);
  });

  it("parallel ADDs racing to re-create the VTEP leave one VTEP, its old MAC, and one set of entries per peer", async () => {
    const target = host(1);
    nsExec(target, ["ip", "link", "del", VTEP]);
    const containers = Array.from({ length: 6 }, () => fixture.containerNetns());
    const added = await Promise.all(
      containers.map((container, index) =>
        addContainer({ host: target, config: configFor(1), container, containerId: `par-${index}` }),
      ),
    );
    expect(new Set(added.map((result) => result.address)).size).toBe(6);
    expect(vxlanDevices(1)).toEqual([VTEP]);
    expect(linkNamed(target, VTEP)?.address).toBe(macOf(target.address));
    expect(l3Entries(target, VTEP)).toEqual(expectedL3Entries(remoteOf(1, allPeers), macOf));
    // Host 0 was not touched: its entries for host 1 still hold, so traffic flows at once.
    const onHost0 = fixture.containerNetns();
    await addContainer({ host: host(0), config: configFor(0), container: onHost0, containerId: "par-peer" });
    const [firstContainer] = containers;
    if (!firstContainer) throw new Error("no container");
    expect(await udpProbe({ from: onHost0, to: firstContainer, address: added[0]?.address ?? "?" })).toBe(true);
  });

  it("replaces a VTEP with the wrong port, keeping it standalone with its derived MAC", async () => {
    const target = host(2);
    nsExec(target, ["ip", "link", "del", VTEP]);
    expect(
      nsExec(target, [
        "ip",
        ...vxlanAddArgs({ name: VTEP, vni: VNI, local: target.address, dev: "ul0", dstport: 8472 }),
      ]).status,
    ).toBe(0);
    await addContainer({
      host: target,
      config: configFor(2),
      container: fixture.containerNetns(),
      containerId: "replace-2",
    });
    const vtep = linkNamed(target, VTEP);
    expect(vtep?.linkinfo?.info_data).toMatchObject({ id: VNI, port: 4789, learning: false });
    expect(vtep?.master).toBeUndefined();
    expect(vtep?.address).toBe(macOf(target.address));
    expect(l3Entries(target, VTEP)).toEqual(expectedL3Entries(remoteOf(2, allPeers), macOf));
  });
});
