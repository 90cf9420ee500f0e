// The kernel state the path walker reads, per namespace. An interface so that the walk
// (path.ts) is plain logic: netlink-view.ts reads it through our rtnetlink codec, the unit
// tests hand in a made-up one.
import type { Addr } from "../../netlink/addrs";
import type { Link } from "../../netlink/link-decode";
import type { Neigh } from "../../netlink/neigh";
import type { RouteLookup, RouteQuery } from "../../netlink/route-get";

/** A failed lookup, as the kernel said it: `ENETUNREACH` "Network is unreachable". */
export interface RouteFailure {
  code: string;
  message: string;
}

export interface NetnsState {
  links: Link[];
  /** ARP/NDP entries. */
  neighbours: Neigh[];
  /** Bridge and VXLAN forwarding entries (AF_BRIDGE). */
  fdb: Neigh[];
  addresses: Addr[];
  /** net.ipv4.ip_forward / net.ipv6.conf.all.forwarding. */
  forwarding(family: 4 | 6): boolean;
  routeGet(query: RouteQuery): RouteLookup | RouteFailure;
}

export interface LinkAt {
  netns: string;
  link: Link;
}

export interface KernelView {
  state(netns: string): NetnsState;
  /** How a namespace is named in the output (`h1/c1` in a lab). */
  labelOf(netns: string): string;
  /** The namespace and link at the other end of a veth. */
  vethPeer(netns: string, link: Link): LinkAt | undefined;
  /** Where an address is configured (to guess past a missing neighbour entry), looked for beyond `via` first. */
  ownerOfAddress(address: string, via?: LinkAt): LinkAt | undefined;
  /** The underlay address of the VTEP (vni, port) behind which `mac` lives (to guess past a missing FDB entry). */
  vtepServing(vni: number, port: number, mac: string, exceptNetns: string): string | undefined;
}

export function isRouteFailure(value: RouteLookup | RouteFailure): value is RouteFailure {
  return "code" in value && "message" in value && !("dst" in value);
}
