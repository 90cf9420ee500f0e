// A fingerprint of a VTEP's peer entries (l3: FDB, neighbour and route per peer; l2: the
// flood list), so that an ADD whose peer list is the one last applied can tell in one pass
// over the raw dumps that the kernel still holds exactly those entries, without
// formatting, diffing or deriving 30,000 of them (10,000 l3 peers).
// The fingerprint is a multiset hash: per entry two 32-bit FNV-1a lanes over its kind and
// its bytes as the kernel carries them, summed, with the count. The same entries give the
// same fingerprint whichever side they come from; any entry added, removed or changed by
// hand (a MAC, a gateway, onlink) changes it but with a chance of 2^-64.
// The stamp (stamp.ts, the VTEP alias) records, per peer list digest, the fingerprint its
// entries have; the kernel is always read.
import {
  AF_BRIDGE,
  NLA_TYPE_MASK,
  Nda,
  Nud,
  RTM_F_CLONED,
  RTNH_F_ONLINK,
  Rta,
  Rtm,
  RtProt,
  RtTable,
  RtnType,
} from "../../src/netlink/codec/constants";
import { NLA_HDRLEN, align4 } from "../../src/netlink/codec/attrs";
import { parseIp, parseMac } from "../../src/netlink/codec/ip-bytes";
import { NDMSG_LEN, RTMSG_LEN, encodeIfInfo, encodeNd, encodeRt } from "../../src/netlink/codec/structs";
import { AttrWriter } from "../../src/netlink/codec/attrs";
import type { Handle, RequestSpec } from "../../src/netlink/handle";
import type { PeerEntries } from "./peer-entries";

const KIND = { fdb: 1, neighbour: 2, route: 3, flood: 4 } as const;

/** Running multiset hash: add entries in any order. */
class Fingerprint {
  private count = 0;
  private sumA = 0;
  private sumB = 0;
  private a = 0;
  private b = 0;

  begin(kind: number): void {
    this.a = (0x811c9dc5 ^ kind) >>> 0;
    this.b = (0x050c5d1f ^ kind) >>> 0;
  }

  bytes(buf: Uint8Array, offset: number, length: number): void {
    let { a, b } = this;
    const end = offset + length;
    for (let index = offset; index < end; index++) {
      const byte = buf[index] as number;
      a = Math.imul(a ^ byte, 0x01000193);
      b = Math.imul(b ^ byte, 0x01000193) ^ (b >>> 15);
    }
    this.a = a;
    this.b = b;
  }

  byte(value: number): void {
    this.a = Math.imul(this.a ^ (value & 0xff), 0x01000193);
    this.b = Math.imul(this.b ^ (value & 0xff), 0x01000193) ^ (this.b >>> 15);
  }

  end(): void {
    this.count++;
    this.sumA = (this.sumA + (this.a >>> 0)) >>> 0;
    this.sumB = (this.sumB + (this.b >>> 0)) >>> 0;
  }

  toString(): string {
    return `${this.count}.${this.sumA.toString(16)}.${this.sumB.toString(16)}`;
  }

  /** The sums so far, to go back to when a dump is asked again. */
  save(): [number, number, number] {
    return [this.count, this.sumA, this.sumB];
  }

  restore([count, sumA, sumB]: [number, number, number]): void {
    this.count = count;
    this.sumA = sumA;
    this.sumB = sumB;
  }
}

/**
 * What the desired entries' fingerprint is: one FDB entry per peer host (a dual-stack
 * peer's two entries share it), a permanent neighbour and an onlink route per subnet.
 */
export function desiredFingerprint(desired: readonly PeerEntries[]): string {
  const print = new Fingerprint();
  const fdbSeen = new Set<string>();
  for (const entry of desired) {
    const mac = parseMac(entry.vtepMac);
    const underlay = parseIp(entry.underlayAddress).bytes;
    const fdbKey = `${entry.vtepMac} ${entry.underlayAddress}`;
    if (!fdbSeen.has(fdbKey)) {
      fdbSeen.add(fdbKey);
      print.begin(KIND.fdb);
      print.bytes(mac, 0, 6);
      print.bytes(underlay, 0, underlay.length);
      print.end();
    }
    const vtepAddress = parseIp(entry.vtepAddress).bytes;
    print.begin(KIND.neighbour);
    print.bytes(vtepAddress, 0, vtepAddress.length);
    print.bytes(mac, 0, 6);
    print.end();
    const [network = "", prefix = "0"] = entry.subnet.split("/");
    const dst = parseIp(network).bytes;
    print.begin(KIND.route);
    print.bytes(dst, 0, dst.length);
    print.byte(Number(prefix));
    print.bytes(vtepAddress, 0, vtepAddress.length);
    print.byte(1); // onlink
    print.end();
  }
  return print.toString();
}

