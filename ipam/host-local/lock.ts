// The network's lock: flock on `<dataDir>/<network>/lock`, the same file the Go
// reference locks, so that both plugins serialise on one network.
//
// Dependency exception: DESIGN.md forbids ipam/host-local to import native/. This one
// file does, because flock needs a syscall and the on-disk layout (a flock'ed lock
// file shared with the reference) leaves no alternative such as an O_EXCL lockfile.
import * as fs from "node:fs";
import * as path from "node:path";
import { LOCK_EX, native } from "../../native";
import { trackFd } from "../../src/cni/request-context";
import { crashInLockHook } from "../../src/cni/test-hooks";
import { openLockFile } from "./files";

/** Blocks until the network's lock is ours; the returned function releases it. */
export function lockNetworkDir(networkDir: string): () => void {
  const file = path.join(networkDir, "lock");
  const fd = openLockFile(file);
  trackFd(fd, true);
  const release = (): void => {
    trackFd(fd, false);
    fs.closeSync(fd);
  };
  try {
    native().flock(fd, LOCK_EX);
    crashInLockHook(file);
  } catch (err) {
    release();
    throw err;
  }
  // Closing the only descriptor releases the flock (also when the process dies).
  return release;
}
