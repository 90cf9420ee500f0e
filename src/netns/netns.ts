// Network namespace files: checking, opening, comparing, creating named ones.
// Nothing here switches the process's namespace; native code does that around single
// syscalls only.
import * as fs from "node:fs";
import * as path from "node:path";
import { isNativeError, native } from "../../native";
import { NetnsError } from "./errors";

/** statfs f_type of nsfs, the filesystem namespace files live on. */
export const NSFS_MAGIC = 0x6e736673;
/** Where named namespaces live (as `ip netns` keeps them); the one place this path is written. */
export const NETNS_RUN_DIR = "/run/netns";

/** A path or an already-open fd of a namespace file. */
export type NetnsRef = string | number;

/** The namespace this thread is in. Always the calling thread's own, never another process's. */
export function currentNetnsPath(): string {
  return "/proc/thread-self/ns/net";
}

/**
 * Throws a NetnsError unless `nsPath` names a namespace file: ENOENT when nothing is
 * there, ENOTNETNS for a regular file, a directory or anything not on nsfs.
 */
export function checkNetnsPath(nsPath: string): void {
  let type: number;
  try {
    type = fs.statfsSync(nsPath).type;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new NetnsError(
        { code: "ENOENT", path: nsPath, message: `network namespace ${nsPath} does not exist` },
        { cause: err },
      );
    }
    throw new NetnsError(
      { code: "EFAILED", path: nsPath, message: `cannot inspect network namespace ${nsPath}: ${String(code)}` },
      { cause: err },
    );
  }
  if (type !== NSFS_MAGIC) {
    throw new NetnsError({
      code: "ENOTNETNS",
      path: nsPath,
      message: `${nsPath} is not a network namespace (not an nsfs file)`,
    });
  }
}

/** Opens a namespace file read-only after checking it; close with `closeNetns`. */
export function openNetns(nsPath: string): number {
  checkNetnsPath(nsPath);
  try {
    return fs.openSync(nsPath, fs.constants.O_RDONLY);
  } catch (err) {
    throw new NetnsError(
      { code: "EFAILED", path: nsPath, message: `cannot open network namespace ${nsPath}` },
      { cause: err },
    );
  }
}

export function closeNetns(fd: number): void {
  fs.closeSync(fd);
}

function identity(ref: NetnsRef): { dev: number; ino: number } {
  const stat = typeof ref === "number" ? fs.fstatSync(ref) : fs.statSync(ref);
  return { dev: stat.dev, ino: stat.ino };
}

/**
 * True when both refer to the same namespace (same nsfs device and inode), e.g. to
 * refuse the host's own namespace given as a container's: `sameNetns(p, currentNetnsPath())`.
 */
export function sameNetns(a: NetnsRef, b: NetnsRef): boolean {
  if (typeof a === "string") checkNetnsPath(a);
  if (typeof b === "string") checkNetnsPath(b);
  const left = identity(a);
  const right = identity(b);
  return left.dev === right.dev && left.ino === right.ino;
}

/** Creates /run/netns/<name> as `ip netns add` does; EEXIST (a NativeError) if taken. */
export function createNamedNetns(name: string): string {
  return native().netnsCreate(NETNS_RUN_DIR, name);
}

/** Path of a named namespace (does not check that it exists). */
export function namedNetnsPath(name: string): string {
  return `${NETNS_RUN_DIR}/${name}`;
}

/**
 * A namespace argument as every command takes it: a bare name is /run/netns/<name>,
 * anything with a '/' is a path, a relative one resolved against `cwd` (the caller's
 * working directory: this module never reads it itself). Does not check the namespace.
 */
export function netnsPathOf(nameOrPath: string, cwd: string): string {
  return nameOrPath.includes("/") ? path.resolve(cwd, nameOrPath) : namedNetnsPath(nameOrPath);
}

/** Unmounts and removes a named namespace, by name or /run/netns path. Missing is not an error. */
export function deleteNamedNetns(nameOrPath: string): void {
  const nsPath = nameOrPath.includes("/") ? nameOrPath : namedNetnsPath(nameOrPath);
  try {
    native().netnsDelete(nsPath);
  } catch (err) {
    if (isNativeError(err) && err.code === "ENOENT") return;
    throw err;
  }
}
