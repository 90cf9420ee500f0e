// The kernel view of path.ts read through our rtnetlink codec: one socket per namespace,
// opened when first needed and kept for the trace; links, neighbours, FDB and addresses
// dumped once per namespace; route lookups asked each time (RTM_GETROUTE, as `ip route get`).
import type { Addr } from "../../netlink/addrs";
import { listAddrs } from "../../netlink/addrs";
import type { NetlinkError } from "../../netlink/codec/errors";
import { Handle } from "../../netlink/handle";
import type { Link } from "../../netlink/link-decode";
import { listLinks } from "../../netlink/links";
import { netnsIdOf } from "../../netlink/nsid";
import { type Neigh, listNeighs } from "../../netlink/neigh";
import { type RouteQuery, getRoute } from "../../netlink/route-get";
import { readSysctl } from "../../netlink/sysctl";
import type { KernelView, LinkAt, NetnsState } from "./kernel-view";

export interface ViewNamespace {
  /** The key used everywhere in the trace: the name under /run/netns, or a path. */
  netns: string;
  netnsPath: string;
  label: string;
}

interface Loaded {
  handle: Handle;
  links: Link[];
  neighbours: Neigh[];
  fdb: Neigh[];
  addresses: Addr[];
}

/**
 * The index of a veth's other end. link-decode.ts leaves IFLA_LINK out when it equals the
 * link's own index, which for a veth whose other end is in another namespace (link-netnsid
 * set) means that end has the same index (both `eth0@if2`, index 2).
 */
function peerIndexOf(link: Link): number | undefined {
  return link.parentIndex ?? (link.linkNetnsId !== undefined ? link.index : undefined);
}

export class NetlinkKernelView implements KernelView {
  private readonly loaded = new Map<string, Loaded>();
  /** "A B" -> the id namespace A gives B. */
  private readonly nsids = new Map<string, number | undefined>();
  private readonly byNetns: Map<string, ViewNamespace>;

  /** `namespaces`: every namespace the path may cross (a lab's), searched for veth peers and owners. */
  constructor(private readonly namespaces: ViewNamespace[]) {
    this.byNetns = new Map(namespaces.map((each) => [each.netns, each]));
  }

  close(): void {
    for (const entry of this.loaded.values()) entry.handle.close();
    this.loaded.clear();
  }

  /** Drops what was read, so the next look sees the kernel as it is now (after the live packet). */
  refresh(): void {
    this.close();
  }

  labelOf(netns: string): string {
    return this.byNetns.get(netns)?.label ?? netns;
  }

  private load(netns: string): Loaded {
    const known = this.loaded.get(netns);
    if (known) return known;
    const namespace = this.byNetns.get(netns);
    const handle = Handle.at(namespace?.netnsPath ?? netns);
    try {
      const entry: Loaded = {
        handle,
        links: listLinks(handle),
        neighbours: listNeighs(handle),
        fdb: listNeighs(handle, { family: "bridge" }),
        addresses: listAddrs(handle),
      };
      this.loaded.set(netns, entry);
      return entry;
    } catch (err) {
      handle.close();
      throw err;
    }
  }

  state(netns: string): NetnsState {
    const entry = this.load(netns);
    const netnsPath = this.byNetns.get(netns)?.netnsPath ?? netns;
    return {
      links: entry.links,
      neighbours: entry.neighbours,
      fdb: entry.fdb,
      addresses: entry.addresses,
      forwarding: (family) =>
        readSysctl(netnsPath, family === 6 ? "net/ipv6/conf/all/forwarding" : "net/ipv4/ip_forward") === "1",
      routeGet: (query: RouteQuery) => {
        try {
          return getRoute(entry.handle, query);
        } catch (err) {
          const failure = err as NetlinkError;
          // The message without the request: "network is unreachable", the kernel's text if it gave one.
          const text = failure.message.replace(`${failure.op}: `, "").replace(/ \([A-Z0-9]+\)$/, "");
          return { code: failure.code ?? "EFAILED", message: text };
        }
      },
    };
  }

  /** Namespaces that can be read, the one asked about first. */
  private readable(): string[] {
    return this.namespaces
      .map((each) => each.netns)
      .filter((netns) => {
        try {
          this.load(netns);
          return true;
        } catch {
          return false;
        }
      });
  }

  private nsid(from: string, to: string): number | undefined {
    const key = `${from} ${to}`;
    if (!this.nsids.has(key)) {
      let id: number | undefined;
      try {
        id = netnsIdOf(this.load(from).handle, this.byNetns.get(to)?.netnsPath ?? to);
      } catch {
        id = undefined;
      }
      this.nsids.set(key, id);
    }
    return this.nsids.get(key);
  }

  vethPeer(netns: string, link: Link): LinkAt | undefined {
    const peerIndex = peerIndexOf(link);
    if (link.kind !== "veth" || peerIndex === undefined) return undefined;
    // No link-netnsid: both ends live in this namespace. Otherwise the id says which one
    // (labs are built alike, so the same index pair shows up in several namespaces).
    const candidates =
      link.linkNetnsId === undefined
        ? [netns]
        : this.readable().filter((other) => other !== netns && this.nsid(netns, other) === link.linkNetnsId);
    for (const other of candidates) {
      const peer = this.load(other).links.find(
        (each) => each.index === peerIndex && each.kind === "veth" && peerIndexOf(each) === link.index,
      );
      if (peer) return { netns: other, link: peer };
    }
    return undefined;
  }

  /** The namespaces that have a link of this name (a tracepoint names devices, not namespaces). */
  namespacesWithLink(name: string): string[] {
    return this.readable().filter((netns) => this.load(netns).links.some((link) => link.name === name));
  }

  /**
   * The namespaces on the same layer-2 segment as `via`: the veth's far end and, when that
   * is a bridge port, the far ends of the bridge's other veth ports.
   */
  private segment(via: LinkAt): string[] {
    const peer = this.vethPeer(via.netns, via.link);
    if (!peer) return [];
    const master = peer.link.masterIndex;
    const ports =
      master === undefined
        ? []
        : this.load(peer.netns).links.filter(
            (link) => link.masterIndex === master && link.kind === "veth" && link !== peer.link,
          );
    return [peer.netns, ...ports.flatMap((port) => this.vethPeer(peer.netns, port)?.netns ?? [])];
  }

  ownerOfAddress(address: string, via?: LinkAt): LinkAt | undefined {
    // Where the address can be reached from `via` first: another topology may use it too.
    const near = via ? this.segment(via) : [];
    for (const netns of [...near, ...this.readable()]) {
      const { addresses, links } = this.load(netns);
      const held = addresses.find((each) => each.address === address);
      const link = held && links.find((each) => each.index === held.index);
      if (link && link.name !== "lo") return { netns, link };
    }
    return undefined;
  }

  vtepServing(vni: number, port: number, mac: string, exceptNetns: string): string | undefined {
    for (const netns of this.readable()) {
      if (netns === exceptNetns) continue;
      const { links } = this.load(netns);
      const vtep = links.find(
        (each) => each.vxlan?.vni === vni && (each.vxlan.port ?? 8472) === port && each.vxlan.local !== undefined,
      );
      if (!vtep) continue;
      // The MAC is this host's own (l3: the VTEP, a bridge) or that of a container attached here.
      const here = links.some(
        (each) => each.mac === mac || (each.kind === "veth" && this.vethPeer(netns, each)?.link.mac === mac),
      );
      if (here) return vtep.vxlan?.local;
    }
    return undefined;
  }
}
