// Resident mode in labs: `lab up` starts a `cnikit daemon` in each host namespace (unless
// the topology says `daemon: false` or `--no-daemon`), so the lab's plugin calls go the
// way a node's would in production; `lab down` ends them by the pids recorded in the
// lab state, and `lab status` shows whether each still answers.
import * as fs from "node:fs";
import * as path from "node:path";
import { queryDaemonStatus, startDaemon, stopDaemon } from "../../daemon/control";
import { processAlive } from "../../process-alive";
import type { HostPlan } from "./plan";
import type { LabState } from "./state";

export interface LabDaemon {
  pid: number;
  logFile: string;
}

/** Whether `pid` is still a cnikit daemon (a recycled pid is somebody else's: left alone). */
function isOurDaemon(pid: number): boolean {
  try {
    return processAlive(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes("daemon");
  } catch {
    return false;
  }
}

export function startLabDaemons(state: LabState, progress: (line: string) => void): void {
  state.daemons ??= {};
  for (const host of state.plan.hosts) {
    const known = state.daemons[host.name];
    if (known && isOurDaemon(known.pid)) continue;
    const logFile = path.join(state.plan.stateDir, host.name, "daemon.log");
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    // No warm-up (src/daemon/jit.ts): a lab is up in about a second instead of 1.5 s more
    // per host, and its daemons compile their request path as they serve.
    const pid = startDaemon(host.netns, { logFile, extraArgs: ["--warm-up", "0"] });
    state.daemons[host.name] = { pid, logFile };
    progress(`+ daemon in ${host.name} (pid ${pid})`);
  }
}

export function stopLabDaemons(state: LabState, progress: (line: string) => void): void {
  for (const [hostName, daemon] of Object.entries(state.daemons ?? {})) {
    if (isOurDaemon(daemon.pid)) {
      stopDaemon(daemon.pid);
      progress(`- daemon in ${hostName} (pid ${daemon.pid}) stopped`);
    }
  }
  state.daemons = {};
}

export interface HostDaemonStatus {
  host: string;
  pid: number | null;
  answering: boolean;
  served: number | null;
}

export function labDaemonStatus(state: LabState, host: HostPlan): HostDaemonStatus {
  const recorded = state.daemons?.[host.name];
  let answering = false;
  let served: number | null = null;
  try {
    const status = queryDaemonStatus(host.netns);
    answering = status !== undefined;
    served = status?.served ?? null;
  } catch {
    answering = false;
  }
  return { host: host.name, pid: recorded?.pid ?? null, answering, served };
}
