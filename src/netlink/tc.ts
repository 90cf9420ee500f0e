// Traffic control: root qdiscs of a link (RTM_NEWQDISC / RTM_DELQDISC / RTM_GETQDISC),
// the requests `tc qdisc add|replace|del|show dev X root ...` send. Option payloads of
// each kind are built in tc-netem.ts and tc-tbf.ts.
import { AttrReader, AttrWriter } from "./codec/attrs";
import { AF_UNSPEC, NlmF } from "./codec/constants";
import { isNotFound } from "./codec/errors";
import type { Handle } from "./handle";
import { type LinkRef, describeLink, linkIndex } from "./links";

/** linux/rtnetlink.h */
export const RtmTc = { NEWQDISC: 36, DELQDISC: 37, GETQDISC: 38 } as const;
/** TCA_* attributes of a qdisc message. */
export const Tca = { KIND: 1, OPTIONS: 2, STATS: 3 } as const;
/** The parent that means "root of the device" (linux/pkt_sched.h TC_H_ROOT). */
export const TC_H_ROOT = 0xffffffff;

/** struct tcmsg (20 bytes). */
export interface TcMsg {
  family: number;
  index: number;
  handle: number;
  parent: number;
  info: number;
}
export const TCMSG_LEN = 20;

export function encodeTcMsg(msg: Partial<TcMsg>): Buffer {
  const b = Buffer.alloc(TCMSG_LEN);
  b.writeUInt8(msg.family ?? AF_UNSPEC, 0);
  b.writeInt32LE(msg.index ?? 0, 4);
  b.writeUInt32LE((msg.handle ?? 0) >>> 0, 8);
  b.writeUInt32LE((msg.parent ?? 0) >>> 0, 12);
  b.writeUInt32LE((msg.info ?? 0) >>> 0, 16);
  return b;
}

export function decodeTcMsg(b: Buffer): TcMsg {
  if (b.length < TCMSG_LEN) throw new Error(`tcmsg too short: ${b.length} bytes, want ${TCMSG_LEN}`);
  return {
    family: b.readUInt8(0),
    index: b.readInt32LE(4),
    handle: b.readUInt32LE(8),
    parent: b.readUInt32LE(12),
    info: b.readUInt32LE(16),
  };
}

export interface RootQdiscConfig {
  link: LinkRef;
  /** "netem", "tbf"... */
  kind: string;
  /** The TCA_OPTIONS payload for that kind (tc-netem.ts, tc-tbf.ts). */
  options?: Buffer;
}

export interface Qdisc {
  index: number;
  handle: number;
  parent: number;
  root: boolean;
  kind: string;
  /** The raw TCA_OPTIONS payload; decode with the kind's module. */
  options?: Buffer;
}

/** The payload of a root qdisc request, exactly as `tc qdisc ... dev X root KIND OPTIONS` builds it. */
export function rootQdiscPayload(index: number, kind: string, options?: Buffer): Buffer {
  const attrs = new AttrWriter().string(Tca.KIND, kind);
  // tc sends TCA_OPTIONS without NLA_F_NESTED (netem's is a struct followed by attributes).
  if (options) attrs.bytes(Tca.OPTIONS, options);
  return Buffer.concat([encodeTcMsg({ index, parent: TC_H_ROOT }), attrs.toBuffer()]);
}

function sendRootQdisc(h: Handle, config: RootQdiscConfig, flags: number, verb: string): void {
  const index = linkIndex(h, config.link);
  h.request({
    type: RtmTc.NEWQDISC,
    flags,
    payload: rootQdiscPayload(index, config.kind, config.options),
    op: `${verb} ${config.kind} qdisc on ${describeLink(config.link)}`,
  });
}

/** `tc qdisc add dev X root KIND ...`: EEXIST when the device already has a root qdisc of its own. */
export function addRootQdisc(h: Handle, config: RootQdiscConfig): void {
  sendRootQdisc(h, config, NlmF.CREATE | NlmF.EXCL, "add");
}

/** `tc qdisc replace dev X root KIND ...`: whatever root qdisc was there is swapped for this one. */
export function replaceRootQdisc(h: Handle, config: RootQdiscConfig): void {
  sendRootQdisc(h, config, NlmF.CREATE | NlmF.REPLACE, "replace");
}

/**
 * `tc qdisc del dev X root`: back to the device's default. Returns false when there was
 * nothing of ours to delete (the kernel answers ENOENT, or EINVAL for the default qdisc).
 */
export function deleteRootQdisc(h: Handle, link: LinkRef): boolean {
  const index = linkIndex(h, link);
  try {
    h.request({
      type: RtmTc.DELQDISC,
      payload: encodeTcMsg({ index, parent: TC_H_ROOT }),
      op: `delete root qdisc of ${describeLink(link)}`,
      deleting: true,
    });
    return true;
  } catch (err) {
    if (isNotFound(err) || (err as { code?: string }).code === "EINVAL") return false;
    throw err;
  }
}

export function decodeQdisc(payload: Buffer): Qdisc {
  const msg = decodeTcMsg(payload);
  const attrs = new AttrReader(payload.subarray(TCMSG_LEN));
  const options = attrs.get(Tca.OPTIONS);
  return {
    index: msg.index,
    handle: msg.handle,
    parent: msg.parent,
    root: msg.parent === TC_H_ROOT,
    kind: attrs.str(Tca.KIND) ?? "",
    ...(options && { options }),
  };
}

/** Every qdisc of the namespace, or of one link (`tc qdisc show [dev X]`). */
export function listQdiscs(h: Handle, filter: { link?: LinkRef } = {}): Qdisc[] {
  const index = filter.link === undefined ? 0 : linkIndex(h, filter.link);
  const all = h
    .dump({ type: RtmTc.GETQDISC, payload: encodeTcMsg({ index }), op: "list qdiscs" })
    .map((msg) => decodeQdisc(msg.payload));
  return index === 0 ? all : all.filter((qdisc) => qdisc.index === index);
}

/** The root qdisc of a link, if it has one (a veth's default "noqueue" counts). */
export function rootQdisc(h: Handle, link: LinkRef): Qdisc | undefined {
  return listQdiscs(h, { link }).find((qdisc) => qdisc.root);
}
