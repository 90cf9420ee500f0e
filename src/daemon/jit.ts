// The compiled executable starts with a reluctant JIT tier-up policy (scripts/build.sh's
// --compile-jit-policy), right for a plugin process that lives for milliseconds. A worker
// thread starts with the normal policy instead, so each worker sets the reluctant one:
// measured in a daemon serving bridge + host-local ADD/DEL pairs (two daemons side by side,
// 150 pairs after 20, thread CPU from /proc), with the normal policy the compiler threads
// took 0.77-0.90 ms of CPU per request and no request got faster (ADD 4.32 vs 4.32 ms,
// 5.34 vs 5.05); the whole daemon used 4.53-5.33 ms of CPU per request against 4.07-4.77.

/** The same scale as scripts/build.sh's --compile-jit-policy. */
const RELUCTANT_JIT_POLICY = 1000;

/** Sets this thread's JIT policy to the executable's (a no-op outside Bun). */
export function reluctantJit(): void {
  const unsafe = (globalThis as { Bun?: { unsafe?: { setJITPolicy?: (scale: number) => void } } }).Bun?.unsafe;
  unsafe?.setJITPolicy?.(RELUCTANT_JIT_POLICY);
}
