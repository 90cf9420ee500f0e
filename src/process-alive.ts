// Whether a pid we recorded (a daemon, a trace's helper) still runs. A zombie (exited,
// not yet reaped by its parent) counts as gone; /proc tells, signal 0 alone does not.
import * as fs from "node:fs";

export function processAlive(pid: number): boolean {
  try {
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false; // no such process
  }
}
