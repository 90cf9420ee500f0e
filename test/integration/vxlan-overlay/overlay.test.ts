// Three hosts on one underlay, two containers each, one l2 overlay: the VTEP and its
// flood list as `ip`/`bridge` report them, MTUs, traffic across hosts, CHECK, STATUS,
// DEL and GC, all through the compiled executable run inside each host namespace.
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, type UnderlayHost, fdb, ipJson, nsExec, ping } from "../../../netns-fixtures";
import {
  itCarriesTrafficBetweenEveryPair,
  dfPings,
  type Attached,
  addContainer,
  attachContainers,
  floodDsts,
  labConfig,
  linkNamed,
  runOverlay,
  tempDir,
} from "./harness";

const VNI = 4242;
const VTEP = `vx${VNI}`;
const BRIDGE = `vxbr${VNI}`;

describe("vxlan-overlay l2 across three hosts", () => {
  const fixture = new NetnsFixture();
  const temp = tempDir("vxlan");
  let hosts: UnderlayHost[] = [];
  let attached: Attached[] = [];
  let peers: string[] = [];

  const configFor = (hostIndex: number) =>
    labConfig({
      vni: VNI,
      hostIndex,
      dataDir: path.join(temp.dir, `host${hostIndex}`),
      peers,
      // Only host 0 gets a bridge address: it may reach containers, the others may not.
      hostAddress: { "198.18.0.1": "10.77.0.1/16" },
    });

  beforeAll(async () => {
    hosts = fixture.underlay({ hosts: 3 });
    peers = hosts.map((host) => host.address); // our own address among them: ignored
    attached = await attachContainers({ fixture, hosts, perHost: 2, idPrefix: "ctr", configFor });
  });

  afterAll(() => {
    try {
      fixture.cleanup();
    } finally {
      temp.remove();
    }
  });

  it("makes one VTEP per host with the VNI, port 4789, the host's address, learning, on the bridge", () => {
    for (const host of hosts) {
      const vtep = linkNamed(host, VTEP);
      expect(vtep?.linkinfo?.info_kind).toBe("vxlan");
      expect(vtep?.linkinfo?.info_data).toMatchObject({
        id: VNI,
        port: 4789,
        local: host.address,
        link: "ul0",
        learning: true,
      });
      expect(vtep?.master).toBe(BRIDGE);
      expect(vtep?.flags).toContain("UP");
    }
  });

  it("programs one flood entry per other host, none for itself", () => {
    for (const host of hosts) {
      const others = hosts
        .filter((other) => other !== host)
        .map((other) => other.address)
        .sort();
      expect(floodDsts(fdb(host, VTEP))).toEqual(others);
    }
  });

  it("gives the VTEP, the bridge and both veth ends the underlay MTU minus 50", () => {
    for (const entry of attached) {
      expect(linkNamed(entry.host, VTEP)?.mtu).toBe(1450);
      expect(linkNamed(entry.host, BRIDGE)?.mtu).toBe(1450);
      const hostEnd = (entry.result.interfaces as Array<{ name: string; sandbox?: string }>).find(
        (iface) => !iface.sandbox && iface.name !== BRIDGE,
      );
      expect(linkNamed(entry.host, hostEnd?.name ?? "?")?.mtu).toBe(1450);
      expect(linkNamed(entry.container, "eth0")?.mtu).toBe(1450);
    }
  });

  itCarriesTrafficBetweenEveryPair(() => attached);

  it("carries a datagram of exactly the container MTU across hosts and refuses a larger one with DF locally", () => {
    const [from, to] = [attached[0], attached[5]];
    if (!from || !to) throw new Error("lab incomplete");
    const pings = dfPings(from.container, to.address, 1450);
    expect(pings.fitting).toBe(0);
    expect(pings.oneMore.status).not.toBe(0);
    expect(pings.oneMore.output).toMatch(/message too long|mtu ?= ?1450/i);
  });

  it("puts hostAddress on host 0's bridge only, so host 0 reaches containers on other hosts", () => {
    const bridgeAddresses = (host: UnderlayHost) =>
      ipJson<Array<{ addr_info: Array<{ local: string }> }>>(host, ["-4", "addr", "show", "dev", BRIDGE]).flatMap(
        (link) => link.addr_info.map((info) => info.local),
      );
    expect(bridgeAddresses(hosts[0] as UnderlayHost)).toEqual(["10.77.0.1"]);
    expect(bridgeAddresses(hosts[1] as UnderlayHost)).toEqual([]);
    expect(ping(hosts[0] as UnderlayHost, attached[4]?.address ?? "?")).toBe(true);
  });

  it("CHECK passes on a healthy attachment and fails once a flood entry is gone", async () => {
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
    const missingPeer = hosts[2]?.address ?? "?";
    nsExec(entry.host, ["bridge", "fdb", "del", "00:00:00:00:00:00", "dev", VTEP, "dst", missingPeer]);
    const broken = await check();
    expect(broken.status).toBe(1);
    expect(broken.json).toMatchObject({ code: 104 });
    expect(String(broken.json?.msg)).toContain(missingPeer);
    // The next ADD on that host puts it back.
    const extra = await addContainer({
      host: entry.host,
      config: configFor(entry.hostIndex),
      container: fixture.containerNetns(),
      containerId: "ctr-1-extra",
    });
    expect(extra.address).toMatch(/^10\.77\.2\./);
    expect(floodDsts(fdb(entry.host, VTEP))).toContain(missingPeer);
    expect((await check()).status).toBe(0);
  });

  it("STATUS is ready with the underlay up and answers 50 when it is down or gone", async () => {
    const host = hosts[1] as UnderlayHost;
    const config = { ...configFor(1), cniVersion: "1.1.0" };
    const ready = await runOverlay({ host, command: "STATUS", config });
    expect(ready.status, ready.stdout).toBe(0);
    nsExec(host, ["ip", "link", "set", "ul0", "down"]);
    try {
      // Named explicitly, the underlay is found and reported down; derived, its route is gone with it.
      const down = await runOverlay({ host, command: "STATUS", config: { ...config, underlay: "ul0" } });
      expect(down.json).toMatchObject({ code: 50, msg: "underlay ul0 is down" });
      const unrouted = await runOverlay({ host, command: "STATUS", config });
      expect(unrouted.json).toMatchObject({ code: 50 });
      expect(String(unrouted.json?.msg)).toContain("no route to the first peer");
    } finally {
      nsExec(host, ["ip", "link", "set", "ul0", "up"]);
    }
    const missing = await runOverlay({ host, command: "STATUS", config: { ...config, underlay: "nosuch0" } });
    expect(missing.json).toMatchObject({ code: 50 });
  });

  it("DEL is idempotent, removes the attachment and its lease, and keeps the VTEP while others are attached", async () => {
    const entry = attached[0] as Attached;
    const hostEnd =
      (entry.result.interfaces as Array<{ name: string; sandbox?: string }>).find(
        (iface) => !iface.sandbox && iface.name !== BRIDGE,
      )?.name ?? "?";
    for (let round = 0; round < 2; round++) {
      const del = await runOverlay({
        host: entry.host,
        command: "DEL",
        config: configFor(0),
        container: entry.container,
        containerId: entry.containerId,
      });
      expect(del.status, del.stdout).toBe(0);
    }
    expect(linkNamed(entry.host, hostEnd)).toBeUndefined();
    expect(linkNamed(entry.container, "eth0")).toBeUndefined();
    expect(linkNamed(entry.host, VTEP)).toBeDefined();
    expect(floodDsts(fdb(entry.host, VTEP))).toHaveLength(2);
  });

  it("GC releases the overlay's host objects once no valid attachment is left", async () => {
    const host = hosts[2] as UnderlayHost;
    const survivor = attached.find((entry) => entry.hostIndex === 2) as Attached;
    const gc = (valid: Attached[]) =>
      runOverlay({
        host,
        command: "GC",
        config: {
          ...configFor(2),
          cniVersion: "1.1.0",
          "cni.dev/valid-attachments": valid.map((entry) => ({ containerID: entry.containerId, ifname: "eth0" })),
        },
      });
    expect((await gc([survivor])).status).toBe(0);
    expect(linkNamed(host, VTEP)).toBeDefined();
    expect((await gc([])).status).toBe(0);
    expect(linkNamed(host, VTEP)).toBeUndefined();
    expect(linkNamed(host, BRIDGE)).toBeUndefined();
  });
});
