// `cnikit lab impair-queue-reader` (hidden): the blocking half of the queue process. Its
// stdin is the queue's netlink socket (shared with the queue process, which sends the
// verdicts on it); every datagram read from it is written to stdout as a frame.
//
// It exists because the native addon's receive blocks: a process waiting in it could not
// also keep the timers of late verdicts, and a thread-pool read per socket would starve
// the pool. Its life is bound to the queue process three ways: started under
// `setpriv --pdeathsig KILL`, ended by it by pid, and a write to its closed pipe ends it.
import * as fs from "node:fs";
import { native } from "../../../../native";
import { encodeFrame } from "./frames";

function writeAll(fd: number, bytes: Buffer): void {
  let offset = 0;
  while (offset < bytes.length) offset += fs.writeSync(fd, bytes, offset);
}

export function runQueueReader(): void {
  for (;;) {
    let datagram: Buffer;
    try {
      datagram = native().netlinkRecv(0);
    } catch (err) {
      // ENOBUFS: the kernel could not hand us some packets (it dropped them); carry on.
      if ((err as { code?: string }).code === "ENOBUFS") continue;
      process.stderr.write(`cnikit impair-queue-reader: ${(err as Error).message}\n`);
      process.exit(1);
    }
    try {
      writeAll(1, encodeFrame(datagram));
    } catch {
      // The queue process is gone (EPIPE): nobody would answer these packets.
      process.exit(0);
    }
  }
}
