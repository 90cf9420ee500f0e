// `cnikit lab impair-queue --lab NAME` (hidden): the lab's queue process, for kernels
// without netem. For every link whose delay, jitter, reordering or corruption it carries
// it binds that link's NFQUEUE (in the link's namespace, through a netlink socket of
// NETLINK_NETFILTER), has a reader process pump the queued packets to it, and answers
// each packet late (or rewritten) as src/cli/lab/impair/packet-fate.ts decides.
//
// Started by `lab netem set` / `lab up`, which record its pid in the lab's impair.json;
// SIGHUP makes it reload that file. It ends on SIGTERM (`lab down`, `netem reset`), and
// by itself within a second once its lab is gone or names another queue process.
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import { NlmsgType } from "../../../netlink/codec/constants";
import { splitMessages } from "../../../netlink/codec/header";
import { NfnlSocket } from "../../../netlink/nfnetlink";
import { Verdict, bindQueue, decodeQueuedPacket, verdictMessage } from "../../../netlink/nfqueue";
import { namedNetnsPath } from "../../../netns/netns";
import { selfCommand } from "../../self";
import type { LabPlan } from "../plan";
import { requireLabState } from "../state";
import { FrameReader } from "./frames";
import { corruptByte, decideFate } from "./packet-fate";
import { writeQueueStatus, type ServedQueueStatus } from "./queue-status";
import type { LinkImpairment } from "./spec";
import { type LinkRecord, queuedLinks, readImpairStore } from "./store";

const COPY_RANGE = 0xffff;
/** Packets held per queue at most, as netem's default limit; the kernel drops beyond it. */
const QUEUE_MAX_LENGTH = 1000;
const WATCHDOG_MS = 1000;
/** The CLI records our pid just after starting us. */
const STARTUP_GRACE_MS = 5000;
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((file) => fs.existsSync(file));

interface ServedQueue {
  key: string;
  link: LinkRecord;
  impairment: LinkImpairment;
  socket: NfnlSocket;
  reader: ChildProcess;
  held: Map<NodeJS.Timeout, () => void>;
  packets: number;
  corrupted: number;
  stopping: boolean;
}

const keyOf = (link: LinkRecord): string => `${link.netns}#${link.queue}`;

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Binds the queue; a previous process's reader may hold it for a moment after that process ended. */
function bindWithRetry(socket: NfnlSocket, queue: number): void {
  const deadline = Date.now() + 3000;
  for (;;) {
    try {
      bindQueue(socket, { queue, copyRange: COPY_RANGE, maxLength: QUEUE_MAX_LENGTH });
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== "EBUSY" || Date.now() > deadline) throw err;
      sleepSync(50);
    }
  }
}

class QueueServer {
  private readonly served = new Map<string, ServedQueue>();
  private readonly startedAt = Date.now();
  private generation = -1;
  private lastError: string | undefined;
  private readonly plan: LabPlan;

  constructor(lab: string) {
    // The plan does not change while the lab is up; the watchdog checks that it still is.
    this.plan = requireLabState(lab).plan;
  }

  start(): void {
    process.on("SIGHUP", () => {
      try {
        this.reload();
      } catch (err) {
        this.lastError = `reload: ${(err as Error).message}`;
        log(this.lastError);
      }
    });
    process.on("SIGTERM", () => this.shutdown(0));
    process.on("SIGINT", () => this.shutdown(0));
    setInterval(() => this.watchdog(), WATCHDOG_MS);
    this.reload();
    log(`impair-queue for lab ${this.plan.name} started (pid ${process.pid})`);
  }

  /** Serves exactly the queued links of impair.json: new ones bound, gone ones released. */
  reload(): void {
    const store = readImpairStore(this.plan);
    if (!store) return this.shutdown(0);
    const wanted = new Map(queuedLinks(store).map((link) => [keyOf(link), link]));
    for (const [key, served] of this.served) if (!wanted.has(key)) this.release(served);
    for (const [key, link] of wanted) {
      const served = this.served.get(key);
      if (served) {
        served.impairment = link.impairment;
        continue;
      }
      try {
        this.serve(link);
      } catch (err) {
        this.lastError = `${link.target}: ${(err as Error).message}`;
        log(`cannot serve queue ${link.queue} of ${link.target}: ${(err as Error).message}`);
      }
    }
    this.generation = store.generation;
    this.report();
  }

