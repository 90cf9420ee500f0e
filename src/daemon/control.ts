// Talking to a daemon from outside: its status (`cnikit daemon status`), and starting
// and stopping one in a namespace (labs, tests). Starting waits until it answers.
import * as childProcess from "node:child_process";
import * as fs from "node:fs";
import { native } from "../../native";
import { netnsPathOf } from "../netns/netns";
import { BUILD_ID } from "./build-id";
import { SOCKET_NAME, STATUS_MAGIC, decodeFrames, encodeHello } from "./protocol";
import { processAlive } from "../process-alive";

export interface DaemonStatus {
  build: string;
  pid: number;
  workers: number;
  served: number;
  inFlight: number;
  workerRestarts: number;
  requestTimeoutMs: number;
  uptimeSeconds: number;
}

const STATUS_TIMEOUT_MS = 2_000;

/** The status of the daemon of `netns` (a path or /run/netns name; undefined: ours), or undefined when none answers. */
export function queryDaemonStatus(netns?: string): DaemonStatus | undefined {
  const target = netns === undefined ? null : netnsPathOf(netns, process.cwd());
  let fd: number;
  try {
    fd = native().unixConnect(SOCKET_NAME, STATUS_TIMEOUT_MS, target);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ECONNREFUSED" || code === "ENOENT") return undefined;
    throw err;
  }
  try {
    native().sockWrite(fd, encodeHello(STATUS_MAGIC, BUILD_ID, 0, 0, 0), STATUS_TIMEOUT_MS);
    const chunks: Buffer[] = [];
    const deadline = Date.now() + STATUS_TIMEOUT_MS;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the daemon did not answer a status request within ${STATUS_TIMEOUT_MS} ms`);
      const chunk = native().sockRead(fd, 65536, left);
      chunks.push(chunk);
      if (chunk.length < 65536) break; // EOF: the daemon closes after the answer
    }
    const answer = decodeFrames(Buffer.concat(chunks));
    if (answer.status !== 0) throw new Error("the daemon's status answer was cut short");
    return JSON.parse(answer.stdout) as DaemonStatus;
  } finally {
    native().close(fd);
  }
}

export interface StartDaemonOptions {
  /** The compiled cnikit (default: this executable). */
  executable?: string;
  workers?: number;
  logFile?: string;
  extraArgs?: readonly string[];
  readyTimeoutMs?: number;
}

function sleep(milliseconds: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, milliseconds);
}

/** Starts `cnikit daemon --netns NETNS` detached and waits until it answers; its pid. */
export function startDaemon(netns: string, options: StartDaemonOptions = {}): number {
  const executable = options.executable ?? process.execPath;
  const args = [
    "daemon",
    "--netns",
    netns,
    ...(options.workers ? ["--workers", String(options.workers)] : []),
    ...(options.extraArgs ?? []),
  ];
  const log = options.logFile ? fs.openSync(options.logFile, "a") : "ignore";
  const child = childProcess.spawn(executable, args, {
    detached: true,
    stdio: ["ignore", "ignore", log],
    env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
  });
  if (typeof log === "number") fs.closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${executable} daemon`);
  const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
  while (Date.now() < deadline) {
    const status = queryDaemonStatus(netns);
    if (status?.pid === pid) return pid;
    if (!processAlive(pid))
      throw new Error(
        `cnikit daemon in ${netns} exited during start-up${options.logFile ? ` (see ${options.logFile})` : ""}`,
      );
    sleep(20);
  }
  stopDaemon(pid, 1000);
  throw new Error(`cnikit daemon in ${netns} did not answer within ${options.readyTimeoutMs ?? 10_000} ms`);
}

/** SIGTERM, then SIGKILL once `graceMs` has passed; returns when the process is gone. */
export function stopDaemon(pid: number, graceMs = 10_000): void {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (processAlive(pid) && Date.now() < deadline) sleep(10);
  if (processAlive(pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      return;
    }
    while (processAlive(pid)) sleep(10);
  }
}
