// Routes (RTM_NEWROUTE/DELROUTE/GETROUTE), IPv4 and IPv6, with the defaults `ip route` uses.
import { AttrReader, AttrWriter, NLA_HDRLEN, align4 } from "./codec/attrs";
import {
  AF_INET,
  AF_INET6,
  NLA_TYPE_MASK,
  NlmF,
  RTM_F_CLONED,
  RTNH_F_ONLINK,
  Rta,
  Rtax,
  Rtm,
  RtProt,
  RtScope,
  RtTable,
  RtnType,
} from "./codec/constants";
import { formatIp, formatIpAt, parseCidr, parseIp } from "./codec/ip-bytes";
import { RTMSG_LEN, decodeRt, encodeRt } from "./codec/structs";
import { type IpFamily, afOf, familyOf } from "./addrs";
import type { Handle, RequestSpec } from "./handle";
import { type LinkRef, linkIndex } from "./links";

export interface Route {
  family: IpFamily;
  /** "10.0.0.0/24" or "default". */
  dst: string;
  gw?: string;
  oif?: number;
  /** RT_SCOPE_*. */
  scope: number;
  table: number;
  /** RTPROT_*: 2 kernel, 3 boot (ip route add), 4 static. */
  protocol: number;
  /** RTN_*: 1 unicast, 2 local... */
  type: number;
  priority?: number;
  prefsrc?: string;
  mtu?: number;
  advmss?: number;
  onlink: boolean;
}

export interface RouteConfig {
  /** Destination with prefix, or "default". */
  dst: string;
  /** Needed only for "default" without a gateway. */
  family?: IpFamily;
  gw?: string;
  oif?: LinkRef;
  /** RT_SCOPE_*; default: link for a route without gateway, else universe (as `ip route`). */
  scope?: number;
  /** Default main (254). */
  table?: number;
  /** RTPROT_*; default boot (3) when adding, any when deleting. */
  protocol?: number;
  /** Metric. */
  priority?: number;
  /** Preferred source address. */
  prefsrc?: string;
  mtu?: number;
  advmss?: number;
  /** Gateway is reachable on oif even if no route says so. */
  onlink?: boolean;
  /** RTN_*; default unicast. */
  type?: number;
}

type RouteVerb = "add" | "replace" | "delete";

function routeFamily(config: RouteConfig): number {
  if (config.dst !== "default") return parseCidr(config.dst).family;
  if (config.gw !== undefined) return parseIp(config.gw).family;
  if (config.family !== undefined) return afOf(config.family);
  throw new Error(`route "default" needs a gateway or a family`);
}

export function routePayload(h: Handle, config: RouteConfig, verb: RouteVerb): Buffer {
  const family = routeFamily(config);
  const dst = config.dst === "default" ? undefined : parseCidr(config.dst);
  const table = config.table ?? RtTable.MAIN;
  const deleting = verb === "delete";
  const defaultScope = deleting ? RtScope.NOWHERE : config.gw === undefined ? RtScope.LINK : RtScope.UNIVERSE;
  const header = encodeRt({
    family,
    dstLen: dst?.prefixLen ?? 0,
    // Tables above 255 only fit in RTA_TABLE.
    table: table < 256 ? table : RtTable.UNSPEC,
    protocol: config.protocol ?? (deleting ? RtProt.UNSPEC : RtProt.BOOT),
    scope: config.scope ?? defaultScope,
    type: config.type ?? (deleting ? RtnType.UNSPEC : RtnType.UNICAST),
    flags: config.onlink ? RTNH_F_ONLINK : 0,
  });
  const attrs = new AttrWriter();
  if (table >= 256) attrs.u32(Rta.TABLE, table);
  if (dst) attrs.bytes(Rta.DST, dst.bytes);
  if (config.prefsrc !== undefined) attrs.bytes(Rta.PREFSRC, sameFamily(config.prefsrc, family, config.dst));
  if (config.gw !== undefined) gatewayAttr(attrs, config.gw, family, config.dst);
  if (config.oif !== undefined) attrs.u32(Rta.OIF, linkIndex(h, config.oif));
  if (config.priority !== undefined) attrs.u32(Rta.PRIORITY, config.priority);
  if (config.mtu !== undefined || config.advmss !== undefined) {
    attrs.nest(
      Rta.METRICS,
      (metrics) => {
        if (config.mtu !== undefined) metrics.u32(Rtax.MTU, config.mtu);
        if (config.advmss !== undefined) metrics.u32(Rtax.ADVMSS, config.advmss);
      },
      false,
    );
  }
  return Buffer.concat([header, attrs.toBuffer()]);
}

