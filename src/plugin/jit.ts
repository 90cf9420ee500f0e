// The JIT tier-up policy of the calling thread, in one place. The compiled executable
// starts with tier-up lowered a thousandfold (scripts/build.sh's --compile-jit-policy),
// right for a plugin process that lives for milliseconds; a worker thread starts with the
// normal policy instead. Both setters are no-ops outside Bun (vitest, node dist/js).

/** The same scale as scripts/build.sh's --compile-jit-policy. */
const RELUCTANT_JIT_POLICY = 1000;
const NORMAL_JIT_POLICY = 1;

function setJitPolicy(scale: number): void {
  const unsafe = (globalThis as { Bun?: { unsafe?: { setJITPolicy?: (scale: number) => void } } }).Bun?.unsafe;
  unsafe?.setJITPolicy?.(scale);
}

/**
 * The executable's policy. A daemon worker sets it at start and after every request:
 * measured in a daemon serving bridge + host-local ADD/DEL pairs (two daemons side by
 * side, 150 pairs after 20, thread CPU from /proc), with the normal policy the compiler
 * threads took 0.77-0.90 ms of CPU per request and no request got faster (ADD 4.32 vs
 * 4.32 ms, 5.34 vs 5.05); the whole daemon used 4.53-5.33 ms of CPU per request against
 * 4.07-4.77.
 */
export function reluctantJit(): void {
  setJitPolicy(RELUCTANT_JIT_POLICY);
}

/**
 * The engine's normal policy, for a call that loops over 10,000 peers and 30,000 kernel
 * entries, which the reluctant one leaves interpreted. Measured A/B, standalone, 10,000 l3
 * peers on this loaded 2-core machine: from empty 1.6-1.9 s -> 1.05-1.3 s, in place
 * 0.72-1.04 -> 0.6-0.86 s (the VTEP MACs' FNV loop alone 110-250 -> 35-60 ms).
 */
export function normalJit(): void {
  setJitPolicy(NORMAL_JIT_POLICY);
}
