// `cnikit daemon`: a long-lived process in one host network namespace that answers the
// plugin calls made there (through the front end, native/cnikit_front.c) from a pool of
// warm worker threads. Listens on an abstract unix socket, so there is no file to leave
// behind and a caller only ever reaches the daemon of its own namespace.
import { native } from "../../native";
import { netnsPathOf } from "../netns/netns";
import { BUILD_ID } from "./build-id";
import { DAEMON_JIT_ENV } from "./jit";
import type { WorkerMessage } from "./messages";
import { DaemonMetrics } from "./metrics";
import { WorkerPool } from "./pool";
import { SOCKET_NAME, encodeAnswer, encodeRefusal, Refusal } from "./protocol";
import { cleanStaleScratch } from "./warm-up";

export interface DaemonOptions {
  netns?: string;
  workers: number;
  requestTimeoutMs: number;
  stopTimeoutMs: number;
  /** How long a caller may take to send a whole request. */
  bodyTimeoutMs: number;
  metrics?: string;
  /** Test-only: pretend to be another build (the front end must then bypass us). */
  buildId?: string;
  /** ADD/DEL pairs each of the first workers runs before the daemon listens (warm-up.ts). */
  warmUpPairs: number;
}

/** Backlog: a burst of parallel ADDs queues here while every worker is busy. */
const BACKLOG = 1024;

function log(entry: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
}

/** The JIT settings the engine reads at start-up (jit.ts) that this process lacks. */
function missingJitEnv(): string[] {
  return Object.entries(DAEMON_JIT_ENV)
    .filter(([name]) => process.env[name] === undefined)
    .map(([name, value]) => `${name}=${value}`);
}

/**
 * Becomes this same process (same pid) inside `--netns NAME` (every thread) and with the
 * daemon's JIT settings in its environment, when either is missing. One exec at start-up.
 */
function reexecIfNeeded(netns: string | undefined): void {
  const jitEnv = missingJitEnv();
  if (!netns && jitEnv.length === 0) return;
  const args = process.argv.slice(2);
  if (netns) {
    const at = args.indexOf("--netns");
    if (at >= 0) args.splice(at, 2);
    else {
      const joined = args.findIndex((arg) => arg.startsWith("--netns="));
      if (joined >= 0) args.splice(joined, 1);
    }
  }
  const target = netns ? netnsPathOf(netns, process.cwd()) : null;
  native().execInNetnsReplace(target, process.execPath, [process.argv0, ...args], jitEnv.length ? jitEnv : undefined);
}

export async function runDaemon(options: DaemonOptions): Promise<void> {
  reexecIfNeeded(options.netns);
  const buildId = options.buildId ?? BUILD_ID;
  const startedAt = Date.now();
  let restarts = 0;
  // Bound (the name is ours: a second daemon here fails now), listening only once the
  // workers are ready and warm; until then callers are refused and run standalone.
  const listenFd = native().unixListen(SOCKET_NAME, -1);
  cleanStaleScratch();
  let pool: WorkerPool | undefined;
  const metrics = new DaemonMetrics(() => pool?.inFlight ?? 0);
  const statusJson = (): string =>
    JSON.stringify({
      build: buildId,
      pid: process.pid,
      workers: options.workers,
      served: pool?.served ?? 0,
      inFlight: pool?.inFlight ?? 0,
      workerRestarts: restarts,
      requestTimeoutMs: options.requestTimeoutMs,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    });
  const onMessage = (message: WorkerMessage, worker: number): void => {
    switch (message.kind) {
      case "ready":
        if (message.warmUp) log({ event: "warm-up", worker, ...message.warmUp });
        break;
      case "end": {
        metrics.requests.inc({ plugin: message.plugin, command: message.command, code: String(message.code) });
        metrics.latency.observe({ plugin: message.plugin, command: message.command }, message.durationMs / 1000);
        if (message.ipam) metrics.sawNetwork(message.ipam);
        const { kind: _kind, ipam: _ipam, durationMs, ...fields } = message;
        log({ event: "request", worker, ...fields, durationMs: Math.round(durationMs * 1000) / 1000 });
        break;
      }
      case "refused":
        metrics.refused.inc({ reason: "refused" });
        log({ event: "refused", worker, uid: message.uid, pid: message.pid, reason: message.reason });
        break;
      case "dropped":
        metrics.refused.inc({ reason: "dropped" });
        log({ event: "dropped", worker, pid: message.pid, reason: message.reason });
        break;
      case "status":
        try {
          native().sockWrite(message.fd, encodeAnswer(statusJson(), 0), 1000);
        } catch {
          // the asker is gone
        }
        native().close(message.fd);
        break;
      default:
        break;
    }
  };
  pool = new WorkerPool({
    size: options.workers,
    listenFd,
    buildId,
    limitMs: options.requestTimeoutMs,
    bodyTimeoutMs: options.bodyTimeoutMs,
    warmUpPairs: options.warmUpPairs,
    events: {
      message: onMessage,
      replaced: (worker, reason) => {
        restarts += 1;
        metrics.restarts.inc({ reason: reason.includes("limit") ? "time limit" : "crash" });
        log({ event: "worker replaced", worker, reason });
      },
    },
  });
  let server: { close(): void } | undefined;
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log({ event: "stopping", signal, inFlight: pool?.inFlight ?? 0 });
    native().sdNotify("STOPPING=1");
    // Workers take no new connection now; callers still queued are told to run
    // standalone (`N S`) while the requests in flight finish, then the socket goes.
    const draining = setInterval(() => drainBacklog(listenFd), 20);
    await pool?.stop(options.stopTimeoutMs);
    clearInterval(draining);
    drainBacklog(listenFd);
    native().close(listenFd);
    server?.close();
    log({ event: "stopped", served: pool?.served ?? 0 });
    process.exit(0);
  };
  // Before the warm-up: a stop during it ends it after the call in progress.
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  await pool.ready();
  if (stopping) return;
  native().unixStartListening(listenFd, BACKLOG);
  pool.serve();
  server = options.metrics ? await metrics.listen(options.metrics) : undefined;
  native().sdNotify("READY=1");
  log({
    event: "ready",
    build: buildId,
    pid: process.pid,
    workers: options.workers,
    socket: `@${SOCKET_NAME}`,
    metrics: options.metrics ?? null,
  });
}

/** Refuses (`N S`) whatever is still queued on the listening socket. */
function drainBacklog(listenFd: number): void {
  for (;;) {
    let connection: ReturnType<ReturnType<typeof native>["unixAccept"]>;
    try {
      connection = native().unixAccept(listenFd, 0);
    } catch {
      return;
    }
    if (!connection) return;
    try {
      native().sockWrite(connection.fd, encodeRefusal(Refusal.Stopping, "the daemon is stopping"), 200);
    } catch {
      // gone
    }
    native().close(connection.fd);
  }
}
