// Neighbours (ARP/NDP entries) and bridge/VXLAN forwarding entries (FDB: family AF_BRIDGE).
import { AttrReader, AttrWriter, NLA_HDRLEN, align4 } from "./codec/attrs";
import { AF_BRIDGE, AF_INET, AF_INET6, AF_UNSPEC, NLA_TYPE_MASK, Nda, NlmF, Ntf, Nud, Rtm } from "./codec/constants";
import { formatIp, formatIpAt, formatMac, formatMacAt, parseIp, parseMac } from "./codec/ip-bytes";
import { NDMSG_LEN, decodeNd, encodeIfInfo, encodeNd } from "./codec/structs";
import type { Handle, RequestSpec } from "./handle";
import { type LinkRef, describeLink, linkIndex } from "./links";

/** 4 and 6: ARP/NDP neighbours; "bridge": forwarding database entries. */
export type NeighFamily = 4 | 6 | "bridge";

export interface Neigh {
  index: number;
  family: NeighFamily;
  dst?: string;
  lladdr?: string;
  /** NUD_* state (Nud.PERMANENT = 0x80, Nud.NOARP = 0x40, ...). */
  state: number;
  /** NTF_* flags (Ntf.SELF, Ntf.MASTER, ...). */
  flags: number;
  vni?: number;
  port?: number;
  vlan?: number;
  /** Index of the bridge an FDB entry belongs to. */
  master?: number;
}

export interface NeighConfig {
  /** The device: the vxlan for a VTEP FDB entry, the port for a bridge FDB entry. */
  link: LinkRef;
  /** Default: 4/6 from dst. FDB entries need "bridge". */
  family?: NeighFamily;
  /** IP address: the neighbour's for ARP/NDP, the remote VTEP for a vxlan FDB entry. */
  dst?: string;
  lladdr?: string;
  /** NUD_* state; default Nud.PERMANENT (FDB: PERMANENT|NOARP, as `bridge fdb add`). */
  state?: number;
  /** Entry of the device itself (NTF_SELF); for "bridge" the default when master is not set. */
  self?: boolean;
  /** Entry of the bridge the device is a port of (NTF_MASTER). */
  master?: boolean;
  vni?: number;
  port?: number;
  vlan?: number;
}

const afByFamily = { 4: AF_INET, 6: AF_INET6, bridge: AF_BRIDGE } as const;

function neighFamily(af: number): NeighFamily {
  return af === AF_BRIDGE ? "bridge" : af === AF_INET6 ? 6 : 4;
}

function neighPayload(h: Handle, config: NeighConfig): Buffer {
  const dst = config.dst === undefined ? undefined : parseIp(config.dst);
  const family = config.family ?? (dst?.family === AF_INET6 ? 6 : dst ? 4 : undefined);
  if (family === undefined) throw new Error(`neighbour on ${describeLink(config.link)}: give a dst or a family`);
  let flags = (config.self ? Ntf.SELF : 0) | (config.master ? Ntf.MASTER : 0);
  if (family === "bridge" && flags === 0) flags = Ntf.SELF;
  const attrs = new AttrWriter();
  const lladdr = config.lladdr === undefined ? undefined : parseMac(config.lladdr);
  // The entry's key first: the MAC for FDB entries, the IP for neighbours (iproute2's order).
  if (lladdr && family === "bridge") attrs.bytes(Nda.LLADDR, lladdr);
  if (dst) attrs.bytes(Nda.DST, dst.bytes);
  if (lladdr && family !== "bridge") attrs.bytes(Nda.LLADDR, lladdr);
  if (config.vlan !== undefined) attrs.u16(Nda.VLAN, config.vlan);
  if (config.port !== undefined) attrs.be16(Nda.PORT, config.port);
  if (config.vni !== undefined) attrs.u32(Nda.VNI, config.vni);
  // FDB default is `bridge fdb add`'s: permanent, no ARP.
  const defaultState = family === "bridge" ? Nud.PERMANENT | Nud.NOARP : Nud.PERMANENT;
  const header = encodeNd({
    family: afByFamily[family],
    index: linkIndex(h, config.link),
    state: config.state ?? defaultState,
    flags,
  });
  return Buffer.concat([header, attrs.toBuffer()]);
}

function describeNeigh(config: NeighConfig): string {
  const family = config.family === "bridge" ? "fdb entry" : "neighbour";
  return `${family} ${config.lladdr ?? ""}${config.dst !== undefined ? ` dst ${config.dst}` : ""} on ${describeLink(config.link)}`;
}

export type NeighVerb = "add" | "append" | "replace" | "delete";

const NEIGH_FLAGS: Record<NeighVerb, number> = {
  add: NlmF.CREATE | NlmF.EXCL,
  append: NlmF.CREATE | NlmF.APPEND,
  replace: NlmF.CREATE | NlmF.REPLACE,
  delete: 0,
};

/** The request `verb` sends, for Handle.requestMany; give `link` as an index to spare a lookup per request. */
export function neighRequest(h: Handle, verb: NeighVerb, config: NeighConfig): RequestSpec {
  return {
    type: verb === "delete" ? Rtm.DELNEIGH : Rtm.NEWNEIGH,
    flags: NEIGH_FLAGS[verb],
    payload: neighPayload(h, config),
    op: `${verb} ${describeNeigh(config)}`,
    ...(verb === "delete" && { deleting: true }),
  };
}

/** Adds an entry; EEXIST if one with the same key exists. */
export function addNeigh(h: Handle, config: NeighConfig): void {
  h.request(neighRequest(h, "add", config));
}

/** Adds an entry next to existing ones with the same MAC (vxlan: one more remote for the all-zeros MAC). */
export function appendNeigh(h: Handle, config: NeighConfig): void {
  h.request(neighRequest(h, "append", config));
}

