// ADD and DEL variants for a plugin + host-local pair, shared by the bridge and veth
// benchmarks: each implementation gets its own host and container namespace and its
// own scratch data dir; a timed ADD is undone by an untimed DEL and a timed DEL is
// prepared by an untimed ADD.
import * as fs from "node:fs";
import { spawnSync } from "node:child_process";
import { NetnsFixture } from "../../netns-fixtures";
import { type PluginCall, type PluginUnderTest, pluginArgv, pluginEnv, scratchDataDir } from "./cni-env";
import { type DaemonSample, daemonCost, prepareHost, sampleDaemon } from "./modes";
import { type ProcessVariant, expectExitZero, probeVariant, timeProcesses } from "./timing";
import type { BenchContext, VariantResult } from "./types";

export interface AddDelPlan {
  plugins: PluginUnderTest[];
  /** The network config on stdin, given the implementation's scratch data dir. */
  config: (dataDir: string) => string;
}

function callOnce(call: PluginCall, input: string): void {
  const [file, ...args] = pluginArgv(call);
  expectExitZero(spawnSync(file ?? "nsenter", args, { env: pluginEnv(call), input, encoding: "utf8" }));
}

/** Times ADD and DEL of every plugin that works; the others are named in `notes`. */
export function timeAddDel(context: BenchContext, plan: AddDelPlan): { variants: VariantResult[]; notes: string[] } {
  const fixture = new NetnsFixture();
  const dataDirs: string[] = [];
  const notes: string[] = [];
  try {
    const variants: ProcessVariant[] = [];
    const daemons: Array<{ pid: number; host: import("../../netns-fixtures").Netns }> = [];
    for (const plugin of plan.plugins) {
      // Each implementation gets its own host, so what they make on the host never meets.
      const host = fixture.hostNetns();
      const daemon = prepareHost(fixture, plugin, host);
      if (daemon !== undefined) daemons.push({ pid: daemon, host });
      const container = fixture.containerNetns();
      const dataDir = scratchDataDir();
      dataDirs.push(dataDir);
      const input = plan.config(dataDir);
      const call = (command: PluginCall["command"]): PluginCall => ({
        plugin,
        command,
        hostNetnsPath: host.path,
        containerNetnsPath: container.path,
        containerId: "benchcontainer",
      });
      // Each verb is timed alone: the other one runs untimed around it, so every run starts from the same state.
      const variant = (command: "ADD" | "DEL", around: Pick<ProcessVariant, "before" | "after">): ProcessVariant => ({
        label: `${plugin.label}: ${command}`,
        argv: pluginArgv(call(command)),
        env: pluginEnv(call(command)),
        input,
        baseline: plugin.baseline,
        group: command,
        ...around,
      });
      const add = variant("ADD", { after: () => callOnce(call("DEL"), input) });
      const del = variant("DEL", { before: () => callOnce(call("ADD"), input) });
      const failure = probeVariant(add);
      if (failure) {
        notes.push(`Not measured: ${plugin.label} (ADD + DEL failed: \`${failure}\`).`);
        continue;
      }
      variants.push(add, del);
    }
    const before: DaemonSample[] = daemons.map((daemon) => sampleDaemon(daemon.pid, daemon.host));
    const measured = timeProcesses(variants, context);
    for (const sample of before) notes.push(`Resident: ${daemonCost(sample)}.`);
    return { variants: measured, notes };
  } finally {
    fixture.cleanup();
    for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
  }
}
