// The last probe matrix of a lab, `<lab state dir>/probe.json`: `cnikit probe` on a lab
// writes it, `cnikit lab graph` colours its pairs by it. It lives in the state dir so
// that `lab down` removes it with the rest, and is replaced atomically so that a live
// graph page polling it never reads half a file.
import * as fs from "node:fs";
import * as path from "node:path";
import type { PairReport } from "../probe/report";
import type { LabPlan } from "./plan";

export interface LabProbeRecord {
  version: 1;
  lab: string;
  /** ISO time the probe finished. */
  probedAt: string;
  reports: PairReport[];
}

export function probeRecordFile(plan: Pick<LabPlan, "stateDir">): string {
  return path.join(plan.stateDir, "probe.json");
}

/** Keeps the reports between the lab's containers (a probe may mix in other endpoints). */
export function recordLabProbe(
  plan: Pick<LabPlan, "name" | "stateDir" | "containers">,
  reports: readonly PairReport[],
  now = new Date(),
): void {
  const labels = new Set(plan.containers.map((container) => container.label));
  const record: LabProbeRecord = {
    version: 1,
    lab: plan.name,
    probedAt: now.toISOString(),
    reports: reports.filter((report) => labels.has(report.from) && labels.has(report.to)),
  };
  // No state dir means the lab went down while we probed: nothing to record into.
  if (!fs.existsSync(plan.stateDir)) return;
  const file = probeRecordFile(plan);
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`);
  fs.renameSync(temporary, file);
}

export function readLabProbe(plan: Pick<LabPlan, "stateDir">): LabProbeRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(probeRecordFile(plan), "utf8")) as LabProbeRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read ${probeRecordFile(plan)}: ${(err as Error).message}`, { cause: err });
  }
}
