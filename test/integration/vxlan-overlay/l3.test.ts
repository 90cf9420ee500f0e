// Mode l3 across three hosts, two containers each: every host owns a subnet, its bridge
// holds the subnet's gateway, its VTEP stands alone with a MAC derived from the VNI and
// the underlay address, and every peer has exactly one FDB, neighbour and route entry.
// Checked with `bridge -j fdb` / `ip -j`, UDP and TCP between every pair of containers,
// the MTU edge, CHECK. The compiled executable runs inside each host namespace.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, type UnderlayHost, ipJson, nsExec, ping, routes } from "../../../netns-fixtures";
import {
  itCarriesTrafficBetweenEveryPair,
  dfPings,
  type Attached,
  type L3LabPeer,
  addContainer,
  l3Config,
  attachContainers,
  expectedL3Entries,
  l3Entries,
  linkNamed,
  runOverlay,
  tempDir,
} from "./harness";

const VNI = 5151;
const VTEP = `vx${VNI}`;
const BRIDGE = `vxbr${VNI}`;

describe("vxlan-overlay l3 across three hosts", () => {
  const fixture = new NetnsFixture();
  const temp = tempDir("vxlan-l3");
  const peersFile = path.join(temp.dir, "peers.json");
  let hosts: UnderlayHost[] = [];
  let peers: L3LabPeer[] = [];
  let attached: Attached[] = [];
  const subnetOf = (hostIndex: number) => `10.78.${hostIndex + 1}.0/24`;
  // Host 0 names its subnet; the others take theirs from their own entry in the peer list.
  const configFor = (hostIndex: number) =>
    l3Config({
      vni: VNI,
      ipamSubnet: subnetOf(hostIndex),
      dataDir: path.join(temp.dir, `host${hostIndex}`),
      peersFile,
      ...(hostIndex === 0 && { subnet: subnetOf(0) }),
    });
  const vtepMacOf = (address: string) =>
    linkNamed(hosts.find((host) => host.address === address) as UnderlayHost, VTEP)?.address ?? "?";
  const othersOf = (host: UnderlayHost) => peers.filter((peer) => peer.address !== host.address);

  beforeAll(async () => {
    hosts = fixture.underlay({ hosts: 3 });
    peers = hosts.map((host, index) => ({ address: host.address, subnet: subnetOf(index) }));
    fs.writeFileSync(peersFile, JSON.stringify(peers));
    attached = await attachContainers({ fixture, hosts, perHost: 2, idPrefix: "l3", configFor });
  });

  afterAll(() => {
    try {
      fixture.cleanup();
    } finally {
      temp.remove();
    }
  });

  it("makes a standalone VTEP per host: the VNI, learning off, a locally administered MAC, the subnet's network address", () => {
    const macs = new Set<string>();
    for (const [index, host] of hosts.entries()) {
      const vtep = linkNamed(host, VTEP);
      expect(vtep?.linkinfo?.info_data).toMatchObject({
        id: VNI,
        port: 4789,
        local: host.address,
        link: "ul0",
        learning: false,
      });
      expect(vtep?.master).toBeUndefined();
      expect(vtep?.flags).toContain("UP");
      expect(vtep?.mtu).toBe(1450);
      expect(Number.parseInt((vtep?.address ?? "").slice(0, 2), 16) & 0x03).toBe(0x02);
      macs.add(vtep?.address ?? "");
      const vtepAddresses = ipJson<Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>>(host, [
        "-4",
        "addr",
        "show",
        "dev",
        VTEP,
      ]);
      expect(vtepAddresses.flatMap((link) => link.addr_info.map((info) => `${info.local}/${info.prefixlen}`))).toEqual([
        `10.78.${index + 1}.0/32`,
      ]);
    }
    expect(macs.size).toBe(3);
  });

  it("puts the subnet's gateway on the bridge, turns forwarding on, and routes the containers through it", () => {
    for (const [index, host] of hosts.entries()) {
      const bridgeAddresses = ipJson<Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>>(host, [
        "-4",
        "addr",
        "show",
        "dev",
        BRIDGE,
      ]);
      expect(
        bridgeAddresses.flatMap((link) => link.addr_info.map((info) => `${info.local}/${info.prefixlen}`)),
      ).toEqual([`10.78.${index + 1}.1/24`]);
      expect(nsExec(host, ["cat", "/proc/sys/net/ipv4/ip_forward"]).stdout.trim()).toBe("1");
    }
    for (const entry of attached) {
      expect(routes(entry.container, 4).find((route) => route.dst === "default")?.gateway).toBe(
        `10.78.${entry.hostIndex + 1}.1`,
      );
    }
  });

  it("has exactly one FDB, neighbour and route entry per other host, with the MAC that host's VTEP really has", () => {
    for (const host of hosts) {
      expect(l3Entries(host, VTEP)).toEqual(expectedL3Entries(othersOf(host), vtepMacOf));
    }
  });

  itCarriesTrafficBetweenEveryPair(() => attached);

  it("lets a host reach containers on other hosts through its VTEP address", () => {
    expect(ping(hosts[0] as UnderlayHost, attached[5]?.address ?? "?")).toBe(true);
  });

  it("carries a datagram of exactly the container MTU across hosts and refuses one byte more with DF locally", () => {
    const [from, to] = [attached[0], attached[4]];
    if (!from || !to) throw new Error("lab incomplete");
    expect(linkNamed(from.container, "eth0")?.mtu).toBe(1450);
    const pings = dfPings(from.container, to.address, 1450);
    expect(pings.fitting).toBe(0);
    expect(pings.oneMore.status).not.toBe(0);
    expect(pings.oneMore.output).toMatch(/message too long|mtu ?= ?1450/i);
  });

  it("CHECK passes on a healthy attachment, fails naming a missing entry, and the next ADD restores it", async () => {
    const entry = attached[2] as Attached;
    const check = () =>
      runOverlay({
        host: entry.host,
        command: "CHECK",
        config: { ...configFor(entry.hostIndex), prevResult: entry.result },
        container: entry.container,
        containerId: entry.containerId,
      });
    expect((await check()).status).toBe(0);
    expect(nsExec(entry.host, ["ip", "neigh", "del", "10.78.3.0", "dev", VTEP]).status).toBe(0);
    const broken = await check();
    expect(broken.json).toMatchObject({ code: 104 });
    expect(String(broken.json?.msg)).toContain("missing neighbour 10.78.3.0");
    await addContainer({
      host: entry.host,
      config: configFor(entry.hostIndex),
      container: fixture.containerNetns(),
      containerId: "l3-1-extra",
    });
    expect(l3Entries(entry.host, VTEP)).toEqual(expectedL3Entries(othersOf(entry.host), vtepMacOf));
    expect((await check()).status).toBe(0);
  });

  it("DEL keeps the VTEP and its entries; GC with no valid attachment removes VTEP, bridge and routes", async () => {
    const host = hosts[2] as UnderlayHost;
    for (const entry of attached.filter((candidate) => candidate.hostIndex === 2)) {
      const del = await runOverlay({
        host,
        command: "DEL",
        config: configFor(2),
        container: entry.container,
        containerId: entry.containerId,
      });
      expect(del.status, del.stdout).toBe(0);
    }
    expect(l3Entries(host, VTEP)).toEqual(expectedL3Entries(othersOf(host), vtepMacOf));
    const gc = await runOverlay({
      host,
      command: "GC",
      config: { ...configFor(2), cniVersion: "1.1.0", "cni.dev/valid-attachments": [] },
    });
    expect(gc.status, gc.stdout).toBe(0);
    expect(linkNamed(host, VTEP)).toBeUndefined();
    expect(linkNamed(host, BRIDGE)).toBeUndefined();
    expect(routes(host, 4).filter((route) => route.dst.startsWith("10.78."))).toEqual([]);
  });
});
