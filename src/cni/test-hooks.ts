// Crash and trace points the hardening tests set in a call's environment. They exist only
// in the test build (dist/test-bin, scripts/build.sh): the build defines CNIKIT_TEST_HOOKS
// true there and false in the shipped dist/bin/cnikit, where Bun folds every condition
// below to false and drops the branch, variable names included (a test greps the binary).
// The define is tested at each use, not kept in a variable: Bun inlines a define but not a
// const of another function or module, so a variable would keep the dead branches in.
// Run from source (vitest, node dist/js) the define is absent and the hooks are off.
// Each is read from the call's own environment: a daemon serves many calls.
import { requestContext } from "./request-context";

declare const CNIKIT_TEST_HOOKS: boolean | undefined;

/** CNIKIT_TEST_CRASH_AFTER_STEP=N: SIGKILL right after the Nth rollback step of an ADD (0: never). */
export function crashAfterStepHook(): number {
  return typeof CNIKIT_TEST_HOOKS !== "undefined" && CNIKIT_TEST_HOOKS
    ? Number(requestContext().env.CNIKIT_TEST_CRASH_AFTER_STEP ?? "0")
    : 0;
}

/** CNIKIT_TEST_TRACE_STEPS set: each rollback step is named on stderr, so tests can count them. */
export function traceStepsHook(): boolean {
  return typeof CNIKIT_TEST_HOOKS !== "undefined" && CNIKIT_TEST_HOOKS
    ? requestContext().env.CNIKIT_TEST_TRACE_STEPS !== undefined
    : false;
}

/** CNIKIT_TEST_CRASH_IN_LOCK=PART: SIGKILL once holding a lock whose path contains PART, as a runtime's timeout would. */
export function crashInLockHook(lockFile: string): void {
  if (typeof CNIKIT_TEST_HOOKS !== "undefined" && CNIKIT_TEST_HOOKS) {
    const part = requestContext().env.CNIKIT_TEST_CRASH_IN_LOCK;
    if (part && lockFile.includes(part)) process.kill(process.pid, "SIGKILL");
  }
}

/** CNIKIT_TEST_WORKER_CRASH in a daemon request: its worker thread dies of an exception nothing catches. */
export function workerCrashHook(env: Readonly<Record<string, string>>): boolean {
  return typeof CNIKIT_TEST_HOOKS !== "undefined" && CNIKIT_TEST_HOOKS
    ? env.CNIKIT_TEST_WORKER_CRASH !== undefined
    : false;
}

/** CNIKIT_TEST_LOCK_TIMEOUT_MS=N: a shorter bound on a host lock's wait, so "held forever" is proven in seconds. */
export function lockTimeoutHook(): number | undefined {
  if (typeof CNIKIT_TEST_HOOKS !== "undefined" && CNIKIT_TEST_HOOKS) {
    const override = Number(requestContext().env.CNIKIT_TEST_LOCK_TIMEOUT_MS);
    if (Number.isInteger(override) && override > 0) return override;
  }
  return undefined;
}
