// What the probe parent and its agents (one process per namespace) say to each other:
// the send plan on stdin, the results on stdout, and the datagram format on the wire.
import type { Family } from "../../ip/cidr";

export const MAGIC = 0x434b5031; // "CKP1"
/** magic + 8-byte run token + 4-byte sequence number. */
export const HEADER_BYTES = 16;
/** An ack is the probe's header and the size the echo agent received. */
export const ACK_BYTES = HEADER_BYTES + 4;
/** RTT probes are this small, so they never meet an MTU problem. */
export const SMALL_PAYLOAD = 64;
/** IPv4 + UDP headers, IPv6 + UDP headers. */
export const HEADER_OVERHEAD: Record<Family, number> = { 4: 28, 6: 48 };
/** The largest UDP payload the kernel sends at all. */
export const MAX_PAYLOAD: Record<Family, number> = { 4: 65507, 6: 65527 };

export interface ProbeTarget {
  address: string;
  port: number;
  /** How many small datagrams measure the round trip. */
  rttCount: number;
  /** Largest payload that leaves the sender as one packet (egress MTU - headers); 0 skips the size search. */
  mtuPayload: number;
  timeoutMs: number;
}

export interface SendPlan {
  token: string;
  targets: ProbeTarget[];
}

export interface RttStats {
  minMs: number;
  avgMs: number;
  maxMs: number;
}

export interface SizeFindings {
  /** The payload limit the sender's route allows as one packet. */
  limit: number;
  /** Largest payload that arrived (<= limit). */
  largest: number;
  /** A datagram twice the limit (sent as IP fragments): did it arrive? */
  fragmented?: { size: number; crossed: boolean };
}

export interface TargetResult {
  address: string;
  port: number;
  sent: number;
  received: number;
  rtt?: RttStats;
  sizes?: SizeFindings;
  /** A local send error (no route, ...), as the kernel reported it. */
  error?: string;
}

export function encodeProbe(token: Buffer, seq: number, size: number): Buffer {
  const datagram = Buffer.alloc(Math.max(size, HEADER_BYTES));
  datagram.writeUInt32BE(MAGIC, 0);
  token.copy(datagram, 4, 0, 8);
  datagram.writeUInt32BE(seq >>> 0, 12);
  return datagram;
}

/** The ack for a received probe, or undefined when the datagram is not one of ours. */
export function ackFor(datagram: Buffer): Buffer | undefined {
  if (datagram.length < HEADER_BYTES || datagram.readUInt32BE(0) !== MAGIC) return undefined;
  const ack = Buffer.alloc(ACK_BYTES);
  datagram.copy(ack, 0, 0, HEADER_BYTES);
  ack.writeUInt32BE(datagram.length, HEADER_BYTES);
  return ack;
}

export function decodeAck(datagram: Buffer, token: Buffer): { seq: number; receivedSize: number } | undefined {
  if (datagram.length < ACK_BYTES || datagram.readUInt32BE(0) !== MAGIC) return undefined;
  if (!datagram.subarray(4, 12).equals(token.subarray(0, 8))) return undefined;
  return { seq: datagram.readUInt32BE(12), receivedSize: datagram.readUInt32BE(HEADER_BYTES) };
}
