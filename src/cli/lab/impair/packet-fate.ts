// What the queue process does to one packet: how late its verdict comes (delay ± jitter,
// or at once when picked for reordering) and whether one payload byte is corrupted.
// Pure, with the random source passed in, so it is tested without a kernel.
import type { LinkImpairment } from "./spec";

export interface PacketFate {
  delayMs: number;
  /** Offset of the byte to corrupt; nothing is recomputed, so the receiver's checksum fails. */
  corruptOffset?: number;
}

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_ICMP = 1;

/**
 * Where an IPv4 packet's transport payload starts (after the IP header and the TCP, UDP or
 * ICMP header), or undefined when the packet has none to corrupt.
 */
export function transportPayloadOffset(packet: Buffer): number | undefined {
  if (packet.length < 20 || packet[0] === undefined || packet[0] >> 4 !== 4) return undefined;
  const ipHeader = (packet[0] & 0x0f) * 4;
  // A fragment after the first carries payload only.
  const fragmentOffset = packet.readUInt16BE(6) & 0x1fff;
  if (fragmentOffset !== 0) return ipHeader < packet.length ? ipHeader : undefined;
  const protocol = packet[9];
  let transportHeader = 0;
  if (protocol === IPPROTO_UDP || protocol === IPPROTO_ICMP) transportHeader = 8;
  else if (protocol === IPPROTO_TCP && packet.length >= ipHeader + 13)
    transportHeader = ((packet[ipHeader + 12] ?? 0) >> 4) * 4;
  else return undefined;
  const start = ipHeader + transportHeader;
  return start < packet.length ? start : undefined;
}

export function decideFate(impairment: LinkImpairment, packet: Buffer, random: () => number): PacketFate {
  let delayMs = impairment.delayMs ?? 0;
  if (delayMs > 0 && impairment.reorderPercent && random() * 100 < impairment.reorderPercent) {
    delayMs = 0;
  } else if (impairment.jitterMs) {
    // Uniform in [delay - jitter, delay + jitter], never negative: netem without a distribution table.
    delayMs = Math.max(0, delayMs + (random() * 2 - 1) * impairment.jitterMs);
  }
  const fate: PacketFate = { delayMs };
  if (impairment.corruptPercent && random() * 100 < impairment.corruptPercent) {
    const start = transportPayloadOffset(packet);
    if (start !== undefined) fate.corruptOffset = start + Math.floor(random() * (packet.length - start));
  }
  return fate;
}

/** A copy of the packet with the byte at `offset` flipped by a non-zero mask. */
export function corruptByte(packet: Buffer, offset: number, random: () => number): Buffer {
  const copy = Buffer.from(packet);
  const mask = 1 + Math.floor(random() * 255);
  copy[offset] = ((copy[offset] ?? 0) ^ mask) & 0xff;
  return copy;
}
