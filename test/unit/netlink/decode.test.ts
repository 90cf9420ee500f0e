// Decoding dumps the kernel sent (captured by capture.ts) and comparing each object
// with iproute2's JSON view of the same namespace at the same moment.
import { describe, expect, it } from "vitest";
import { decodeAddr } from "../../../src/netlink/addrs";
import { Ntf, Nud, RtProt, RtScope } from "../../../src/netlink/codec/constants";
import { decodeLink } from "../../../src/netlink/link-decode";
import { decodeNeigh } from "../../../src/netlink/neigh";
import { decodeRoute } from "../../../src/netlink/routes";
import { dumpMessages, ipJson } from "./fixtures";

type Json = Record<string, unknown>;
interface IpLink extends Json {
  ifindex: number;
  ifname: string;
  mtu: number;
  address: string;
  operstate: string;
  flags: string[];
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: Json; info_slave_kind?: string; info_slave_data?: Json };
}

const ipLinks = ipJson<IpLink[]>("links");
const indexOf = (name: string | undefined): number | undefined => ipLinks.find((l) => l.ifname === name)?.ifindex;
const scopes: Record<string, number> = { global: RtScope.UNIVERSE, link: RtScope.LINK, host: RtScope.HOST };

describe("links dump", () => {
  const links = dumpMessages("links").map((msg) => decodeLink(msg.payload));

  it("has every link ip shows, with the same basic fields", () => {
    expect(links.map((l) => l.index).sort()).toEqual(ipLinks.map((l) => l.ifindex).sort());
    for (const ip of ipLinks) {
      const ours = links.find((l) => l.index === ip.ifindex);
      expect(ours, ip.ifname).toBeDefined();
      expect({
        name: ours?.name,
        mtu: ours?.mtu,
        mac: ours?.mac,
        operstate: ours?.operstate,
        up: ours?.up,
        master: ours?.masterIndex,
        kind: ours?.kind,
        slaveKind: ours?.slaveKind,
      }).toEqual({
        name: ip.ifname,
        mtu: ip.mtu,
        mac: ip.address,
        operstate: ip.operstate,
        up: ip.flags.includes("UP"),
        master: indexOf(ip.master),
        kind: ip.linkinfo?.info_kind,
        slaveKind: ip.linkinfo?.info_slave_kind,
      });
    }
  });

  it("vxlan settings (v4 and v6 underlay)", () => {
    for (const ip of ipLinks.filter((l) => l.linkinfo?.info_kind === "vxlan")) {
      const data = ip.linkinfo?.info_data ?? {};
      const ours = links.find((l) => l.index === ip.ifindex)?.vxlan;
      expect(ours).toMatchObject({
        vni: data.id,
        local: data.local ?? data.local6,
        port: data.port,
        learning: data.learning,
        ttl: data.ttl,
        udpCsum: data.udp_csum,
        udp6ZeroCsumTx: data.udp_zero_csum6_tx,
        udp6ZeroCsumRx: data.udp_zero_csum6_rx,
      });
    }
    expect(links.find((l) => l.name === "vx6")?.vxlan).toMatchObject({
      vni: 43,
      local: "fd00:198::1",
      ttl: 9,
      udp6ZeroCsumTx: true,
    });
  });

  it("bridge port flags and the veth peer", () => {
    const ip = ipLinks.find((l) => l.ifname === "vt0");
    const ours = links.find((l) => l.name === "vt0");
    const slave = ip?.linkinfo?.info_slave_data ?? {};
    expect(ours?.bridgePort).toEqual({ hairpin: slave.hairpin, learning: slave.learning, isolated: slave.isolated });
    expect(ours?.bridgePort).toEqual({ hairpin: true, learning: false, isolated: true });
    expect(ours?.parentIndex).toBe(indexOf("vt1"));
    expect(links.find((l) => l.name === "br0")?.bridge).toEqual({ vlanFiltering: false });
  });
});

describe("addresses dump", () => {
  interface IpAddrLink extends Json {
    ifindex: number;
    addr_info: { family: string; local: string; prefixlen: number; scope: string; nodad?: boolean }[];
  }
  const ipAddrs = ipJson<IpAddrLink[]>("addrs").flatMap((link) =>
    link.addr_info.map((a) => ({ ...a, index: link.ifindex })),
  );
  const ours = dumpMessages("addrs").map((msg) => decodeAddr(msg.payload));

  it("the same addresses, prefixes, families and scopes", () => {
    const view = (list: { index: number; cidr: string; family: number; scope: number }[]) =>
      list.map((a) => `${a.index} ${a.cidr} ${a.family} ${a.scope}`).sort();
    expect(view(ours)).toEqual(
      view(
        ipAddrs.map((a) => ({
          index: a.index,
          cidr: `${a.local}/${a.prefixlen}`,
          family: a.family === "inet6" ? 6 : 4,
          scope: scopes[a.scope] ?? -1,
        })),
      ),
    );
  });

  it("flags: fd00::1 was added with nodad", () => {
    expect(ipAddrs.find((a) => a.local === "fd00::1")?.nodad).toBe(true);
    expect((ours.find((a) => a.address === "fd00::1")?.flags ?? 0) & 0x02).toBe(0x02);
  });
});