/** Creates the entry or replaces the one with the same key. */
export function replaceNeigh(h: Handle, config: NeighConfig): void {
  h.request(neighRequest(h, "replace", config));
}

/** Deletes an entry; NotFoundError when it does not exist. */
export function deleteNeigh(h: Handle, config: NeighConfig): void {
  h.request(neighRequest(h, "delete", config));
}

export function decodeNeigh(payload: Buffer): Neigh {
  const header = decodeNd(payload);
  const attrs = new AttrReader(payload.subarray(NDMSG_LEN));
  const neigh: Neigh = {
    index: header.index,
    family: neighFamily(header.family),
    state: header.state,
    flags: header.flags,
  };
  const dst = attrs.get(Nda.DST);
  if (dst && (dst.length === 4 || dst.length === 16)) neigh.dst = formatIp(dst);
  const lladdr = attrs.get(Nda.LLADDR);
  if (lladdr) neigh.lladdr = formatMac(lladdr);
  const vni = attrs.u32(Nda.VNI);
  if (vni !== undefined) neigh.vni = vni;
  const port = attrs.be16(Nda.PORT);
  if (port !== undefined) neigh.port = port;
  const vlan = attrs.u16(Nda.VLAN);
  if (vlan !== undefined) neigh.vlan = vlan;
  const master = attrs.u32(Nda.MASTER);
  if (master !== undefined) neigh.master = master;
  return neigh;
}

export interface NeighFilter {
  /** Default: every IP family (ARP and NDP). "bridge" lists the FDB. */
  family?: NeighFamily;
  link?: LinkRef;
  /** FDB: only entries of ports of this bridge. */
  master?: LinkRef;
}

export function listNeighs(h: Handle, filter: NeighFilter = {}): Neigh[] {
  const index = filter.link === undefined ? undefined : linkIndex(h, filter.link);
  const master = filter.master === undefined ? undefined : linkIndex(h, filter.master);
  const af = filter.family === undefined ? AF_UNSPEC : afByFamily[filter.family];
  const replies = h.dump({
    type: Rtm.GETNEIGH,
    payload: encodeNd({ family: af }),
    op: filter.family === "bridge" ? "list fdb" : "list neighbours",
  });
  return replies
    .map((msg) => decodeNeigh(msg.payload))
    .filter(
      (neigh) =>
        (filter.family !== undefined || neigh.family !== "bridge") &&
        (index === undefined || neigh.index === index) &&
        (master === undefined || neigh.master === master),
    );
}

/** What a diff of thousands of entries needs of one (scanNeighs): the rest of Neigh is not decoded. */
export interface NeighSummary {
  state: number;
  flags: number;
  dst: string | undefined;
  lladdr: string | undefined;
  master: number | undefined;
}

/**
 * The entries of one device, for reconciling thousands of them (a VTEP's FDB, neighbours):
 * the kernel filters by device (the FDB dump by the ifinfomsg index, the neighbour dump
 * by NDA_IFINDEX, as `bridge fdb show dev` and `ip neigh show dev` ask), and each entry
 * is decoded in one pass over its attributes, DST, LLADDR and MASTER only. At 10,000
 * entries listNeighs' AttrReader and formatting took about 120 ms of a cold ADD.
 */
export function scanNeighs(h: Handle, family: NeighFamily | undefined, link: number): NeighSummary[] {
  const request =
    family === "bridge"
      ? encodeIfInfo({ family: AF_BRIDGE, index: link })
      : Buffer.concat([encodeNd({ family: family === undefined ? AF_UNSPEC : afByFamily[family] }), ifindexAttr(link)]);
  const summaries: NeighSummary[] = [];
  for (const msg of h.dump({
    type: Rtm.GETNEIGH,
    payload: request,
    op: `list ${family === "bridge" ? "fdb" : "neighbours"} of ${link}`,
  })) {
    const summary = summarizeNeigh(msg.payload, family === "bridge", link);
    if (summary) summaries.push(summary);
  }
  return summaries;
}

function ifindexAttr(link: number): Buffer {
  return new AttrWriter().u32(Nda.IFINDEX, link).toBuffer();
}

/** One entry of `link` (and of the family asked for: an unfiltered kernel may send others), else undefined. */
export function summarizeNeigh(payload: Buffer, bridge: boolean, link: number): NeighSummary | undefined {
  if (payload.length < NDMSG_LEN || payload.readInt32LE(4) !== link) return undefined;
  if ((payload[0] === AF_BRIDGE) !== bridge) return undefined;
  const summary: NeighSummary = {
    state: payload.readUInt16LE(8),
    flags: payload[10] ?? 0,
    dst: undefined,
    lladdr: undefined,
    master: undefined,
  };
  for (let offset = NDMSG_LEN; offset + NLA_HDRLEN <= payload.length; ) {
    const length = payload.readUInt16LE(offset);
    if (length < NLA_HDRLEN || offset + length > payload.length)
      throw new Error(`malformed neighbour attribute at offset ${offset}: length ${length}`);
    const type = payload.readUInt16LE(offset + 2) & NLA_TYPE_MASK;
    const size = length - NLA_HDRLEN;
    const at = offset + NLA_HDRLEN;
    if (type === Nda.DST && (size === 4 || size === 16)) summary.dst = formatIpAt(payload, at, size);
    else if (type === Nda.LLADDR && size === 6) summary.lladdr = formatMacAt(payload, at);
    else if (type === Nda.LLADDR && size > 0) summary.lladdr = formatMac(payload.subarray(at, at + size));
    else if (type === Nda.MASTER && size >= 4) summary.master = payload.readUInt32LE(at);
    offset += align4(length);
  }
  return summary;
}
