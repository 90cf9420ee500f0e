// `cnikit lab events [--json] [NAME]`: every link, address, route, neighbour and FDB
// change in the lab's namespaces, one line each, until SIGINT/SIGTERM, --count or
// --timeout. The sockets are read without blocking between short sleeps, so signals
// and timers are served while we wait (one thread, no namespace switching).
import * as fs from "node:fs";
import { CliError } from "../errors";
import { writeProgress, writeStdout } from "../output";
import type { LabEvent } from "../events/event";
import { renderEvent } from "../events/render";
import { LabNetnsWatcher } from "../events/watcher";
import { requireLabState } from "./state";

export interface LabEventsOptions {
  json?: boolean;
  count?: string;
  timeout?: string;
}

/** Idle wait between rounds: the latency of an event, and of noticing a new namespace. */
const IDLE_MS = 20;

function positive(raw: string | undefined, name: string, integer: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value)))
    throw new CliError(`${name} must be a positive ${integer ? "integer" : "number"}, got ${JSON.stringify(raw)}`);
  return value;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function labEvents(name: string | undefined, options: LabEventsOptions): Promise<void> {
  const maxEvents = positive(options.count, "--count", true);
  const timeoutSeconds = positive(options.timeout, "--timeout", false);
  const state = requireLabState(name);
  let emitted = 0;
  let stopped = false;
  const stop = (): void => {
    stopped = true;
  };
  let nodeWidth = 0;
  const emit = (event: LabEvent): void => {
    if (stopped) return;
    try {
      writeStdout(options.json ? JSON.stringify(event) : renderEvent(event, nodeWidth));
    } catch (err) {
      // Whoever read us (| head) is gone: that ends the watch, not an error.
      if ((err as NodeJS.ErrnoException).code === "EPIPE") return stop();
      throw err;
    }
    emitted++;
    if (maxEvents !== undefined && emitted >= maxEvents) stop();
  };
  const watcher = new LabNetnsWatcher(state, emit, (line) => writeProgress(`cnikit: ${line}`));
  nodeWidth = watcher.nodeWidth;
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const timer = timeoutSeconds === undefined ? undefined : setTimeout(stop, timeoutSeconds * 1000);
  try {
    watcher.rescan(false);
    writeProgress(
      `lab ${state.plan.name}: watching ${watcher.count} namespaces${timeoutSeconds === undefined ? " (Ctrl-C stops)" : ` for ${timeoutSeconds}s`}`,
    );
    while (!stopped) {
      watcher.rescan(true);
      if (watcher.count === 0 && !fs.existsSync(state.plan.stateFile)) {
        writeProgress(`lab ${state.plan.name} is down`);
        break;
      }
      const busy = watcher.pollAll() > 0;
      // Yield to timers and signal handlers every round; sleep only when nothing came.
      await (busy ? new Promise<void>((resolve) => setImmediate(resolve)) : sleep(IDLE_MS));
    }
  } finally {
    if (timer) clearTimeout(timer);
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    watcher.closeAll();
  }
}
