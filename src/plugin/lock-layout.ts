// Where the plugins' host locks live, written once: the plugins, the lab (which removes a
// host's lock files with its namespace) and the test fixtures all derive names from here.
// Node built-ins only, so netns-fixtures may import it (it is a layout, not a codec).
import * as path from "node:path";

export const DEFAULT_LOCK_DIR = "/run/cnikit/locks";

/** The lock directory: the value of `CNIKIT_LOCK_DIR` when set (tests), else /run/cnikit/locks. */
export function lockDir(cnikitLockDir: string | undefined): string {
  return cnikitLockDir || DEFAULT_LOCK_DIR;
}

/** `<netns inode>-<object>.lock`, the object's characters outside [A-Za-z0-9_.-] as `_`. */
export function lockFileName(netnsInode: number, object: string): string {
  return `${netnsInode}-${object.replace(/[^A-Za-z0-9_.-]/g, "_")}.lock`;
}

export function lockFilePath(lockDir: string, netnsInode: number, object: string): string {
  return path.join(lockDir, lockFileName(netnsInode, object));
}

/** Whether a file of the lock directory belongs to the host namespace with this inode. */
export function isLockFileOf(name: string, netnsInode: number): boolean {
  return name.startsWith(`${netnsInode}-`);
}

/**
 * Attachments lock one of this many stripe files (by a digest of the attachment), so
 * that the set of lock files stays bounded however many attachments come and go (lock
 * files are never removed: see test/hardening/README.md). Two attachments that share a
 * stripe only wait for each other.
 */
export const ATTACHMENT_LOCK_STRIPES = 64;
export const ATTACHMENT_LOCK_PREFIX = "attachment-";

/**
 * The host lock that guards a bridge and what hangs off it (ports, vxlan-overlay's VTEP and
 * its entries): the plugins' ADD and GC and the overlay agent take it.
 */
export function bridgeLockName(bridgeName: string): string {
  return `bridge-${bridgeName}`;
}
