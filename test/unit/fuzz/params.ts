// Fuzzing budget: bounded and seeded, so a run is fast and a failure reproduces.
// CNIKIT_FUZZ_RUNS raises the count for a longer local hunt; CNIKIT_FUZZ_SEED replays.
import type { Parameters } from "fast-check";

export const FUZZ_RUNS = Number(process.env.CNIKIT_FUZZ_RUNS ?? "500");
const BASE_SEED = Number(process.env.CNIKIT_FUZZ_SEED ?? "20261129");

/** One property's parameters: its own seed (offset), a time limit so nothing can hang the run. */
export function fuzzParams<T>(seedOffset: number): Parameters<T> {
  return {
    numRuns: FUZZ_RUNS,
    seed: BASE_SEED + seedOffset,
    interruptAfterTimeLimit: 20_000,
    markInterruptAsFailure: true,
    endOnFailure: true,
  };
}
