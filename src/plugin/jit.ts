// The JIT tier-up policy of the calling thread, in one place. The compiled executable
// starts with tier-up lowered a thousandfold (scripts/build.sh's --compile-jit-policy),
// right for a plugin process that lives for milliseconds; two kinds of work want the
// engine's normal policy back: a call looping over a large peer list (below), and the
// daemon's workers, which live for days (src/daemon/jit.ts). A no-op outside Bun
// (vitest, node dist/js).

const NORMAL_JIT_POLICY = 1;
/** The same scale as scripts/build.sh's --compile-jit-policy. */
const RELUCTANT_JIT_POLICY = 1000;

function setJitPolicy(scale: number): void {
  const unsafe = (globalThis as { Bun?: { unsafe?: { setJITPolicy?: (scale: number) => void } } }).Bun?.unsafe;
  unsafe?.setJITPolicy?.(scale);
}

/**
 * The engine's normal policy. For a call that loops over 10,000 peers and 30,000 kernel
 * entries, which the reluctant one leaves interpreted. Measured A/B, standalone, 10,000 l3
 * peers on this loaded 2-core machine: from empty 1.6-1.9 s -> 1.05-1.3 s, in place
 * 0.72-1.04 -> 0.6-0.86 s (the VTEP MACs' FNV loop alone 110-250 -> 35-60 ms).
 */
export function normalJit(): void {
  setJitPolicy(NORMAL_JIT_POLICY);
}

/**
 * The executable's own policy, for a daemon worker that only takes bursts (src/daemon/jit.ts):
 * compiling for a few calls a day costs more CPU than it saves.
 */
export function reluctantJit(): void {
  setJitPolicy(RELUCTANT_JIT_POLICY);
}
