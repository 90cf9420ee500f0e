// The JIT in the daemon. The compiled executable starts with a reluctant tier-up policy
// (scripts/build.sh's --compile-jit-policy), right for a plugin process that lives for
// milliseconds; the daemon's workers live for days, so they run the normal policy
// (src/plugin/jit.ts's normalJit; a worker thread does not inherit the executable's) with
// lower tier-up thresholds, and the first workers warm up before the daemon listens
// (warm-up.ts). Measured side by side (bridge +
// host-local ADD through two daemons, calls alternated, 200 pairs): the worker's own time per
// ADD over successive 50 calls was, interpreted (reluctant, as before) 4.3 4.3 3.9 4.3 ms;
// normal policy 4.6 3.7 4.0 3.7; normal with these thresholds 6.5 3.6 3.3 3.3. Warmed by 300
// calls, the whole ADD went from 6.49 to 5.96 ms, and the daemon's CPU per request was the
// same (3.83 ms): the compiling is paid once, up front.

/**
 * The workers that run the normal policy and warm up: a trickle of calls lands on worker
 * 0, and on worker 1 while worker 0 still waits for a DEL's kernel teardown (worker.ts's
 * accept order). The others take only bursts and keep the executable's reluctant policy:
 * compiling there, during the bursts, cost more than it saved (100 bridge ADDs 8 at a
 * time: 0.62x of Go with every worker on the normal policy, against 0.57x before).
 */
export const WARMED_WORKERS = 2;

/**
 * JavaScriptCore's tier-up thresholds for the daemon process, read from the environment
 * when the engine starts (so the daemon sets them by re-executing itself, daemon.ts): the
 * baseline JIT after 50 executions instead of 500, the optimizing one after 100 instead of
 * 1000, so a worker compiles its request path within its first few dozen calls.
 */
export const DAEMON_JIT_ENV: Readonly<Record<string, string>> = {
  BUN_JSC_thresholdForJITAfterWarmUp: "50",
  BUN_JSC_thresholdForJITSoon: "10",
  BUN_JSC_thresholdForOptimizeAfterWarmUp: "100",
  BUN_JSC_thresholdForOptimizeSoon: "20",
};

/**
 * The default (`cnikit daemon --warm-up`): enough calls for the request path to be
 * compiled (above: the first 50 calls of a worker paid for it), about 1.7 s of start-up
 * for the two workers together on this 2-core machine.
 */
export const DEFAULT_WARM_UP_PAIRS = 48;
