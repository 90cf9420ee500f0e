// The units tc's netlink structs count in, converted the way iproute2 converts them, so
// that our requests are byte-identical to the ones `tc` sends.

/**
 * Scheduler ticks per microsecond. The kernel counts qdisc time in 64 ns ticks
 * (PSCHED_SHIFT 6, fixed since Linux 3.x); iproute2 reads the same figure from
 * /proc/net/psched ("000003e8 00000040 ...": 1000 ns per us / 64 ns per tick).
 */
export const TICKS_PER_US = 1000 / 64;

/** Microseconds to ticks, truncated as iproute2's tc_core_time2tick (an unsigned multiply). */
export function usToTicks(us: number): number {
  return Math.min(Math.floor(Math.floor(us) * TICKS_PER_US), 0xffffffff);
}

export function ticksToUs(ticks: number): number {
  return ticks / TICKS_PER_US;
}

/** C's rint(): round half to even (Math.round rounds half up). */
function rint(value: number): number {
  const rounded = Math.round(value);
  return rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

/** A percentage as netem's 32-bit probability: 0 = never, 0xffffffff = always (iproute2's get_percent). */
export function percentToProbability(percent: number): number {
  if (!(percent >= 0 && percent <= 100)) throw new RangeError(`a percentage must be from 0 to 100, got ${percent}`);
  return rint((percent / 100) * 0xffffffff) >>> 0;
}

export function probabilityToPercent(probability: number): number {
  return (probability / 0xffffffff) * 100;
}

/** Time in microseconds to send `bytes` at `bytesPerSecond`, in ticks (iproute2's tc_calc_xmittime). */
export function transmitTicks(bytesPerSecond: number, bytes: number): number {
  return usToTicks((1_000_000 * bytes) / bytesPerSecond);
}
