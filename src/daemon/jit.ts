// The compiled executable starts with a lowered JIT tier-up (scripts/build.sh), right
// for a plugin process that lives for milliseconds. A daemon and its workers live for
// days: each thread sets the normal policy back (a no-op outside Bun).
export function normalJit(): void {
  const unsafe = (globalThis as { Bun?: { unsafe?: { setJITPolicy?: (scale: number) => void } } }).Bun?.unsafe;
  unsafe?.setJITPolicy?.(1);
}
