// The daemon's fixed pool of worker threads, supervised from the main thread. A worker
// keeps its request's state in a shared slot (src/daemon/slot.ts) and tells us when a
// request ends; a request past its time limit (looked for on a timer), or whose worker
// crashed, is answered here with a CNI error (code 11) and the worker replaced.
// Exactly one side answers: the slot's first word arbitrates.
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { CniError, ErrorCode } from "../cni/errors";
import { native } from "../../native";
import { type MainMessage, type WorkerData, type WorkerMessage, acceptOrderLayout } from "./messages";
import { WARMED_WORKERS } from "./jit";
import { encodeAnswer } from "./protocol";
import { RequestSlot, Slot } from "./slot";

export interface PoolEvents {
  message(message: WorkerMessage, worker: number): void;
  /** A worker was replaced (crash or time limit); `reason` says which. */
  replaced(worker: number, reason: string): void;
}

export interface PoolOptions {
  size: number;
  /** Bound, not yet listening: the daemon listens once the pool is ready, then calls serve(). */
  listenFd: number;
  /** ADD/DEL pairs each of the first WARMED_WORKERS workers runs before it is ready. */
  warmUpPairs: number;
  buildId: string;
  limitMs: number;
  bodyTimeoutMs: number;
  events: PoolEvents;
}

interface Member {
  index: number;
  worker: Worker;
  slot: RequestSlot;
  /** Fds to close once a replaced worker has really exited, besides those its slot lists. */
  openFds: Set<number>;
  retired: boolean;
  exited: Promise<void>;
}

/** The worker's entry: inside the compiled executable entry points are named from src/. */
function workerEntry(): string {
  const compiled = (process.argv[1] ?? "").startsWith("/$bunfs/");
  return compiled ? "./daemon/worker.ts" : path.join(__dirname, "worker.js");
}

export class WorkerPool {
  private readonly members: Member[] = [];
  private stopped = false;
  private serving = false;
  private readyCount = 0;
  private readyWaiters: Array<() => void> = [];
  private readonly servedCounter = new SharedArrayBuffer(4);
  private readonly acceptOrder: SharedArrayBuffer;
  /** One per worker index, kept by its replacements (see unixAccept's wakeFd). */
  private readonly wakeFds: number[];
  private readonly limitTimer: NodeJS.Timeout;

  constructor(private readonly options: PoolOptions) {
    this.acceptOrder = new SharedArrayBuffer(4 * acceptOrderLayout.words(options.size));
    this.wakeFds = Array.from({ length: options.size }, () => native().wakeFdCreate());
    for (let index = 0; index < options.size; index++) this.members.push(this.spawn(index, true));
    // Looked for, not armed per request: a timer per request meant a message per request.
    this.limitTimer = setInterval(() => this.enforceLimit(), Math.min(1000, Math.max(50, options.limitMs / 20)));
  }

  private enforceLimit(): void {
    const now = Date.now();
    for (const member of this.members) {
      const request = member.slot.request();
      if (request && now - request.startedAt >= this.options.limitMs)
        this.takeOver(member, `it ran past the daemon's limit of ${this.options.limitMs} ms`);
    }
  }

  get size(): number {
    return this.options.size;
  }

  /** Requests answered by a worker so far (exact: counted before each answer is sent). */
  get served(): number {
    return Atomics.load(new Int32Array(this.servedCounter), 0);
  }

  get inFlight(): number {
    return this.members.filter((member) => member.slot.state === Slot.Busy).length;
  }

