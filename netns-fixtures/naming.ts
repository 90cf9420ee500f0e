// Per-run names, and the marker files that let a later run tell a dead run's
// namespaces from a live one's (another engineer's tests may be running right now).
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** Every fixture namespace name starts with `ck` + 5 base36 chars + `-`. */
export const FIXTURE_NAME_PATTERN = /^(ck[0-9a-z]{5}-)/;
export const MARKER_DIR = "/run/cnikit-fixtures";
/** Set by the vitest global setup so that every worker shares the run's prefix. */
export const PREFIX_ENV = "CNIKIT_FIXTURE_PREFIX";

export interface RunMarker {
  pid: number;
  /** /proc/<pid>/stat start time, so a recycled pid is not mistaken for the owner. */
  startTime: string;
}

let processPrefix: string | undefined;

/** The prefix of this run (shared with child processes through the environment). */
export function runPrefix(): string {
  if (processPrefix) return processPrefix;
  const inherited = process.env[PREFIX_ENV];
  if (inherited && FIXTURE_NAME_PATTERN.test(inherited) && fs.existsSync(markerPath(inherited))) {
    processPrefix = inherited;
    return processPrefix;
  }
  const suffix = Array.from(crypto.randomBytes(5), (byte) => (byte % 36).toString(36)).join("");
  processPrefix = `ck${suffix}-`;
  writeMarker(processPrefix, process.pid);
  return processPrefix;
}

/** This run's prefix if one exists yet; unlike runPrefix() it never makes one (nor a marker). */
export function existingRunPrefix(): string | undefined {
  return processPrefix ?? process.env[PREFIX_ENV];
}

export function markerPath(prefix: string): string {
  return path.join(MARKER_DIR, `${prefix.replace(/-$/, "")}.json`);
}

export function writeMarker(prefix: string, pid: number): void {
  fs.mkdirSync(MARKER_DIR, { recursive: true });
  const marker: RunMarker = { pid, startTime: processStartTime(pid) ?? "" };
  fs.writeFileSync(markerPath(prefix), JSON.stringify(marker));
}

export function readMarker(prefix: string): RunMarker | undefined {
  try {
    return JSON.parse(fs.readFileSync(markerPath(prefix), "utf8")) as RunMarker;
  } catch {
    return undefined;
  }
}

export function removeMarker(prefix: string): void {
  fs.rmSync(markerPath(prefix), { force: true });
}

/** Field 22 of /proc/<pid>/stat; undefined when the process is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces; fields after it are plain.
    const afterComm = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return afterComm[19];
  } catch {
    return undefined;
  }
}

export function isMarkerOwnerAlive(marker: RunMarker): boolean {
  const startTime = processStartTime(marker.pid);
  return startTime !== undefined && startTime === marker.startTime;
}
