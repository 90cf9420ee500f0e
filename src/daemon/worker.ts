// A daemon worker thread: accepts on the shared listening socket and serves one
// connection at a time, so a request waiting on a lock or a slow kernel call holds up
// only its own thread. Between accepts it returns to its event loop (a stop message).
import { parentPort, workerData } from "node:worker_threads";
import { native } from "../../native";
import type { MainMessage, WorkerData, WorkerMessage } from "./messages";
import { normalJit } from "./jit";
import { SERVED_PLUGINS, servedPlugin } from "./plugins";
import { serveConnection } from "./serve";

/** How often an idle worker looks up from accept (stop messages wait at most this). */
const ACCEPT_POLL_MS = 250;
/**
 * Workers after the first poll briefly: while they poll, worker 0 may be idle again, and
 * two pollers share the next call at random. Looking up every 5 ms hands the calls back
 * to worker 0 within 5 ms (200 wake-ups a second only while worker 0 is busy).
 */
const STAND_IN_POLL_MS = 5;

const data = workerData as WorkerData;
const slot = new Int32Array(data.slot);
const acceptOrder = new Int32Array(data.acceptOrder);
const post = (message: WorkerMessage): void => parentPort?.postMessage(message);
let stopping = false;
let servedSinceGc = 0;
let lastServedAt = 0;

/**
 * A full collection once the worker has been idle for one accept poll after serving:
 * without it the heap only grows to the engine's next threshold (measured: RSS 65 MB
 * after 100 requests, 95-108 MB from 5,000 to 40,000; with it 80 MB), and doing it
 * while idle costs no request any latency.
 */
function collectWhenIdle(): void {
  if (servedSinceGc === 0 || performance.now() - lastServedAt < ACCEPT_POLL_MS) return;
  servedSinceGc = 0;
  // Not accepting while collecting: a call that comes now goes to the next worker.
  setAccepting(false);
  const bun = (globalThis as { Bun?: { gc?: (force: boolean) => void } }).Bun;
  if (bun?.gc) bun.gc(true);
  else (globalThis as { gc?: () => void }).gc?.();
}

parentPort?.on("message", (message: MainMessage) => {
  if (message.kind === "stop") stopping = true;
});

/** Ends this thread by leaving its event loop empty (the main thread waits for our exit). */
function finish(): void {
  parentPort?.close();
}

/**
 * Whether we take connections now. The lowest-numbered idle worker accepts and the
 * others wait for it to be busy, so a steady trickle of calls keeps landing on the same,
 * warm thread (JIT code and caches are per thread) instead of spreading over all of
 * them; a burst still uses every worker.
 */
function setAccepting(accepting: boolean): void {
  if (Atomics.exchange(acceptOrder, 1 + data.index, accepting ? 1 : 0) === (accepting ? 1 : 0)) return;
  Atomics.add(acceptOrder, 0, 1);
  Atomics.notify(acceptOrder, 0);
}

function lowerWorkerAccepting(): boolean {
  for (let index = 0; index < data.index; index++) if (Atomics.load(acceptOrder, 1 + index) === 1) return true;
  return false;
}

function acceptNext(): void {
  if (stopping) {
    setAccepting(false);
    finish();
    return;
  }
  const generation = Atomics.load(acceptOrder, 0);
  if (lowerWorkerAccepting()) {
    setAccepting(false);
    // Woken as soon as any worker starts or stops accepting.
    Atomics.wait(acceptOrder, 0, generation, ACCEPT_POLL_MS);
    collectWhenIdle();
    setImmediate(acceptNext);
    return;
  }
  setAccepting(true);
  let connection: ReturnType<ReturnType<typeof native>["unixAccept"]>;
  try {
    connection = native().unixAccept(data.listenFd, data.index === 0 ? ACCEPT_POLL_MS : STAND_IN_POLL_MS);
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
  serveConnection(connection, data, slot, post).finally(() => {
    servedSinceGc += 1;
    lastServedAt = performance.now();
    setImmediate(acceptNext);
  });
}

normalJit();
// Load every plugin's code before the first request, not during it.
for (const name of SERVED_PLUGINS) servedPlugin(name);
post({ kind: "ready" });
acceptNext();