  /** Resolves once every first-generation worker has loaded the plugins (and warmed up). */
  ready(): Promise<void> {
    if (this.readyCount >= this.options.size) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** The socket listens now: every worker starts taking connections (replacements do at once). */
  serve(): void {
    this.serving = true;
    for (const member of this.members) member.worker.postMessage({ kind: "serve" } satisfies MainMessage);
  }

  private spawn(index: number, firstGeneration = false): Member {
    const slot = RequestSlot.create();
    // A replaced worker may have died while accepting: its successor starts as not accepting.
    Atomics.store(new Int32Array(this.acceptOrder), acceptOrderLayout.accepting(index), 0);
    const data: WorkerData = {
      index,
      acceptOrder: this.acceptOrder,
      listenFd: this.options.listenFd,
      serving: this.serving,
      // A replacement serves at once (and a warm-up that crashed its worker is not run again).
      warmUpPairs: firstGeneration && index < WARMED_WORKERS ? this.options.warmUpPairs : 0,
      wakeFds: this.wakeFds,
      slot: slot.buffer,
      served: this.servedCounter,
      buildId: this.options.buildId,
      limitMs: this.options.limitMs,
      bodyTimeoutMs: this.options.bodyTimeoutMs,
      allowedUid: process.getuid?.() ?? 0,
    };
    const worker = new Worker(workerEntry(), { workerData: data });
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    const member: Member = { index, worker, slot, openFds: new Set(), retired: false, exited };
    member.worker.on("message", (message: WorkerMessage) => this.onMessage(member, message));
    member.worker.on("error", (err) => this.takeOver(member, `its worker crashed: ${err.message}`));
    member.worker.on("exit", () => this.onExit(member));
    return member;
  }

  private onMessage(member: Member, message: WorkerMessage): void {
    switch (message.kind) {
      case "ready":
        this.readyCount += 1;
        if (this.readyCount >= this.options.size) for (const resolve of this.readyWaiters.splice(0)) resolve();
        break;
      case "fd":
        if (message.open) member.openFds.add(message.fd);
        else member.openFds.delete(message.fd);
        break;
      default:
        break;
    }
    this.options.events.message(message, member.index);
  }

  /** Answers the worker's request ourselves (when it has not), then replaces the worker. */
  private takeOver(member: Member, reason: string): void {
    if (member.retired) return;
    member.retired = true;
    const request = member.slot.request();
    if (request) {
      if (member.slot.claim(Slot.TakenOver)) {
        Atomics.add(new Int32Array(this.servedCounter), 0, 1);
        const error = new CniError(
          ErrorCode.TryAgainLater,
          `cnikit daemon: the request was stopped because ${reason}; its worker was replaced`,
        );
        try {
          native().sockWrite(request.fd, encodeAnswer(JSON.stringify(error.toJSON(request.errorVersion)), 1), 1000);
        } catch {
          // the caller is gone
        }
        // The fd itself is closed after the worker has exited: until then it may still touch it.
        native().shutdown(request.fd, 2);
        member.openFds.add(request.fd);
      }
    }
    this.options.events.replaced(member.index, reason);
    void member.worker.terminate();
    if (!this.stopped) this.members[member.index] = this.spawn(member.index);
  }

  private onExit(member: Member): void {
    // A worker that exits on its own outside a stop is a crash too: its request is answered.
    if (!member.retired && !this.stopped) this.takeOver(member, "its worker exited");
    for (const fd of [...member.slot.heldFds(), ...member.openFds]) {
      try {
        native().close(fd);
      } catch {
        // already closed
      }
    }
    member.openFds.clear();
  }

  /** Wakes every worker, waiting or accepting, so that each sees its stop message now (worker.ts). */
  private wakeAll(): void {
    const words = new Int32Array(this.acceptOrder);
    for (let index = 0; index < this.options.size; index++) {
      const turn = acceptOrderLayout.turn(this.options.size, index);
      Atomics.add(words, turn, 1);
      Atomics.notify(words, turn);
      native().wakeFdSignal(this.wakeFds[index] as number);
    }
  }

  /** Stops every worker once its request (if any) has ended, or after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearInterval(this.limitTimer);
    // Each worker finishes its request, takes no new one, and exits by itself.
    for (const member of this.members) member.worker.postMessage({ kind: "stop" } satisfies MainMessage);
    this.wakeAll();
    const allExited = Promise.all(this.members.map((member) => member.exited));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      allExited.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
    ]);
    clearTimeout(timer);
    if (!timedOut) return;
    for (const member of this.members) if (member.slot.request()) this.takeOver(member, "the daemon is stopping");
    for (const member of this.members) void member.worker.terminate();
  }
}
