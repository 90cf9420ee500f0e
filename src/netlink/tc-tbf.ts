// The tbf (token bucket) qdisc's options: TCA_TBF_PARMS (struct tc_tbf_qopt), TCA_TBF_BURST
// and the rate table, computed the way iproute2's q_tbf.c and tc_core.c do.
import { AttrReader, AttrWriter } from "./codec/attrs";
import { transmitTicks } from "./tc-units";

export const TcaTbf = { PARMS: 1, RTAB: 2, PTAB: 3, RATE64: 4, PRATE64: 5, BURST: 6, PBURST: 7 } as const;
/** linux/pkt_sched.h: account for Ethernet framing. With it the kernel ignores the rate table. */
const TC_LINKLAYER_ETHERNET = 1;
/** iproute2's default when no mtu is given: the rate table covers packets up to 2047 bytes. */
const RTAB_MTU = 2047;

export interface TbfOptions {
  rateBytesPerSecond: number;
  /** Bucket size in bytes: how much may leave at line rate in one go. */
  burstBytes: number;
  /** The longest a packet may wait in the queue; sets the queue limit in bytes. */
  latencyUs: number;
}

/** struct tc_ratespec: cell_log, linklayer, overhead, cell_align, mpu, rate (12 bytes). */
function rateSpec(cellLog: number, bytesPerSecond: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(cellLog, 0);
  b.writeUInt8(TC_LINKLAYER_ETHERNET, 1);
  b.writeInt16LE(-1, 4);
  b.writeUInt32LE(Math.min(bytesPerSecond, 0xffffffff), 8);
  return b;
}

/** The 256-entry rate table (older kernels need it; tc always sends it). */
function rateTable(bytesPerSecond: number): { cellLog: number; table: Buffer } {
  let cellLog = 0;
  while (RTAB_MTU >> cellLog > 255) cellLog++;
  const table = Buffer.alloc(1024);
  for (let slot = 0; slot < 256; slot++)
    table.writeUInt32LE(transmitTicks(bytesPerSecond, (slot + 1) << cellLog), slot * 4);
  return { cellLog, table };
}

/** The TCA_OPTIONS payload for `tbf rate R burst B latency L`; same bytes as tc sends. */
export function encodeTbfOptions(options: TbfOptions): Buffer {
  const rate = Math.floor(options.rateBytesPerSecond);
  if (!(rate > 0)) throw new RangeError(`tbf needs a positive rate, got ${options.rateBytesPerSecond}`);
  const buffer = transmitTicks(rate, options.burstBytes);
  const limit = Math.floor((rate * options.latencyUs) / 1_000_000 + options.burstBytes);
  const { cellLog, table } = rateTable(rate);
  const qopt = Buffer.alloc(36);
  rateSpec(cellLog, rate).copy(qopt, 0);
  // peakrate (12 bytes) stays zero: no peak rate.
  qopt.writeUInt32LE(limit >>> 0, 24);
  qopt.writeUInt32LE(buffer >>> 0, 28);
  const attrs = new AttrWriter().bytes(TcaTbf.PARMS, qopt);
  if (rate > 0xffffffff) {
    const rate64 = Buffer.alloc(8);
    rate64.writeBigUInt64LE(BigInt(rate));
    attrs.bytes(TcaTbf.RATE64, rate64);
  }
  attrs.u32(TcaTbf.BURST, options.burstBytes);
  attrs.bytes(TcaTbf.RTAB, table);
  return attrs.toBuffer();
}

export interface TbfState {
  rateBytesPerSecond: number;
  limitBytes: number;
  burstBytes?: number;
}

export function decodeTbfOptions(payload: Buffer): TbfState {
  const attrs = new AttrReader(payload);
  const parms = attrs.get(TcaTbf.PARMS);
  if (!parms || parms.length < 36) throw new Error("tbf options without TCA_TBF_PARMS");
  const rate64 = attrs.get(TcaTbf.RATE64);
  const burst = attrs.u32(TcaTbf.BURST);
  return {
    rateBytesPerSecond: rate64 ? Number(rate64.readBigUInt64LE(0)) : parms.readUInt32LE(8),
    limitBytes: parms.readUInt32LE(24),
    ...(burst !== undefined && { burstBytes: burst }),
  };
}
