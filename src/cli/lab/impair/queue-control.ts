// Starting, reloading and stopping a lab's queue process from the CLI. It runs in its own
// session (it outlives the command that started it), logs to the lab's state directory,
// and is always ended by the pid recorded in impair.json, after checking that the pid
// still runs `cnikit lab impair-queue` for this lab.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { CliError } from "../../errors";
import type { Progress } from "../kernel";
import type { LabPlan } from "../plan";
import { selfCommand } from "../../self";
import { queueLogFile, queueStatusFile, readQueueStatus, runsSubcommand } from "./queue-status";
import { type ImpairStore, queuedLinks, writeImpairStore } from "./store";

export const QUEUE_SUBCOMMAND = "impair-queue";
export const READER_SUBCOMMAND = "impair-queue-reader";
const READY_TIMEOUT_MS = 8000;
const STOP_TIMEOUT_MS = 3000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function queueProcessRunning(plan: LabPlan, store: ImpairStore): boolean {
  return runsSubcommand(store.queue?.pid, QUEUE_SUBCOMMAND, plan.name);
}

function logTail(plan: LabPlan): string {
  try {
    return fs.readFileSync(queueLogFile(plan), "utf8").trim().split("\n").slice(-2).join("; ");
  } catch {
    return "no log";
  }
}

async function waitForGeneration(plan: LabPlan, pid: number, generation: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const status = readQueueStatus(plan);
    if (status?.pid === pid && status.generation >= generation) {
      if (status.error && status.generation === generation)
        throw new CliError(`the queue process (pid ${pid}): ${status.error}`);
      return;
    }
    if (!runsSubcommand(pid, QUEUE_SUBCOMMAND))
      throw new CliError(`the queue process (pid ${pid}) ended: ${logTail(plan)}`);
    if (Date.now() > deadline)
      throw new CliError(
        `the queue process (pid ${pid}) did not load impairment generation ${generation} in ${READY_TIMEOUT_MS / 1000}s: ${logTail(plan)}`,
      );
    await sleep(20);
  }
}

function startQueueProcess(plan: LabPlan): number {
  fs.mkdirSync(plan.stateDir, { recursive: true });
  const log = fs.openSync(queueLogFile(plan), "a");
  const [command, ...prefix] = selfCommand();
  const child = spawn(command as string, [...prefix, "lab", QUEUE_SUBCOMMAND, "--lab", plan.name], {
    detached: true,
    stdio: ["ignore", log, log],
  });
  fs.closeSync(log);
  child.unref();
  if (!child.pid) throw new CliError("cannot start the queue process");
  return child.pid;
}

/**
 * Makes the queue process match the store: started when some link needs it, told to
 * reload after a change, stopped when no link needs it. Writes the store.
 */
export async function syncQueueProcess(plan: LabPlan, store: ImpairStore, progress: Progress): Promise<void> {
  store.generation++;
  if (queuedLinks(store).length === 0) {
    await stopQueueProcess(plan, store, progress);
    writeImpairStore(plan, store);
    return;
  }
  if (queueProcessRunning(plan, store) && store.queue) {
    writeImpairStore(plan, store);
    process.kill(store.queue.pid, "SIGHUP");
    await waitForGeneration(plan, store.queue.pid, store.generation);
    return;
  }
  // Written before the start, so the new process finds every link it is to serve.
  writeImpairStore(plan, store);
  const pid = startQueueProcess(plan);
  store.queue = { pid, startedAt: new Date().toISOString() };
  writeImpairStore(plan, store);
  await waitForGeneration(plan, pid, store.generation);
  progress(`+ queue process for lab ${plan.name} (pid ${pid})`);
}

async function gone(pid: number, subcommand: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (runsSubcommand(pid, subcommand)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** Ends the queue process (SIGTERM, then SIGKILL) and any reader of it still there, by pid. */
export async function stopQueueProcess(plan: LabPlan, store: ImpairStore, progress: Progress): Promise<void> {
  const readers = readQueueStatus(plan)?.queues.map((queue) => queue.readerPid) ?? [];
  const pid = store.queue?.pid;
  if (pid && runsSubcommand(pid, QUEUE_SUBCOMMAND, plan.name)) {
    process.kill(pid, "SIGTERM");
    if (!(await gone(pid, QUEUE_SUBCOMMAND, STOP_TIMEOUT_MS)) && runsSubcommand(pid, QUEUE_SUBCOMMAND, plan.name))
      process.kill(pid, "SIGKILL");
    progress(`- queue process for lab ${plan.name} (pid ${pid})`);
  }
  for (const reader of readers) {
    if (runsSubcommand(reader, READER_SUBCOMMAND)) process.kill(reader, "SIGKILL");
  }
  delete store.queue;
  fs.rmSync(queueStatusFile(plan), { force: true });
}