  private serve(link: LinkRecord): void {
    const socket = NfnlSocket.at(namedNetnsPath(link.netns));
    try {
      bindWithRetry(socket, link.queue as number);
    } catch (err) {
      socket.close();
      throw err;
    }
    const readerArgv = [...selfCommand(), "lab", "impair-queue-reader", "--queue", `${link.netns}#${link.queue}`];
    const [command, ...args] = SETPRIV ? [SETPRIV, "--pdeathsig", "KILL", "--", ...readerArgv] : readerArgv;
    const reader = spawn(command as string, args, { stdio: [socket.fd, "pipe", "inherit"] });
    const served: ServedQueue = {
      key: keyOf(link),
      link,
      impairment: link.impairment,
      socket,
      reader,
      held: new Map(),
      packets: 0,
      corrupted: 0,
      stopping: false,
    };
    const frames = new FrameReader();
    reader.stdout?.on("data", (chunk: Buffer) => {
      for (const datagram of frames.push(chunk)) this.onDatagram(served, datagram);
    });
    reader.on("exit", (code, signal) => {
      if (served.stopping) return;
      this.lastError = `the reader of ${link.target} ended (${signal ?? code})`;
      log(this.lastError);
      this.release(served);
      this.report();
    });
    this.served.set(served.key, served);
    log(`serving queue ${link.queue} of ${link.target} (${link.netns}:${link.ifName}), reader pid ${reader.pid}`);
  }

  private onDatagram(served: ServedQueue, datagram: Buffer): void {
    for (const msg of splitMessages(datagram)) {
      const packet = decodeQueuedPacket(msg);
      if (!packet) {
        if (msg.type === NlmsgType.ERROR && msg.payload.length >= 4 && msg.payload.readInt32LE(0) !== 0)
          log(`kernel refused a verdict on ${served.link.target}: errno ${-msg.payload.readInt32LE(0)}`);
        continue;
      }
      served.packets++;
      const fate = decideFate(served.impairment, packet.payload, Math.random);
      const release = (): void => {
        const replacement =
          fate.corruptOffset === undefined ? undefined : corruptByte(packet.payload, fate.corruptOffset, Math.random);
        if (replacement) served.corrupted++;
        try {
          served.socket.sendRaw(
            served.socket.encode(verdictMessage(packet.queue, packet.id, Verdict.ACCEPT, replacement)),
          );
        } catch (err) {
          log(`verdict on ${served.link.target} failed: ${(err as Error).message}`);
        }
      };
      if (fate.delayMs <= 0) {
        release();
        continue;
      }
      const timer = setTimeout(() => {
        served.held.delete(timer);
        release();
      }, fate.delayMs);
      served.held.set(timer, release);
    }
  }

  /** Lets every held packet go now, ends the reader, closes the socket (the kernel unbinds the queue). */
  private release(served: ServedQueue): void {
    served.stopping = true;
    for (const [timer, release] of served.held) {
      clearTimeout(timer);
      release();
    }
    served.held.clear();
    if (served.reader.exitCode === null && served.reader.signalCode === null) served.reader.kill("SIGKILL");
    served.socket.close();
    this.served.delete(served.key);
    log(`released queue ${served.link.queue} of ${served.link.target}`);
  }

  private report(): void {
    const queues: ServedQueueStatus[] = [...this.served.values()].map((served) => ({
      netns: served.link.netns,
      ifName: served.link.ifName,
      queue: served.link.queue as number,
      readerPid: served.reader.pid ?? 0,
      packets: served.packets,
      corrupted: served.corrupted,
      held: served.held.size,
    }));
    try {
      writeQueueStatus(this.plan, {
        pid: process.pid,
        generation: this.generation,
        updatedAt: new Date().toISOString(),
        queues,
        ...(this.lastError && { error: this.lastError }),
      });
    } catch {
      // The lab's directory is being removed: the watchdog ends us.
    }
  }

  /** Ends us once the lab is down or another process serves it: nothing of ours outlives its lab. */
  private watchdog(): void {
    let store: ReturnType<typeof readImpairStore>;
    try {
      store = fs.existsSync(this.plan.stateFile) ? readImpairStore(this.plan) : undefined;
    } catch {
      store = undefined;
    }
    // Just started, the CLI may not have recorded our pid yet (an older one may still be there).
    const ours = store?.queue?.pid === process.pid || Date.now() - this.startedAt < STARTUP_GRACE_MS;
    const namespacesThere = [...this.served.values()].every((served) =>
      fs.existsSync(namedNetnsPath(served.link.netns)),
    );
    if (!store || !ours || !namespacesThere) {
      log("lab gone or served by another process: ending");
      this.shutdown(0);
      return;
    }
    this.report();
  }

  shutdown(code: number): void {
    for (const served of [...this.served.values()]) this.release(served);
    process.exit(code);
  }
}

export function runQueueServer(options: { lab: string }): void {
  new QueueServer(options.lab).start();
}
