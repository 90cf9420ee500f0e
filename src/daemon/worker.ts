// A daemon worker thread: accepts on the shared listening socket and serves one
// connection at a time, so a request waiting on a lock or a slow kernel call holds up
// only its own thread. Between accepts it returns to its event loop (a stop message).
import * as fs from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { native } from "../../native";
import { normalJit, reluctantJit } from "../plugin/jit";
import { WARMED_WORKERS } from "./jit";
import { type MainMessage, type WorkerData, type WorkerMessage, acceptOrderLayout } from "./messages";
import { SERVED_PLUGINS, servedPlugin } from "./plugins";
import { serveConnection } from "./serve";
import { RequestSlot } from "./slot";
import { warmUp } from "./warm-up";

/** How often the accepting worker looks up from accept (to collect garbage once idle). */
const ACCEPT_POLL_MS = 250;
/**
 * How long a worker that is not accepting sleeps when nothing wakes it: the worker below
 * it taking a call (handOver) and the daemon stopping (pool.ts) both do.
 */
const STAND_BY_MS = 2000;
const data = workerData as WorkerData;
const slot = new RequestSlot(data.slot);
const acceptOrder = new Int32Array(data.acceptOrder);
const post = (message: WorkerMessage): void => parentPort?.postMessage(message);
let stopping = false;
/** Whether the daemon listens yet ("serve"); before, accept would fail on the merely bound socket. */
let serving = data.serving;
/** During the warm-up, which ends by itself soon after a stop (it looks between calls). */
let warming = true;
let servedSinceGc = 0;
let lastServedAt = 0;

/** Requests after which an idle worker collects (one accept poll idle), and how long idle it waits otherwise. */
const GC_AFTER_REQUESTS = 64;
const GC_IDLE_MS = 5000;

/**
 * A full collection once the worker is idle after serving: without it the heap only
 * grows to the engine's next threshold (measured: RSS 65 MB after 100 requests, 95-108
 * MB from 5,000 to 40,000; with it 80 MB). Not after every request, though: calls a few
 * hundred ms apart (a node starting pods one by one, the benchmark's interleaved rows)
 * each paid a full collection, about 4 ms of CPU per request, and a call that came
 * during one went to a cold stand-in. So after 64 requests and one accept poll idle,
 * or after any and 5 s idle.
 */
function collectWhenIdle(): void {
  const idle = performance.now() - lastServedAt;
  if (servedSinceGc === 0 || idle < (servedSinceGc >= GC_AFTER_REQUESTS ? ACCEPT_POLL_MS : GC_IDLE_MS)) return;
  servedSinceGc = 0;
  // Not accepting while collecting: a call that comes now goes to the next worker.
  setAccepting(false);
  handOver();
  collectGarbage();
}

function collectGarbage(): void {
  const bun = (globalThis as { Bun?: { gc?: (force: boolean) => void } }).Bun;
  if (bun?.gc) bun.gc(true);
  else (globalThis as { gc?: () => void }).gc?.();
}

/** The inode of this thread's network namespace (setns is per thread). */
function threadNetnsInode(): number {
  return fs.statSync("/proc/thread-self/ns/net").ino;
}

parentPort?.on("message", (message: MainMessage) => {
  if (message.kind === "stop") {
    stopping = true;
    if (!serving && !warming) finish();
  }
  if (message.kind === "serve" && !serving && !stopping) {
    serving = true;
    if (!warming) acceptNext();
  }
});

/** Ends this thread by leaving its event loop empty (the main thread waits for our exit). */
function finish(): void {
  parentPort?.close();
}

/** Int32 word of worker `index`'s turn counter: bumped when the worker below it takes a call. */
const turnWord = (index: number): number => acceptOrderLayout.turn(data.wakeFds.length, index);

/**
 * Whether we take connections now. The lowest-numbered idle worker accepts and the
 * others wait for it to be busy, so a steady trickle of calls keeps landing on the same,
 * warm thread (JIT code and caches are per thread) instead of spreading over all of
 * them; a burst still uses every worker.
 */
function setAccepting(accepting: boolean): void {
  Atomics.store(acceptOrder, acceptOrderLayout.accepting(data.index), accepting ? 1 : 0);
}

/**
 * We took a call: the worker above us is woken to stand in, and only it (every idle
 * worker used to wake on every change, about 20 wake-ups per call with 8 workers).
 */
function handOver(): void {
  const next = data.index + 1;
  if (next >= data.wakeFds.length) return;
  Atomics.add(acceptOrder, turnWord(next), 1);
  Atomics.notify(acceptOrder, turnWord(next), 1);
}

function lowerWorkerAccepting(): boolean {
  for (let index = 0; index < data.index; index++)
    if (Atomics.load(acceptOrder, acceptOrderLayout.accepting(index)) === 1) return true;
  return false;
}

/**
 * Sends the higher workers that stood in for us while we were busy back to waiting: each
 * is woken out of its accept through its wake fd. (They used to poll for this every 5 ms:
 * measured, those wake-ups cost about 1.3 ms of CPU per request over all stand-ins, half
 * as much as the request itself, on a machine with 2 cores.)
 */
function recallStandIns(): void {
  for (let index = data.index + 1; index < data.wakeFds.length; index++)
    if (Atomics.load(acceptOrder, acceptOrderLayout.accepting(index)) === 1)
      native().wakeFdSignal(data.wakeFds[index] as number);
}

function acceptNext(): void {
  if (stopping) {
    setAccepting(false);
    finish();
    return;
  }
  const turn = Atomics.load(acceptOrder, turnWord(data.index));
  if (lowerWorkerAccepting()) {
    setAccepting(false);
    // Woken when the worker below us takes a call (handOver) or the daemon stops.
    Atomics.wait(acceptOrder, turnWord(data.index), turn, STAND_BY_MS);
    collectWhenIdle();
    setImmediate(acceptNext);
    return;
  }
  setAccepting(true);
  recallStandIns();
  let connection: ReturnType<ReturnType<typeof native>["unixAccept"]>;
  try {
    connection = native().unixAccept(data.listenFd, ACCEPT_POLL_MS, data.wakeFds[data.index]);
  } catch {
    // The listening socket was closed: the daemon is stopping.
    setAccepting(false);
    finish();
    return;
  }
  if (!connection) {
    collectWhenIdle();
    setImmediate(acceptNext);
    return;
  }
  setAccepting(false);
  handOver();
  serveConnection(connection, data, slot, post).finally(() => {
    servedSinceGc += 1;
    lastServedAt = performance.now();
    setImmediate(acceptNext);
  });
}

// The first workers serve every trickle of calls for days: the normal policy; the others,
// only bursts (src/daemon/jit.ts says why and what else).
if (data.index < WARMED_WORKERS) normalJit();
else reluctantJit();
// Load every plugin's code before the first request, not during it.
for (const name of SERVED_PLUGINS) servedPlugin(name);
const netnsBefore = threadNetnsInode();
void warmUp(data.warmUpPairs, data.index, () => stopping).then((report) => {
  if (threadNetnsInode() !== netnsBefore) {
    // Never serve from the wrong namespace: a crash, and the pool starts a new worker.
    setImmediate(() => {
      throw new Error("the warm-up left this worker thread in another network namespace");
    });
    return;
  }
  warming = false;
  // What the warm-up's calls left, before the first request instead of during one.
  if (report.calls > 0) collectGarbage();
  post({ kind: "ready", ...(report.calls > 0 || report.failed ? { warmUp: report } : {}) });
  if (stopping) finish();
  else if (serving) acceptNext();
});
