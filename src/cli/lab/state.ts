// The lab state file (/run/cnikit/labs/<name>.json): written before `up` touches
// anything, so `down` from any shell knows what to remove even after a failed `up`.
import * as fs from "node:fs";
import * as path from "node:path";
import { CliError } from "../errors";
import { LAB_ROOT, type LabPlan, labStateFile } from "./plan";
import type { Topology } from "./topology";

export interface LabState {
  version: 1;
  createdAt: string;
  topology: Topology;
  plan: LabPlan;
  /** Addresses each container got, by label (`host/container`). */
  addresses: Record<string, string[]>;
  /** membership "etcd": the etcd member's and the agents' pids (overlay/membership/lab-membership). */
  membership?: import("../../../overlay/membership/lab-membership").LabMembershipState;
  /** Resident mode: each host's daemon, by host name (src/cli/lab/daemons.ts). */
  daemons?: Record<string, import("./daemons").LabDaemon>;
}

export function readLabState(name: string): LabState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(labStateFile(name), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as LabState;
  } catch (err) {
    throw new CliError(
      `lab state ${labStateFile(name)} is not JSON; remove it after removing the lab's namespaces by hand`,
      { cause: err },
    );
  }
}

/** Replaces the state file atomically (a crash never leaves half a file). */
export function writeLabState(state: LabState): void {
  fs.mkdirSync(LAB_ROOT, { recursive: true });
  const file = labStateFile(state.plan.name);
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(temporary, file);
}

export function removeLabState(plan: LabPlan): void {
  fs.rmSync(plan.stateDir, { recursive: true, force: true });
  fs.rmSync(plan.stateFile, { force: true });
}

export function listLabNames(): string[] {
  try {
    return fs
      .readdirSync(LAB_ROOT)
      .filter((file) => file.endsWith(".json"))
      .map((file) => path.basename(file, ".json"))
      .sort();
  } catch {
    return [];
  }
}

/** The lab a command without a name means: the only one that is up. */
export function resolveLabName(name: string | undefined): string {
  if (name) return name;
  const labs = listLabNames();
  if (labs.length === 1) return labs[0] as string;
  if (labs.length === 0) throw new CliError("no lab is up (cnikit lab up)");
  throw new CliError(`several labs are up (${labs.join(", ")}): name one`);
}

export function requireLabState(name: string | undefined): LabState {
  const resolved = resolveLabName(name);
  const state = readLabState(resolved);
  if (!state) throw new CliError(`lab ${resolved} is not up`);
  return state;
}
