// Typed loader for the native addon: the only file that touches the .node.
//
// The static relative require below is what lets `bun build --compile` embed the
// addon in the executable (a computed path would not be embedded). Bun extracts an
// embedded addon to $TMPDIR before loading it; where that fails (a noexec /tmp) we
// load the copy installed beside the executable.
import * as path from "node:path";

export type NetnsTarget = string | number | null;

export interface NativeAddon {
  /** Opens a netlink socket inside `netns` (path or fd; null = current namespace). */
  netlinkOpen(netns: NetnsTarget, protocol: number): number;
  netlinkSend(fd: number, message: Buffer): number;
  /** Blocks until one datagram arrives; returns all of it. */
  netlinkRecv(fd: number): Buffer;
  close(fd: number): void;
  flock(fd: number, operation: number): void;
  /** Opens `file` while inside `netns` (sysctls under /proc/sys/net bind at open time). */
  openAt(netns: NetnsTarget, file: string, flags: number): number;
  /** Creates /run/netns/<name> like `ip netns add`; returns its path. */
  netnsCreate(name: string): string;
  netnsDelete(nsPath: string): void;
  /** Runs argv inside netns, waits, returns the exit status (128+signal if killed). */
  execInNetns(netns: NetnsTarget, argv: string[]): number;
}

/** An error thrown by the addon: a failed syscall with its errno. */
export interface NativeError extends Error {
  errno: number;
  code: string;
  syscall: string;
  path?: string;
}

export function isNativeError(err: unknown): err is NativeError {
  return err instanceof Error && typeof (err as Partial<NativeError>).errno === "number";
}

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

let addon: NativeAddon | undefined;

export function native(): NativeAddon {
  if (addon) return addon;
  try {
    addon = require("./build/cnikit.node") as NativeAddon;
  } catch (embeddedError) {
    const besideExecutable = path.join(path.dirname(process.execPath), "cnikit.node");
    try {
      addon = require(besideExecutable) as NativeAddon;
    } catch {
      throw new Error(`cannot load the native addon (also tried ${besideExecutable})`, { cause: embeddedError });
    }
  }
  return addon;
}
