// Shared host objects (a bridge, a VTEP and its FDB) are changed under a per-object
// flock, because runtimes run plugins in parallel. The lock is scoped to the network
// namespace the plugin runs in (its inode), so labs with many "hosts" on one machine
// do not serialise on each other. A process killed while holding a flock releases it
// automatically, so a crash never blocks the next call.
//
// The wait is bounded and never blocks the thread: flock(LOCK_NB) is retried with
// timer sleeps, so a lock held forever gives code 11 after the bound, and a
// long-lived caller (the overlay agent, whose event loop keeps its etcd lease alive)
// goes on serving while it waits.
import * as fs from "node:fs";
import { tryLockExclusive } from "../../native";
import { CniError, ErrorCode } from "../cni/errors";
import { requestEnv, trackFd } from "../cni/request-context";
import { crashInLockHook, lockTimeoutHook } from "../cni/test-hooks";
import { FileRefusedError, ensureOwnDirectory, openOwnFile } from "../cni/safe-file";
import { lockDir, lockFilePath } from "./lock-layout";

/** Longer than any call holds a lock (ms), shorter than a runtime's own timeout (minutes). */
export const LOCK_TIMEOUT_MS = 60_000;

function lockTimeoutMs(): number {
  return lockTimeoutHook() ?? LOCK_TIMEOUT_MS;
}

function lockPath(object: string, dir: string): string {
  return lockFilePath(dir, fs.statSync("/proc/thread-self/ns/net").ino, object);
}

function openLockFile(file: string, dir: string): number {
  try {
    ensureOwnDirectory(dir);
    return openOwnFile(file);
  } catch (err) {
    if (err instanceof FileRefusedError)
      throw new CniError(ErrorCode.IoFailure, `lock ${err.path}: ${err.what}`, "", { cause: err });
    throw err;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Takes the flock on fd within the bound; code 11 naming the lock when it stays held. */
export async function lockWithin(fd: number, file: string, timeoutMs = lockTimeoutMs()): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Short sleeps first: most locks are held for milliseconds.
  for (let pause = 1; !tryLockExclusive(fd); pause = Math.min(pause * 2, 25)) {
    if (Date.now() >= deadline)
      throw new CniError(
        ErrorCode.TryAgainLater,
        `lock ${file}: still held by another call after ${timeoutMs / 1000} s`,
        "a plugin call on the same object is stuck or slow; retry later",
      );
    await sleep(pause);
  }
}

/** Runs body holding the object's host lock; waits at most timeoutMs (default 60 s, code 11 past it) without blocking the thread. */
export async function withHostLock<T>(object: string, body: () => Promise<T>, timeoutMs = lockTimeoutMs()): Promise<T> {
  const dir = lockDir(requestEnv("CNIKIT_LOCK_DIR"));
  const file = lockPath(object, dir);
  const fd = openLockFile(file, dir);
  trackFd(fd, true);
  try {
    await lockWithin(fd, file, timeoutMs);
    crashInLockHook(file);
    return await body();
  } finally {
    trackFd(fd, false);
    fs.closeSync(fd); // closing releases the flock
  }
}
