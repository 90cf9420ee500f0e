// A fingerprint of an l3 VTEP's peer entries, so that an ADD whose peer list is the one
// last applied can tell in one pass over the raw dumps that the kernel still holds exactly
// those entries, without formatting, diffing or deriving 30,000 of them (10,000 peers).
// The fingerprint is a multiset hash: per entry two 32-bit FNV-1a lanes over its kind and
// its bytes as the kernel carries them, summed, with the count. The same entries give the
// same fingerprint whichever side they come from; any entry added, removed or changed by
// hand (a MAC, a gateway, onlink) changes it but with a chance of 2^-64.
// The stamp (VTEP alias) caches, per peer list digest, the fingerprint its entries have:
// a pure function of the list, so it cannot go stale; the kernel is always read.
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
import type { Handle } from "../../src/netlink/handle";
import type { PeerEntries } from "./peer-entries";

const KIND = { fdb: 1, neighbour: 2, route: 3 } as const;

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
    for (let index = offset; index < offset + length; index++) {
      const byte = buf[index] ?? 0;
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

/** Offset and length of each attribute of interest in one message, -1 when absent. */
function attrSpans(payload: Buffer, start: number, types: readonly number[]): number[] {
  const spans: number[] = [-1, -1, -1, -1, -1, -1, -1, -1].slice(0, types.length * 2);
  for (let offset = start; offset + NLA_HDRLEN <= payload.length; ) {
    const length = payload.readUInt16LE(offset);
    if (length < NLA_HDRLEN || offset + length > payload.length)
      throw new Error(`malformed attribute at offset ${offset}: length ${length}`);
    const slot = types.indexOf(payload.readUInt16LE(offset + 2) & NLA_TYPE_MASK);
    if (slot >= 0) {
      spans[slot * 2] = offset + NLA_HDRLEN;
      spans[slot * 2 + 1] = length - NLA_HDRLEN;
    }
    offset += align4(length);
  }
  return spans;
}

const NEIGH_ATTRS = [Nda.DST, Nda.LLADDR, Nda.MASTER] as const;
const ROUTE_ATTRS = [Rta.DST, Rta.GATEWAY, Rta.OIF, Rta.TABLE] as const;

/** The same entries readPeerEntries keeps (overlay-reconcile.ts), hashed from the raw dumps. */
export function kernelFingerprint(host: Handle, link: number): string {
  const print = new Fingerprint();
  const fdb = host.dump({
    type: Rtm.GETNEIGH,
    payload: encodeIfInfo({ family: AF_BRIDGE, index: link }),
    op: `fingerprint fdb of ${link}`,
  });
  for (const { payload } of fdb) addNeigh(print, payload, link, true);
  const ifindex = new AttrWriter().u32(Nda.IFINDEX, link).toBuffer();
  const neighbours = host.dump({
    type: Rtm.GETNEIGH,
    payload: Buffer.concat([encodeNd({}), ifindex]),
    op: `fingerprint neighbours of ${link}`,
  });
  for (const { payload } of neighbours) addNeigh(print, payload, link, false);
  for (const { payload } of host.dump({
    type: Rtm.GETROUTE,
    payload: encodeRt({}),
    op: `fingerprint routes of ${link}`,
  }))
    addRoute(print, payload, link);
  return print.toString();
}

function addNeigh(print: Fingerprint, payload: Buffer, link: number, bridge: boolean): void {
  if (payload.length < NDMSG_LEN || payload.readInt32LE(4) !== link || (payload[0] === AF_BRIDGE) !== bridge) return;
  const spans = attrSpans(payload, NDMSG_LEN, NEIGH_ATTRS);
  const [dstAt = -1, dstLength = -1, macAt = -1, macLength = -1, masterAt = -1] = spans;
  if (dstAt < 0 || (dstLength !== 4 && dstLength !== 16) || macAt < 0 || macLength !== 6) return;
  if (bridge) {
    if (masterAt >= 0) return;
    print.begin(KIND.fdb);
    print.bytes(payload, macAt, 6);
    print.bytes(payload, dstAt, dstLength);
  } else {
    if ((payload.readUInt16LE(8) & Nud.PERMANENT) === 0) return;
    print.begin(KIND.neighbour);
    print.bytes(payload, dstAt, dstLength);
    print.bytes(payload, macAt, 6);
  }
  print.end();
}

function addRoute(print: Fingerprint, payload: Buffer, link: number): void {
  if (payload.length < RTMSG_LEN) return;
  const flags = payload.readUInt32LE(8);
  if ((flags & RTM_F_CLONED) !== 0 || payload[7] !== RtnType.UNICAST || payload[5] === RtProt.KERNEL) return;
  const [dstAt = -1, dstLength = -1, gwAt = -1, gwLength = -1, oifAt = -1, , tableAt = -1] = attrSpans(
    payload,
    RTMSG_LEN,
    ROUTE_ATTRS,
  );
  if (oifAt < 0 || payload.readUInt32LE(oifAt) !== link) return;
  const table = tableAt >= 0 ? payload.readUInt32LE(tableAt) : (payload[4] ?? 0);
  // readPeerEntries leaves out a default route and one without a gateway.
  if (table !== RtTable.MAIN || dstAt < 0 || gwAt < 0) return;
  print.begin(KIND.route);
  print.bytes(payload, dstAt, dstLength);
  print.byte(payload[1] ?? 0);
  print.bytes(payload, gwAt, gwLength);
  print.byte((flags & RTNH_F_ONLINK) !== 0 ? 1 : 0);
  print.end();
}

const STAMP_PREFIX = "cnikit-peers1 ";

/** A digest of the peer list the entries are made from: the stamp's key. */
export function peerListDigest(vni: number, peers: readonly { underlayAddress: string; subnet: string }[]): string {
  const print = new Fingerprint();
  print.begin(vni & 0xff);
  const text = Buffer.from(`${vni}\n${peers.map((peer) => `${peer.underlayAddress} ${peer.subnet}`).join("\n")}`);
  print.bytes(text, 0, text.length);
  print.end();
  return `${text.length.toString(16)}.${print.toString()}`;
}

/** The VTEP alias recording which fingerprint the list with `digest` gives. */
export function stampText(digest: string, fingerprint: string): string {
  return `${STAMP_PREFIX}${digest} ${fingerprint}`;
}

/** The fingerprint a stamp records for `digest`, or undefined (no stamp, another list). */
export function stampedFingerprint(alias: string | undefined, digest: string): string | undefined {
  if (alias === undefined || !alias.startsWith(STAMP_PREFIX)) return undefined;
  const [stampDigest, fingerprint] = alias.slice(STAMP_PREFIX.length).split(" ");
  return stampDigest === digest ? fingerprint : undefined;
}