describe("routes dump", () => {
  interface IpRoute extends Json {
    dst: string;
    type?: string;
    gateway?: string;
    dev?: string;
    table?: string;
    protocol?: string;
    scope?: string;
    metric?: number;
    metrics?: { mtu?: number; advmss?: number }[];
  }
  const ipRoutes = ipJson<{ v4: IpRoute[]; v6: IpRoute[] }>("routes");
  const ours = dumpMessages("routes").map((msg) => decodeRoute(msg.payload));
  const tables: Record<string, number> = { local: 255, main: 254 };
  const protocols: Record<string, number> = { kernel: RtProt.KERNEL, boot: RtProt.BOOT, static: RtProt.STATIC };

  it("every route ip shows, field by field", () => {
    const expected = [
      ...ipRoutes.v4.map((r) => ({ ...r, family: 4 })),
      ...ipRoutes.v6.map((r) => ({ ...r, family: 6 })),
    ];
    expect(ours).toHaveLength(expected.length);
    for (const ip of expected) {
      // ip prints host routes without their /32 or /128.
      const match = ours.find(
        (r) =>
          r.family === ip.family &&
          r.table === tables[ip.table ?? "main"] &&
          r.dst.replace(/\/(32|128)$/, "") === ip.dst &&
          r.oif === indexOf(ip.dev) &&
          r.type === (ip.type === "local" ? 2 : ip.type === "broadcast" ? 3 : ip.type === "multicast" ? 5 : 1),
      );
      expect(match, JSON.stringify(ip)).toBeDefined();
      expect(match?.gw).toBe(ip.gateway);
      expect(match?.protocol).toBe(protocols[ip.protocol ?? "boot"]);
      expect(match?.scope).toBe(scopes[ip.scope ?? "global"]);
      if (ip.metric !== undefined) expect(match?.priority).toBe(ip.metric);
      expect({ mtu: match?.mtu, advmss: match?.advmss }).toEqual({
        mtu: ip.metrics?.[0]?.mtu,
        advmss: ip.metrics?.[0]?.advmss,
      });
    }
  });
});

describe("neighbour and fdb dumps", () => {
  it("ARP entry (the kernel's NOARP multicast entries, which ip hides, left out)", () => {
    const ip = ipJson<{ dst: string; dev: string; lladdr: string; state: string[] }[]>("neighs");
    const ours = dumpMessages("neighs")
      .map((msg) => decodeNeigh(msg.payload))
      .filter((n) => n.state !== Nud.NOARP);
    expect(
      ours.map((n) => ({ dst: n.dst, index: n.index, lladdr: n.lladdr, permanent: n.state === Nud.PERMANENT })),
    ).toEqual(
      ip.map((n) => ({
        dst: n.dst,
        index: indexOf(n.dev),
        lladdr: n.lladdr,
        permanent: n.state.includes("PERMANENT"),
      })),
    );
  });

  it("FDB entries: MAC, device, remote, bridge, self flag, vni and port", () => {
    const ip =
      ipJson<
        { mac: string; ifname: string; dst?: string; master?: string; flags: string[]; vni?: number; port?: number }[]
      >("fdb");
    const ours = dumpMessages("fdb").map((msg) => decodeNeigh(msg.payload));
    expect(
      ours.map((n) => ({
        mac: n.lladdr,
        index: n.index,
        dst: n.dst,
        master: n.master,
        self: (n.flags & Ntf.SELF) !== 0,
        vni: n.vni,
        port: n.port,
      })),
    ).toEqual(
      ip.map((n) => ({
        mac: n.mac,
        index: indexOf(n.ifname),
        dst: n.dst,
        master: indexOf(n.master),
        self: n.flags.includes("self"),
        vni: n.vni,
        port: n.port,
      })),
    );
    // The kernel sends NDA_VNI/NDA_PORT only where they differ from the device's own.
    const remote = ours.find((n) => n.lladdr === "02:00:00:00:00:0a");
    expect({ family: remote?.family, dst: remote?.dst, vni: remote?.vni, port: remote?.port }).toEqual({
      family: "bridge",
      dst: "198.18.0.3",
      vni: 77,
      port: 4790,
    });
  });
});
