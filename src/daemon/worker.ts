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

const data = workerData as WorkerData;
const slot = new Int32Array(data.slot);
const post = (message: WorkerMessage): void => parentPort?.postMessage(message);
let stopping = false;
let servedSinceGc = 0;

/**
 * A full collection once the worker has been idle for one accept poll after serving:
 * without it the heap only grows to the engine's next threshold (measured: RSS 65 MB
 * after 100 requests, 95-108 MB from 5,000 to 40,000; with it 80 MB), and doing it
 * while idle costs no request any latency.
 */
function collectWhenIdle(): void {
  if (servedSinceGc === 0) return;
  servedSinceGc = 0;
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

function acceptNext(): void {
  if (stopping) {
    finish();
    return;
  }
  let connection: ReturnType<ReturnType<typeof native>["unixAccept"]>;
  try {
    connection = native().unixAccept(data.listenFd, ACCEPT_POLL_MS);
  } catch {
    // The listening socket was closed: the daemon is stopping.
    finish();
    return;
  }
  if (!connection) {
    collectWhenIdle();
    setImmediate(acceptNext);
    return;
  }
  serveConnection(connection, data, slot, post).finally(() => {
    servedSinceGc += 1;
    setImmediate(acceptNext);
  });
}

normalJit();
// Load every plugin's code before the first request, not during it.
for (const name of SERVED_PLUGINS) servedPlugin(name);
post({ kind: "ready" });
acceptNext();
