// The netem qdisc's options (linux/pkt_sched.h): struct tc_netem_qopt, then attributes
// (TCA_NETEM_CORR, _REORDER, _CORRUPT, _RATE...), in the order iproute2's q_netem.c
// puts them, with its unit conversions (tc-units.ts), so the bytes match `tc`'s.
import { AttrReader, AttrWriter } from "./codec/attrs";
import { percentToProbability, probabilityToPercent, ticksToUs, usToTicks } from "./tc-units";

export const TcaNetem = {
  CORR: 1,
  DELAY_DIST: 2,
  REORDER: 3,
  CORRUPT: 4,
  LOSS: 5,
  RATE: 6,
  ECN: 7,
  RATE64: 8,
  PAD: 9,
  LATENCY64: 10,
  JITTER64: 11,
} as const;

/** sizeof(struct tc_netem_qopt): latency, limit, loss, gap, duplicate, jitter (u32 each). */
const QOPT_LEN = 24;
/** tc's default queue limit in packets. */
export const NETEM_DEFAULT_LIMIT = 1000;

export interface NetemOptions {
  delayUs?: number;
  jitterUs?: number;
  /** Percentages, 0-100. */
  lossPercent?: number;
  duplicatePercent?: number;
  /** Share of packets sent at once, ahead of the delayed ones (needs a delay). */
  reorderPercent?: number;
  /** Reorder every gap-th packet instead; tc makes it 1 when reorder is given without one. */
  gap?: number;
  corruptPercent?: number;
  delayCorrelationPercent?: number;
  lossCorrelationPercent?: number;
  duplicateCorrelationPercent?: number;
  reorderCorrelationPercent?: number;
  corruptCorrelationPercent?: number;
  rateBytesPerSecond?: number;
  /** Queue length in packets (tc's default: 1000). */
  limit?: number;
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  for (const [index, value] of values.entries()) b.writeUInt32LE(value >>> 0, index * 4);
  return b;
}

const probability = (percent: number | undefined): number => percentToProbability(percent ?? 0);

/** The TCA_OPTIONS payload for `netem ...`; same bytes as tc (iproute2 6.1) sends. */
export function encodeNetemOptions(options: NetemOptions): Buffer {
  const reorder = options.reorderPercent ?? 0;
  if (reorder > 0 && !options.delayUs) throw new RangeError("netem reorder needs a delay");
  const gap = options.gap ?? (reorder > 0 ? 1 : 0);
  const qopt = u32s(
    usToTicks(options.delayUs ?? 0),
    options.limit ?? NETEM_DEFAULT_LIMIT,
    probability(options.lossPercent),
    gap,
    probability(options.duplicatePercent),
    usToTicks(options.jitterUs ?? 0),
  );
  const attrs = new AttrWriter();
  const correlated = [
    options.delayCorrelationPercent,
    options.lossCorrelationPercent,
    options.reorderCorrelationPercent,
    options.corruptCorrelationPercent,
  ].some((value) => value !== undefined);
  if (correlated)
    attrs.bytes(
      TcaNetem.CORR,
      u32s(
        probability(options.delayCorrelationPercent),
        probability(options.lossCorrelationPercent),
        probability(options.duplicateCorrelationPercent),
      ),
    );
  if (options.reorderPercent !== undefined)
    attrs.bytes(
      TcaNetem.REORDER,
      u32s(probability(options.reorderPercent), probability(options.reorderCorrelationPercent)),
    );
  if (options.corruptPercent !== undefined)
    attrs.bytes(
      TcaNetem.CORRUPT,
      u32s(probability(options.corruptPercent), probability(options.corruptCorrelationPercent)),
    );
  if (options.rateBytesPerSecond !== undefined) {
    const rate = Math.floor(options.rateBytesPerSecond);
    // struct tc_netem_rate {rate, packet_overhead, cell_size, cell_overhead}; rates past 32 bits go in RATE64.
    if (rate > 0xffffffff) {
      const rate64 = Buffer.alloc(8);
      rate64.writeBigUInt64LE(BigInt(rate));
      attrs.bytes(TcaNetem.RATE64, rate64);
    }
    attrs.bytes(TcaNetem.RATE, u32s(Math.min(rate, 0xffffffff), 0, 0, 0));
  }
  return Buffer.concat([qopt, attrs.toBuffer()]);
}

/** What a netem qdisc holds, read back (for `show` and tests). */
export interface NetemState {
  delayUs: number;
  jitterUs: number;
  limit: number;
  lossPercent: number;
  duplicatePercent: number;
  reorderPercent: number;
  corruptPercent: number;
  gap: number;
  rateBytesPerSecond?: number;
}

export function decodeNetemOptions(payload: Buffer): NetemState {
  if (payload.length < QOPT_LEN) throw new Error(`netem options too short: ${payload.length} bytes`);
  const word = (index: number): number => payload.readUInt32LE(index * 4);
  const attrs = new AttrReader(payload.subarray(QOPT_LEN));
  const first = (type: number): number => attrs.get(type)?.readUInt32LE(0) ?? 0;
  const latency64 = attrs.get(TcaNetem.LATENCY64);
  const jitter64 = attrs.get(TcaNetem.JITTER64);
  const rate64 = attrs.get(TcaNetem.RATE64);
  const rate = attrs.get(TcaNetem.RATE);
  return {
    delayUs: latency64 ? Number(latency64.readBigInt64LE(0)) / 1000 : ticksToUs(word(0)),
    jitterUs: jitter64 ? Number(jitter64.readBigInt64LE(0)) / 1000 : ticksToUs(word(5)),
    limit: word(1),
    lossPercent: probabilityToPercent(word(2)),
    gap: word(3),
    duplicatePercent: probabilityToPercent(word(4)),
    reorderPercent: probabilityToPercent(first(TcaNetem.REORDER)),
    corruptPercent: probabilityToPercent(first(TcaNetem.CORRUPT)),
    ...(rate && { rateBytesPerSecond: rate64 ? Number(rate64.readBigUInt64LE(0)) : rate.readUInt32LE(0) }),
  };
}
