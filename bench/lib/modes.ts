// The ways a cnikit plugin can be called, each a row beside the Go plugin's:
// - resident: the front end hands the call to a `cnikit daemon` in the host namespace;
// - front end, no daemon: the front end execs the compiled executable (standalone);
// - direct exec: the plugin name links straight to the executable, as before resident
//   mode (a scratch directory of links, so CNI_PATH delegation finds us there too).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { NetnsFixture, Netns } from "../../netns-fixtures";
import { queryDaemonStatus } from "../../src/daemon/control";
import type { PluginUnderTest } from "./cni-env";
import { DEFAULT_WARM_UP_PAIRS } from "../../src/daemon/jit";

/** The daemon's own default warm-up, which the test fixtures turn off. */
export const WARMED_UP: readonly string[] = ["--warm-up", String(DEFAULT_WARM_UP_PAIRS)];

const PLUGIN_NAMES = ["bridge", "veth", "vxlan-overlay", "host-local"];
let directDirectory: string | undefined;

/** A directory whose plugin names link to the compiled executable itself (removed at exit). */
export function directExecDir(distBin: string): string {
  if (directDirectory) return directDirectory;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-bench-direct-"));
  for (const name of PLUGIN_NAMES) fs.symlinkSync(path.join(distBin, "cnikit"), path.join(dir, name));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  directDirectory = dir;
  return dir;
}

/** The three cnikit rows for `executable` (label names the plugin pair, e.g. "bridge + host-local"). */
export function cnikitModes(distBin: string, executable: string, what: string): PluginUnderTest[] {
  return [
    { label: `cnikit resident ${what}`, pluginDir: distBin, executable, resident: true },
    { label: `cnikit standalone through the front end ${what}`, pluginDir: distBin, executable },
    { label: `cnikit standalone, direct exec ${what}`, pluginDir: directExecDir(distBin), executable },
  ];
}

/** Starts the host's daemon when the plugin row is resident; its pid. */
export function prepareHost(fixture: NetnsFixture, plugin: PluginUnderTest, host: Netns): number | undefined {
  // As a node runs it: warmed up (the fixture's default, for tests, is none).
  return plugin.resident ? fixture.startDaemon(host, WARMED_UP) : undefined;
}

export interface DaemonSample {
  pid: number;
  host: Netns;
  cpuTicks: number;
  served: number;
}

function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime of every thread, 100 Hz ticks
}

/** Where a daemon stands before the timed runs (its start-up's CPU is not the calls'). */
export function sampleDaemon(pid: number, host: Netns): DaemonSample {
  return { pid, host, cpuTicks: cpuTicks(pid), served: queryDaemonStatus(host.path)?.served ?? 0 };
}

/** The daemon's CPU time per request since `before`, and its resident memory now, for the notes. */
export function daemonCost(before: DaemonSample): string {
  const requests = (queryDaemonStatus(before.host.path)?.served ?? 0) - before.served;
  const cpuMs = ((cpuTicks(before.pid) - before.cpuTicks) * 10) / Math.max(requests, 1);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${before.pid}/status`, "utf8"))?.[1]);
  return `daemon CPU ${cpuMs.toFixed(2)} ms per request (user + system of all its threads over the ${requests} requests of this section, 10 ms ticks), RSS ${(rssKb / 1024).toFixed(0)} MB afterwards`;
}
