// Shared host objects (a bridge, a VTEP and its FDB) are changed under a per-object
// flock, because runtimes run plugins in parallel. The lock is scoped to the network
// namespace the plugin runs in (its inode), so labs with many "hosts" on one machine
// do not serialise on each other. A process killed while holding a flock releases it
// automatically, so a crash never blocks the next call.
import * as fs from "node:fs";
import * as path from "node:path";
import { LOCK_EX, native } from "../../native";
import { requestEnv, trackFd } from "../cni/request-context";
import { crashInLockHook } from "../cni/test-hooks";

function lockPath(object: string, lockDir: string): string {
  const netnsInode = fs.statSync("/proc/thread-self/ns/net").ino;
  return path.join(lockDir, `${netnsInode}-${object.replace(/[^A-Za-z0-9_.-]/g, "_")}.lock`);
}

export async function withHostLock<T>(object: string, body: () => Promise<T>): Promise<T> {
  const lockDir = requestEnv("CNIKIT_LOCK_DIR") ?? "/run/cnikit/locks";
  fs.mkdirSync(lockDir, { recursive: true, mode: 0o700 });
  const file = lockPath(object, lockDir);
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  trackFd(fd, true);
  try {
    native().flock(fd, LOCK_EX);
    crashInLockHook(file);
    return await body();
  } finally {
    trackFd(fd, false);
    fs.closeSync(fd); // closing releases the flock
  }
}