/**
 * Offset and length of each attribute of interest of the message at buf[start, end)
 * (the attributes begin at `first`), -1 when absent: slot i of `types` fills spans[2i],
 * spans[2i + 1]. One array for every message: 30,000 of them per dump.
 */
const spans = new Int32Array(8);
function findAttrs(buf: Buffer, first: number, end: number, slots: Int8Array): void {
  spans.fill(-1);
  // Bytes read by hand: Buffer's readUInt16LE per attribute cost a third of this loop, cold.
  for (let offset = first; offset + NLA_HDRLEN <= end; ) {
    const length = (buf[offset] as number) | ((buf[offset + 1] as number) << 8);
    if (length < NLA_HDRLEN || offset + length > end)
      throw new Error(`malformed attribute at offset ${offset}: length ${length}`);
    const type = ((buf[offset + 2] as number) | ((buf[offset + 3] as number) << 8)) & NLA_TYPE_MASK;
    const slot = type < slots.length ? (slots[type] as number) : -1;
    if (slot >= 0) {
      spans[slot * 2] = offset + NLA_HDRLEN;
      spans[slot * 2 + 1] = length - NLA_HDRLEN;
    }
    offset += align4(length);
  }
}

/** Slot by attribute type: the position of the type in `types`, -1 for the others. */
function slotsOf(types: readonly number[]): Int8Array {
  const slots = new Int8Array(Math.max(...types) + 1).fill(-1);
  types.forEach((type, slot) => {
    slots[type] = slot;
  });
  return slots;
}

const NEIGH_ATTRS = slotsOf([Nda.DST, Nda.LLADDR, Nda.MASTER]);
const ROUTE_ATTRS = slotsOf([Rta.DST, Rta.GATEWAY, Rta.OIF, Rta.TABLE]);
const NEIGH_DST = 0;
const NEIGH_MAC = 2;
const NEIGH_MASTER = 4;
const ROUTE_DST = 0;
const ROUTE_GATEWAY = 2;
const ROUTE_OIF = 4;
const ROUTE_TABLE = 6;

/** The dump of `spec` hashed into a new fingerprint by `add`, each message as buf[start, end). */
function hashDump(
  host: Handle,
  print: Fingerprint,
  spec: RequestSpec,
  add: (print: Fingerprint, buf: Buffer, start: number, end: number) => void,
): void {
  const saved = print.save();
  host.dumpEach(
    spec,
    (buf, start, end) => add(print, buf, start, end),
    () => print.restore(saved),
  );
}

const fdbDump = (link: number): RequestSpec => ({
  type: Rtm.GETNEIGH,
  payload: encodeIfInfo({ family: AF_BRIDGE, index: link }),
  op: `fingerprint fdb of ${link}`,
});

/** The same entries readPeerEntries keeps (reconcile.ts), hashed from the raw dumps. */
export function kernelFingerprint(host: Handle, link: number): string {
  const print = new Fingerprint();
  hashDump(host, print, fdbDump(link), (into, buf, start, end) => addNeigh(into, buf, start, end, link, true));
  const ifindex = new AttrWriter().u32(Nda.IFINDEX, link).toBuffer();
  const neighbours: RequestSpec = {
    type: Rtm.GETNEIGH,
    payload: Buffer.concat([encodeNd({}), ifindex]),
    op: `fingerprint neighbours of ${link}`,
  };
  hashDump(host, print, neighbours, (into, buf, start, end) => addNeigh(into, buf, start, end, link, false));
  const routes: RequestSpec = { type: Rtm.GETROUTE, payload: encodeRt({}), op: `fingerprint routes of ${link}` };
  hashDump(host, print, routes, (into, buf, start, end) => addRoute(into, buf, start, end, link));
  return print.toString();
}

