// The network's lock: flock on `<dataDir>/<network>/lock`, the same file the Go
// reference locks, so that both plugins serialise on one network.
//
// Dependency exception: DESIGN.md forbids ipam/host-local to import native/. This one
// file does, because flock needs a syscall and the on-disk layout (a flock'ed lock
// file shared with the reference) leaves no alternative such as an O_EXCL lockfile.
import * as fs from "node:fs";
import * as path from "node:path";
import { tryLockExclusive } from "../../native";
import { CniError, ErrorCode } from "../../src/cni/errors";
import { trackFd } from "../../src/cni/request-context";
import { crashInLockHook, lockTimeoutHook } from "../../src/cni/test-hooks";
import { openLockFile } from "./files";

/** Longer than any session holds the network (ms), shorter than a runtime's own timeout. */
export const NETWORK_LOCK_TIMEOUT_MS = 60_000;

/**
 * Waits for the flock within a bound: LOCK_NB tries with sleeps growing to 25 ms. A sleep,
 * not a blocking flock, because host-local's session is synchronous (it runs in-process
 * inside a plugin's call): the bound is what keeps a held lock from hanging the call.
 */
export function lockWithin(fd: number, file: string, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let ms = 1; !tryLockExclusive(fd); ms = Math.min(ms * 2, 25)) {
    if (Date.now() >= deadline)
      throw new CniError(
        ErrorCode.TryAgainLater,
        `host-local: lock ${file}: still held by another call after ${timeoutMs / 1000} s`,
        "a call on the same network is stuck or slow; retry later",
      );
    Atomics.wait(pause, 0, 0, ms);
  }
}

/** Takes the network's lock (at most NETWORK_LOCK_TIMEOUT_MS, then code 11); the returned function releases it. */
export function lockNetworkDir(networkDir: string): () => void {
  const file = path.join(networkDir, "lock");
  const fd = openLockFile(file);
  trackFd(fd, true);
  const release = (): void => {
    trackFd(fd, false);
    fs.closeSync(fd);
  };
  try {
    lockWithin(fd, file, lockTimeoutHook() ?? NETWORK_LOCK_TIMEOUT_MS);
    crashInLockHook(file);
  } catch (err) {
    release();
    throw err;
  }
  // Closing the only descriptor releases the flock (also when the process dies).
  return release;
}