/**
 * RTA_GATEWAY, or for an IPv4 route via an IPv6 gateway (RFC 5549: the next hop's MAC is
 * found by neighbour discovery, so IPv4 crosses an IPv6-only link) RTA_VIA with the
 * gateway's family, as `ip route add ... via inet6 ADDR` sends it.
 */
function gatewayAttr(attrs: AttrWriter, gw: string, family: number, dst: string): void {
  const ip = parseIp(gw);
  if (ip.family === AF_INET6 && family === AF_INET) {
    const via = Buffer.alloc(2 + ip.bytes.length);
    via.writeUInt16LE(AF_INET6, 0);
    ip.bytes.copy(via, 2);
    attrs.bytes(Rta.VIA, via);
    return;
  }
  attrs.bytes(Rta.GATEWAY, sameFamily(gw, family, dst));
}

function sameFamily(address: string, family: number, dst: string): Buffer {
  const ip = parseIp(address);
  if (ip.family !== family) throw new Error(`route ${dst}: ${address} is not of the destination's family`);
  return ip.bytes;
}

function describeRoute(config: RouteConfig): string {
  const via = config.gw !== undefined ? ` via ${config.gw}` : "";
  const dev = config.oif !== undefined ? ` dev ${config.oif}` : "";
  return `route ${config.dst}${via}${dev}${config.table !== undefined ? ` table ${config.table}` : ""}`;
}

/** The request `verb` sends, for Handle.requestMany; give `oif` as an index to spare a lookup per request. */
export function routeRequest(h: Handle, verb: RouteVerb, config: RouteConfig): RequestSpec {
  const flags = { add: NlmF.CREATE | NlmF.EXCL, replace: NlmF.CREATE | NlmF.REPLACE, delete: 0 }[verb];
  return {
    type: verb === "delete" ? Rtm.DELROUTE : Rtm.NEWROUTE,
    flags,
    payload: routePayload(h, config, verb),
    op: `${verb} ${describeRoute(config)}`,
    ...(verb === "delete" && { deleting: true }),
  };
}

/** Adds a route; EEXIST if the same route exists. */
export function addRoute(h: Handle, config: RouteConfig): void {
  h.request(routeRequest(h, "add", config));
}

/** Adds the route or replaces the one with the same destination, table and metric. */
export function replaceRoute(h: Handle, config: RouteConfig): void {
  h.request(routeRequest(h, "replace", config));
}

/** Deletes the first route matching the given fields; NotFoundError if none does. */
export function deleteRoute(h: Handle, config: RouteConfig): void {
  h.request(routeRequest(h, "delete", config));
}

export function decodeRoute(payload: Buffer): Route {
  const header = decodeRt(payload);
  const attrs = new AttrReader(payload.subarray(RTMSG_LEN));
  const dstBytes = attrs.get(Rta.DST);
  const route: Route = {
    family: familyOf(header.family),
    dst: dstBytes
      ? `${formatIp(dstBytes)}/${header.dstLen}`
      : header.dstLen === 0
        ? "default"
        : `${header.family === AF_INET ? "0.0.0.0" : "::"}/${header.dstLen}`,
    scope: header.scope,
    table: attrs.u32(Rta.TABLE) ?? header.table,
    protocol: header.protocol,
    type: header.type,
    onlink: (header.flags & RTNH_F_ONLINK) !== 0,
  };
  const gw = attrs.get(Rta.GATEWAY);
  if (gw) route.gw = formatIp(gw);
  const oif = attrs.u32(Rta.OIF);
  if (oif !== undefined) route.oif = oif;
  const priority = attrs.u32(Rta.PRIORITY);
  if (priority !== undefined) route.priority = priority;
  const prefsrc = attrs.get(Rta.PREFSRC);
  if (prefsrc) route.prefsrc = formatIp(prefsrc);
  const metrics = attrs.nested(Rta.METRICS);
  const mtu = metrics?.u32(Rtax.MTU);
  if (mtu !== undefined) route.mtu = mtu;
  const advmss = metrics?.u32(Rtax.ADVMSS);
  if (advmss !== undefined) route.advmss = advmss;
  return route;
}

