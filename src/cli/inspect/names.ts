// Kernel numbers as the words iproute2 prints, so our view reads like `ip` and can be
// compared with `ip -j` field by field.
import { Nud, RtScope } from "../../netlink/codec/constants";

const SCOPES: Record<number, string> = {
  [RtScope.UNIVERSE]: "global",
  [RtScope.SITE]: "site",
  [RtScope.LINK]: "link",
  [RtScope.HOST]: "host",
  [RtScope.NOWHERE]: "nowhere",
};

/** iproute2's /usr/share/iproute2/rt_protos names. */
const PROTOCOLS: Record<number, string> = {
  0: "unspec",
  1: "redirect",
  2: "kernel",
  3: "boot",
  4: "static",
  8: "gated",
  9: "ra",
  10: "mrt",
  11: "zebra",
  12: "bird",
  13: "dnrouted",
  14: "xorp",
  15: "ntk",
  16: "dhcp",
  42: "babel",
  186: "bgp",
  187: "isis",
  188: "ospf",
  189: "rip",
  192: "eigrp",
};

const ROUTE_TYPES: Record<number, string> = {
  1: "unicast",
  2: "local",
  3: "broadcast",
  4: "anycast",
  5: "multicast",
  6: "blackhole",
  7: "unreachable",
  8: "prohibit",
  9: "throw",
  10: "nat",
};

const NUD_NAMES: [number, string][] = [
  [Nud.INCOMPLETE, "INCOMPLETE"],
  [Nud.REACHABLE, "REACHABLE"],
  [Nud.STALE, "STALE"],
  [Nud.DELAY, "DELAY"],
  [Nud.PROBE, "PROBE"],
  [Nud.FAILED, "FAILED"],
  [Nud.NOARP, "NOARP"],
  [Nud.PERMANENT, "PERMANENT"],
];

export function scopeName(scope: number): string {
  return SCOPES[scope] ?? String(scope);
}

export function protocolName(protocol: number): string {
  return PROTOCOLS[protocol] ?? String(protocol);
}

export function routeTypeName(type: number): string {
  return ROUTE_TYPES[type] ?? String(type);
}

/** NUD_* bits as names (empty for NUD_NONE). */
export function nudStateNames(state: number): string[] {
  return NUD_NAMES.filter(([bit]) => (state & bit) !== 0).map(([, name]) => name);
}
