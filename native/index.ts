// Typed loader for the native addon: the only file that touches the .node.
//
// The static relative require below is what lets `bun build --compile` embed the
// addon in the executable (a computed path would not be embedded). Bun extracts an
// embedded addon to $TMPDIR before loading it; where that fails (a noexec /tmp) we
// load the copy installed beside the executable.
import * as path from "node:path";
import { errnoCode } from "./errno";

export type NetnsTarget = string | number | null;

export interface NativeAddon {
  /** Opens a netlink socket inside `netns` (path or fd; null = current namespace). */
  netlinkOpen(netns: NetnsTarget, protocol: number): number;
  netlinkSend(fd: number, message: Buffer): number;
  /** Blocks until one datagram from the kernel arrives; returns all of it (anyone else's are dropped). */
  netlinkRecv(fd: number): Buffer;
  /** The port id the socket is bound to: the kernel's replies to us carry it as nlmsg_pid. */
  netlinkPortId(fd: number): number;
  close(fd: number): void;
  flock(fd: number, operation: number): void;
  /** One read() once fd is readable: an empty buffer at EOF, null when nothing came within timeoutMs. */
  readTimeout(fd: number, maxBytes: number, timeoutMs: number): Buffer | null;
  /** Opens `file` while inside `netns` (sysctls under /proc/sys/net bind at open time). */
  openAt(netns: NetnsTarget, file: string, flags: number): number;
  /** Creates /run/netns/<name> like `ip netns add`; returns its path. */
  /** A new named namespace `<dir>/<name>` (dir: src/netns's NETNS_RUN_DIR), as `ip netns add` makes it. */
  netnsCreate(dir: string, name: string): string;
  netnsDelete(nsPath: string): void;
  /** An fd of a new unnamed namespace (this thread stays where it is); it ends with its last fd. */
  netnsUnshare(): number;
  /** Moves this thread into fd's namespace; an fd of the one it left (enter it to go back, then close it). */
  netnsEnter(fd: number): number;
  /** Runs argv inside netns, waits, returns the exit status (128+signal if killed). */
  execInNetns(netns: NetnsTarget, argv: string[]): number;
  /** A NETLINK_ROUTE socket inside netns that joined each RTNLGRP_* group (numbers). */
  netlinkSubscribe(netns: NetnsTarget, groups: number[]): number;
  /** One datagram like netlinkRecv (the kernel's only), or null when none arrived within timeoutMs. */
  netlinkRecvTimeout(fd: number, timeoutMs: number): Buffer | null;

  // The resident daemon's sockets (native/cnikit_unix.c, src/daemon/PROTOCOL.md).
  /** A non-blocking listening socket on an abstract unix name (no leading NUL). */
  /** A listening socket on the abstract name; backlog -1: only bound (see unixStartListening). */
  unixListen(name: string, backlog: number): number;
  unixStartListening(fd: number, backlog: number): void;
  /** A connection and its caller's credentials, or null when none came within timeoutMs or wakeFd was signalled. */
  unixAccept(fd: number, timeoutMs: number, wakeFd?: number): PeerConnection | null;
  /**
   * Sends the datagram on a thread of its own and returns a socket that gets the ack's
   * errno (int32, 0: success) once the kernel acks; fd then belongs to that thread.
   */
  netlinkSendDetached(fd: number, datagram: Buffer): number;
  /** The index of the first of `fds` readable (or hung up) within timeoutMs, else -1. */
  pollReadable(fds: number[], timeoutMs: number): number;
  /** A non-blocking eventfd for unixAccept's wakeFd. */
  wakeFdCreate(): number;
  /** Wakes the unixAccept that waits on fd (or the next one to). */
  wakeFdSignal(fd: number): void;
  /** A connection to the abstract name of netns (null: ours). */
  unixConnect(name: string, timeoutMs: number, netns?: NetnsTarget): number;
  /** Exactly `length` bytes, fewer only at EOF; ETIMEDOUT past timeoutMs. */
  sockRead(fd: number, length: number, timeoutMs: number): Buffer;
  /** All of `data`, or ETIMEDOUT/EPIPE; never raises SIGPIPE. */
  sockWrite(fd: number, data: Buffer, timeoutMs: number): number;
  shutdown(fd: number, how: 0 | 1 | 2): void;
  /** Enters netns on this thread and execv()s file: the same pid, the new image in netns. */
  execInNetnsReplace(netns: NetnsTarget, file: string, argv: string[], setEnv?: string[]): never;
  /** sd_notify(3) through $NOTIFY_SOCKET; false when there is none (not under systemd). */
  sdNotify(message: string): boolean;
}

export interface PeerConnection {
  fd: number;
  pid: number;
  uid: number;
  gid: number;
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

// flock(2) operations; we only ever take exclusive locks, and release them by closing the fd.
export const LOCK_EX = 2;
export const LOCK_NB = 4;

/** An exclusive flock without waiting: false when another open file holds it (the callers bound their own waits). */
export function tryLockExclusive(fd: number): boolean {
  try {
    native().flock(fd, LOCK_EX | LOCK_NB);
    return true;
  } catch (err) {
    if (isNativeError(err) && (err.code === "EWOULDBLOCK" || err.code === "EAGAIN")) return false;
    throw err;
  }
}

let addon: NativeAddon | undefined;

export function native(): NativeAddon {
  if (addon) return addon;
  let loaded: NativeAddon;
  try {
    loaded = require("./build/cnikit.node") as NativeAddon;
  } catch (embeddedError) {
    const besideExecutable = path.join(path.dirname(process.execPath), "cnikit.node");
    try {
      loaded = require(besideExecutable) as NativeAddon;
    } catch {
      throw new Error(`cannot load the native addon (also tried ${besideExecutable})`, { cause: embeddedError });
    }
  }
  addon = namingErrnos(loaded);
  return addon;
}

/** The addon throws errno numbers only; each error gets its name (`code`) here, from native/errno.ts. */
function namingErrnos(loaded: NativeAddon): NativeAddon {
  const named: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(loaded)) {
    if (typeof value !== "function") {
      named[key] = value;
      continue;
    }
    named[key] = (...args: unknown[]) => {
      try {
        return value(...args);
      } catch (err) {
        const raw = err as Partial<NativeError>;
        if (err instanceof Error && typeof raw.errno === "number" && raw.code === undefined) {
          raw.code = errnoCode(raw.errno);
        }
        throw err;
      }
    };
  }
  return named as unknown as NativeAddon;
}
