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

export function readAllStdinSync(): Buffer {
  try {
    return fs.readFileSync(0);
  } catch (err) {
    if (errnoCode(err) === "EBADF") return Buffer.alloc(0); // stdin closed: no config
    if (errnoCode(err) !== "EAGAIN") throw err;
  }
  // stdin is a non-blocking fd (some terminals and pipes): read it piece by piece.
  const chunks: Buffer[] = [];
  const chunk = Buffer.alloc(65536);
  for (;;) {
    try {
      const count = fs.readSync(0, chunk, 0, chunk.length, null);
      if (count === 0) return Buffer.concat(chunks);
      chunks.push(Buffer.from(chunk.subarray(0, count)));
    } catch (err) {
      if (errnoCode(err) !== "EAGAIN") throw err;
      pause(1);
    }
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
