// What the queue process reports about itself (`<lab state dir>/impair-queue.json`): the
// store generation it has loaded, and per queue its reader's pid and packet counts.
import * as fs from "node:fs";
import * as path from "node:path";
import type { LabPlan } from "../plan";

export interface ServedQueueStatus {
  netns: string;
  ifName: string;
  queue: number;
  readerPid: number;
  packets: number;
  corrupted: number;
  /** Verdicts still to come (packets held for their delay). */
  held: number;
}

export interface QueueProcessStatus {
  pid: number;
  generation: number;
  updatedAt: string;
  queues: ServedQueueStatus[];
  /** The last problem met (a queue that could not be bound...). */
  error?: string;
}

export function queueStatusFile(plan: Pick<LabPlan, "stateDir">): string {
  return path.join(plan.stateDir, "impair-queue.json");
}

export function queueLogFile(plan: Pick<LabPlan, "stateDir">): string {
  return path.join(plan.stateDir, "impair-queue.log");
}

export function readQueueStatus(plan: Pick<LabPlan, "stateDir">): QueueProcessStatus | undefined {
  try {
    return JSON.parse(fs.readFileSync(queueStatusFile(plan), "utf8")) as QueueProcessStatus;
  } catch {
    return undefined;
  }
}

export function writeQueueStatus(plan: Pick<LabPlan, "stateDir">, status: QueueProcessStatus): void {
  const file = queueStatusFile(plan);
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(status, null, 2)}\n`);
  fs.renameSync(temporary, file);
}

/** The process `pid` is alive and runs `cnikit ... <subcommand>` (a reused pid is not ours). */
export function runsSubcommand(pid: number | undefined, subcommand: string, lab?: string): boolean {
  if (!pid) return false;
  let args: string[];
  try {
    args = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return false;
  }
  return args.includes(subcommand) && (lab === undefined || args.includes(lab));
}
