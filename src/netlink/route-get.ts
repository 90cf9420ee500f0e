// The kernel's own route lookup for one destination (RTM_GETROUTE with RTA_DST, what
// `ip route get DST [from SRC] [iif IF] [oif IF]` sends): the route a packet would take
// right now, cached path MTU included, rather than the table entries `listRoutes` dumps.
import { AttrReader, AttrWriter } from "./codec/attrs";
import { AF_INET, Rta, Rtm } from "./codec/constants";
import { parseIp } from "./codec/ip-bytes";
import { RTMSG_LEN, encodeRt } from "./codec/structs";
import type { Handle } from "./handle";
import { type LinkRef, linkIndex } from "./links";
import { type Route, decodeRoute } from "./routes";

/** Asks for the table id in the answer; iproute2 sets it for IPv4 only. */
const RTM_F_LOOKUP_TABLE = 0x1000;
const RTA_CACHEINFO = 12;
/** struct rta_cacheinfo: clntref, lastuse, expires (jiffies), error, used, id, ts, tsage. */
const CACHEINFO_EXPIRES_OFFSET = 8;

export interface RouteQuery {
  dst: string;
  /** The packet's source address (`from`). */
  src?: string;
  /** The interface the packet arrives on (`iif`): a forwarding lookup instead of a local one. */
  iif?: LinkRef;
  /** Force the output interface (`oif`). */
  oif?: LinkRef;
}

export interface RouteLookup extends Route {
  /** The interface the lookup was made for (`iif`), as the kernel echoes it. */
  iif?: number;
  /** Seconds until a cached exception (a learned path MTU, a redirect) expires; absent when none. */
  expiresSeconds?: number;
}

/** The request payload, byte for byte what iproute2 sends (test/unit/netlink/route-get.test.ts). */
export function routeGetPayload(h: Handle | undefined, query: RouteQuery): Buffer {
  const dst = parseIp(query.dst);
  const header = encodeRt({
    family: dst.family,
    dstLen: dst.bytes.length * 8,
    srcLen: query.src === undefined ? 0 : dst.bytes.length * 8,
    flags: dst.family === AF_INET ? RTM_F_LOOKUP_TABLE : 0,
  });
  const attrs = new AttrWriter();
  attrs.bytes(Rta.DST, dst.bytes);
  if (query.src !== undefined) {
    const src = parseIp(query.src);
    if (src.family !== dst.family) throw new Error(`route get ${query.dst} from ${query.src}: mixed address families`);
    attrs.bytes(Rta.SRC, src.bytes);
  }
  const index = (ref: LinkRef): number => (typeof ref === "number" ? ref : h ? linkIndex(h, ref) : Number.NaN);
  if (query.iif !== undefined) attrs.u32(Rta.IIF, index(query.iif));
  if (query.oif !== undefined) attrs.u32(Rta.OIF, index(query.oif));
  return Buffer.concat([header, attrs.toBuffer()]);
}

export function decodeRouteLookup(payload: Buffer): RouteLookup {
  const lookup: RouteLookup = decodeRoute(payload);
  const attrs = new AttrReader(payload.subarray(RTMSG_LEN));
  const iif = attrs.u32(Rta.IIF);
  if (iif !== undefined) lookup.iif = iif;
  const cache = attrs.get(RTA_CACHEINFO);
  if (cache && cache.length >= CACHEINFO_EXPIRES_OFFSET + 4) {
    const expiresJiffies = cache.readInt32LE(CACHEINFO_EXPIRES_OFFSET);
    // The kernel reports it in clock ticks (USER_HZ, 100 on Linux), like `ip route get`.
    if (expiresJiffies > 0) lookup.expiresSeconds = Math.floor(expiresJiffies / 100);
  }
  return lookup;
}

function describeQuery(query: RouteQuery): string {
  const from = query.src === undefined ? "" : ` from ${query.src}`;
  const iif = query.iif === undefined ? "" : ` iif ${query.iif}`;
  const oif = query.oif === undefined ? "" : ` oif ${query.oif}`;
  return `route get ${query.dst}${from}${iif}${oif}`;
}

/**
 * The route the kernel picks for `query`, as `ip route get` shows it. Throws NetlinkError
 * when there is none (ENETUNREACH "Network is unreachable", EHOSTUNREACH, EINVAL for an
 * invalid source on a forwarding lookup...).
 */
export function getRoute(h: Handle, query: RouteQuery): RouteLookup {
  const replies = h.request({ type: Rtm.GETROUTE, payload: routeGetPayload(h, query), op: describeQuery(query) });
  const reply = replies.find((msg) => msg.type === Rtm.NEWROUTE);
  if (!reply) throw new Error(`${describeQuery(query)}: the kernel answered without a route`);
  return decodeRouteLookup(reply.payload);
}