function addNeigh(print: Fingerprint, buf: Buffer, start: number, end: number, link: number, bridge: boolean): void {
  if (end - start < NDMSG_LEN || buf.readInt32LE(start + 4) !== link || (buf[start] === AF_BRIDGE) !== bridge) return;
  findAttrs(buf, start + NDMSG_LEN, end, NEIGH_ATTRS);
  const dstAt = spans[NEIGH_DST] as number;
  const dstLength = spans[NEIGH_DST + 1] as number;
  const macAt = spans[NEIGH_MAC] as number;
  if (dstAt < 0 || (dstLength !== 4 && dstLength !== 16) || macAt < 0 || spans[NEIGH_MAC + 1] !== 6) return;
  if (bridge) {
    if ((spans[NEIGH_MASTER] as number) >= 0) return;
    print.begin(KIND.fdb);
    print.bytes(buf, macAt, 6);
    print.bytes(buf, dstAt, dstLength);
  } else {
    if ((buf.readUInt16LE(start + 8) & Nud.PERMANENT) === 0) return;
    print.begin(KIND.neighbour);
    print.bytes(buf, dstAt, dstLength);
    print.bytes(buf, macAt, 6);
  }
  print.end();
}

function addRoute(print: Fingerprint, buf: Buffer, start: number, end: number, link: number): void {
  if (end - start < RTMSG_LEN) return;
  const flags = buf.readUInt32LE(start + 8);
  if ((flags & RTM_F_CLONED) !== 0 || buf[start + 7] !== RtnType.UNICAST || buf[start + 5] === RtProt.KERNEL) return;
  findAttrs(buf, start + RTMSG_LEN, end, ROUTE_ATTRS);
  const oifAt = spans[ROUTE_OIF] as number;
  if (oifAt < 0 || buf.readUInt32LE(oifAt) !== link) return;
  const tableAt = spans[ROUTE_TABLE] as number;
  const table = tableAt >= 0 ? buf.readUInt32LE(tableAt) : (buf[start + 4] ?? 0);
  const dstAt = spans[ROUTE_DST] as number;
  const gwAt = spans[ROUTE_GATEWAY] as number;
  // readPeerEntries leaves out a default route and one without a gateway.
  if (table !== RtTable.MAIN || dstAt < 0 || gwAt < 0) return;
  print.begin(KIND.route);
  print.bytes(buf, dstAt, spans[ROUTE_DST + 1] as number);
  print.byte(buf[start + 1] ?? 0);
  print.bytes(buf, gwAt, spans[ROUTE_GATEWAY + 1] as number);
  print.byte((flags & RTNH_F_ONLINK) !== 0 ? 1 : 0);
  print.end();
}

/** l2: the flood list's fingerprint, one all-zeros FDB entry per peer (listed once). */
export function desiredFloodFingerprint(peers: readonly string[]): string {
  const print = new Fingerprint();
  for (const peer of new Set(peers)) {
    const dst = parseIp(peer).bytes;
    print.begin(KIND.flood);
    print.bytes(dst, 0, dst.length);
    print.end();
  }
  return print.toString();
}

/** What the fingerprint of an l2 VTEP whose other entries are not all through listed peers ends with. */
const STRAY_ENTRIES = "+stray";

/**
 * l2: the fingerprint of the VTEP's flood entries, as reconcileFloodEntries sees them:
 * learned (and hand-made) unicast entries may stay only when their destination is a peer,
 * i.e. flooded; when one is not, the fingerprint matches no list and the full reconcile
 * removes it.
 */
export function kernelFloodFingerprint(host: Handle, link: number): string {
  const print = new Fingerprint();
  let flooded = new Set<string>();
  let unicastDsts: string[] = [];
  let stray = false;
  const addEntry = (buf: Buffer, start: number, end: number) => {
    if (end - start < NDMSG_LEN || buf.readInt32LE(start + 4) !== link || buf[start] !== AF_BRIDGE) return;
    findAttrs(buf, start + NDMSG_LEN, end, NEIGH_ATTRS);
    const dstAt = spans[NEIGH_DST] as number;
    const dstLength = spans[NEIGH_DST + 1] as number;
    const macAt = spans[NEIGH_MAC] as number;
    if (dstAt < 0 || (spans[NEIGH_MASTER] as number) >= 0) return; // not a remote entry of the VTEP's own
    const dst = buf.toString("latin1", dstAt, dstAt + dstLength);
    if (spans[NEIGH_MAC + 1] !== 6) stray = true;
    else if (buf.readUInt32LE(macAt) === 0 && buf.readUInt16LE(macAt + 4) === 0) {
      print.begin(KIND.flood);
      print.bytes(buf, dstAt, dstLength);
      print.end();
      flooded.add(dst);
    } else unicastDsts.push(dst);
  };
  const saved = print.save();
  host.dumpEach(fdbDump(link), addEntry, () => {
    print.restore(saved);
    flooded = new Set();
    unicastDsts = [];
    stray = false;
  });
  stray ||= unicastDsts.some((dst) => !flooded.has(dst));
  return stray ? `${print}${STRAY_ENTRIES}` : print.toString();
}
