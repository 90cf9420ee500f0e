// The skel's I/O bound to this process: synchronous reads of fd 0 and writes to fd 1/2,
// because a plugin writes once and must not exit before its pipe has the bytes.
import * as fs from "node:fs";
import type { SkelIO } from "./skel";

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Sleeps without an event loop; used only while a non-blocking fd says EAGAIN. */
function pause(milliseconds: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, milliseconds);
}

export function writeAllSync(fd: number, text: string): void {
  const bytes = Buffer.from(text, "utf8");
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += fs.writeSync(fd, bytes, offset);
    } catch (err) {
      if (errnoCode(err) !== "EAGAIN") throw err;
      pause(1);
    }
  }
}

/** Bounds on stdin (README's error table): a network config is written at once and is small. */
export const STDIN_MAX_BYTES = 64 << 20;
export const STDIN_TIMEOUT_MS = 10_000;
const STDIN_TOO_SLOW = `stdin did not end within ${STDIN_TIMEOUT_MS / 1000} s (a network config is written at once)`;

function stdinTooLarge(maxBytes: number): string {
  return `stdin is larger than ${maxBytes >> 20} MiB (the bound for a network config)`;
}

/** One bounded read (the native addon's readTimeout); src/cni cannot load the addon itself. */
export type TimedRead = (fd: number, maxBytes: number, timeoutMs: number) => Buffer | null;
let timedRead: TimedRead | undefined;

/** Lets a socket as stdin, which cannot be reopened non-blocking, be read with a bound too (src/main.ts). */
export function useTimedRead(read: TimedRead): void {
  timedRead = read;
}

function readSocketBounded(read: TimedRead, maxBytes: number, deadline: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const left = deadline - Date.now();
    const chunk = left > 0 ? read(0, 65536, left) : null;
    if (chunk === null && Date.now() >= deadline) throw new Error(STDIN_TOO_SLOW);
    if (chunk === null) continue;
    if (chunk.length === 0) return Buffer.concat(chunks, total);
    total += chunk.length;
    if (total > maxBytes) throw new Error(stdinTooLarge(maxBytes));
    chunks.push(chunk);
  }
}

/**
 * A descriptor for stdin that cannot block: a pipe, FIFO or device reopened through
 * /proc with O_NONBLOCK (a new open file description, so the caller's fd 0 is left as
 * it is). A socket cannot be reopened that way: fd 0 itself, then.
 */
function nonBlockingStdin(): { fd: number; owned: boolean } {
  try {
    return { fd: fs.openSync("/proc/self/fd/0", fs.constants.O_RDONLY | fs.constants.O_NONBLOCK), owned: true };
  } catch {
    return { fd: 0, owned: false };
  }
}

function readStreamBounded(fd: number, maxBytes: number, deadline: number): Buffer {
  const chunks: Buffer[] = [];
  const chunk = Buffer.alloc(65536);
  let total = 0;
  for (;;) {
    try {
      const count = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (count === 0) return Buffer.concat(chunks, total);
      total += count;
      if (total > maxBytes) throw new Error(stdinTooLarge(maxBytes));
      chunks.push(Buffer.from(chunk.subarray(0, count)));
    } catch (err) {
      if (errnoCode(err) !== "EAGAIN") throw err;
      if (Date.now() > deadline) throw new Error(STDIN_TOO_SLOW);
      pause(1);
    }
  }
}

/** All of stdin, at most STDIN_MAX_BYTES and within STDIN_TIMEOUT_MS: /dev/zero or a writer that never closes ends in an error, not a hang. */
export function readAllStdinSync(maxBytes = STDIN_MAX_BYTES): Buffer {
  let stat: fs.Stats;
  try {
    stat = fs.fstatSync(0);
  } catch (err) {
    if (errnoCode(err) === "EBADF") return Buffer.alloc(0); // stdin closed: no config
    throw err;
  }
  if (stat.isFile()) {
    if (stat.size > maxBytes) throw new Error(stdinTooLarge(maxBytes));
    return readStreamBounded(0, maxBytes, Date.now() + STDIN_TIMEOUT_MS);
  }
  if (stat.isSocket() && timedRead) return readSocketBounded(timedRead, maxBytes, Date.now() + STDIN_TIMEOUT_MS);
  const { fd, owned } = nonBlockingStdin();
  try {
    return readStreamBounded(fd, maxBytes, Date.now() + STDIN_TIMEOUT_MS);
  } finally {
    if (owned) fs.closeSync(fd);
  }
}

export function processIO(): SkelIO {
  return {
    env: process.env,
    readStdin: readAllStdinSync,
    writeStdout: (text) => writeAllSync(1, text),
    writeStderr: (text) => writeAllSync(2, text),
  };
}