export interface RouteFilter {
  family?: IpFamily;
  /** A table number, or "all"; default main. */
  table?: number | "all";
  oif?: LinkRef;
}

/** Routes of the handle's namespace (cached clones left out), like `ip route show`. */
export function listRoutes(h: Handle, filter: RouteFilter = {}): Route[] {
  const table = filter.table ?? RtTable.MAIN;
  const oif = filter.oif === undefined ? undefined : linkIndex(h, filter.oif);
  const replies = h.dump({ type: Rtm.GETROUTE, payload: encodeRt({ family: afOf(filter.family) }), op: "list routes" });
  return replies
    .filter((msg) => (decodeRt(msg.payload).flags & RTM_F_CLONED) === 0)
    .map((msg) => decodeRoute(msg.payload))
    .filter((route) => (table === "all" || route.table === table) && (oif === undefined || route.oif === oif));
}

/** What a diff of thousands of routes needs of one (scanRoutes); "default" has no RTA_DST. */
export interface RouteSummary {
  dst: string;
  gw: string | undefined;
  protocol: number;
  type: number;
  onlink: boolean;
}

/**
 * The main-table routes out of `oif` (cached clones left out), for reconciling thousands
 * of them: one pass over each route's attributes, and dst and gateway formatted only for
 * the routes kept. A dump is not filtered by the kernel without strict checking, so every
 * route is read; at 10,000, listRoutes' AttrReader and formatting took about 110 ms of a cold ADD.
 */
export function scanRoutes(h: Handle, oif: number, family?: IpFamily): RouteSummary[] {
  const summaries: RouteSummary[] = [];
  const replies = h.dump({
    type: Rtm.GETROUTE,
    payload: encodeRt({ family: afOf(family) }),
    op: `list routes of ${oif}`,
  });
  for (const msg of replies) {
    const summary = summarizeRoute(msg.payload, oif);
    if (summary) summaries.push(summary);
  }
  return summaries;
}

/** A main-table, non-cloned route of `oif`, else undefined. */
export function summarizeRoute(payload: Buffer, oif: number): RouteSummary | undefined {
  if (payload.length < RTMSG_LEN) return undefined;
  const flags = payload.readUInt32LE(8);
  if ((flags & RTM_F_CLONED) !== 0) return undefined;
  let table = payload[4] ?? 0;
  let routeOif: number | undefined;
  let dst: [number, number] | undefined;
  let gw: [number, number] | undefined;
  for (let offset = RTMSG_LEN; offset + NLA_HDRLEN <= payload.length; ) {
    const length = payload.readUInt16LE(offset);
    if (length < NLA_HDRLEN || offset + length > payload.length)
      throw new Error(`malformed route attribute at offset ${offset}: length ${length}`);
    const type = payload.readUInt16LE(offset + 2) & NLA_TYPE_MASK;
    const at = offset + NLA_HDRLEN;
    const size = length - NLA_HDRLEN;
    if (type === Rta.OIF && size >= 4) routeOif = payload.readUInt32LE(at);
    else if (type === Rta.TABLE && size >= 4) table = payload.readUInt32LE(at);
    else if (type === Rta.DST) dst = [at, size];
    else if (type === Rta.GATEWAY) gw = [at, size];
    offset += align4(length);
  }
  if (routeOif !== oif || table !== RtTable.MAIN) return undefined;
  const dstLen = payload[1] ?? 0;
  return {
    dst: dst
      ? `${formatIpAt(payload, dst[0], dst[1])}/${dstLen}`
      : dstLen === 0
        ? "default"
        : `${payload[0] === AF_INET ? "0.0.0.0" : "::"}/${dstLen}`,
    gw: gw ? formatIpAt(payload, gw[0], gw[1]) : undefined,
    protocol: payload[5] ?? 0,
    type: payload[7] ?? 0,
    onlink: (flags & RTNH_F_ONLINK) !== 0,
  };
}
