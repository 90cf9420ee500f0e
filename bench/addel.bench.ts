// ADD and DEL latency of bridge + host-local, the whole plugin call as a runtime
// sees it: both processes (bridge execs host-local), kernel work and IPAM store.
import * as fs from "node:fs";
import { spawnSync } from "node:child_process";
import { NetnsFixture } from "../netns-fixtures";
import { type PluginCall, bridgeConfig, pluginArgv, pluginEnv, pluginsUnderTest, scratchDataDir } from "./lib/cni-env";
import { type ProcessVariant, expectExitZero, probeVariant, timeProcesses } from "./lib/timing";
import type { BenchContext, BenchSection, Benchmark } from "./lib/types";

function callOnce(call: PluginCall, input: string): void {
  const [file, ...args] = pluginArgv(call);
  expectExitZero(spawnSync(file ?? "nsenter", args, { env: pluginEnv(call), input, encoding: "utf8" }));
}

function run(context: BenchContext): BenchSection {
  const fixture = new NetnsFixture();
  const dataDirs: string[] = [];
  const skipped: string[] = [];
  try {
    const variants: ProcessVariant[] = [];
    for (const plugin of pluginsUnderTest(context)) {
      // Each implementation gets its own host, so their bridges never meet.
      const host = fixture.hostNetns();
      const container = fixture.containerNetns();
      const dataDir = scratchDataDir();
      dataDirs.push(dataDir);
      const input = bridgeConfig({ dataDir });
      const call = (command: PluginCall["command"]): PluginCall => ({
        plugin,
        command,
        hostNetnsPath: host.path,
        containerNetnsPath: container.path,
        containerId: "benchcontainer",
      });
      const add: ProcessVariant = {
        label: `${plugin.label}: ADD`,
        argv: pluginArgv(call("ADD")),
        env: pluginEnv(call("ADD")),
        input,
        baseline: plugin.baseline,
        group: "ADD",
        after: () => callOnce(call("DEL"), input),
      };
      const del: ProcessVariant = {
        label: `${plugin.label}: DEL`,
        argv: pluginArgv(call("DEL")),
        env: pluginEnv(call("DEL")),
        input,
        baseline: plugin.baseline,
        group: "DEL",
        before: () => callOnce(call("ADD"), input),
      };
      const failure = probeVariant(add);
      if (failure) {
        skipped.push(`Not measured: ${plugin.label} (ADD + DEL failed: \`${failure}\`).`);
        continue;
      }
      variants.push(add, del);
    }
    return {
      title: "ADD / DEL: bridge + host-local",
      description:
        "One `ADD` (then an untimed `DEL`), and one `DEL` of an attachment made by an untimed `ADD`, " +
        "as a runtime calls them: config on stdin, `CNI_*` in the environment, the bridge plugin executing " +
        "host-local from `CNI_PATH`. The plugin runs in a throwaway host namespace (through `nsenter`, " +
        "the same cost for every row) with a throwaway container namespace; config: `isGateway`, " +
        "subnet 10.88.0.0/24, host-local `dataDir` in a scratch directory. DEL rows are compared with the Go DEL.",
      variants: timeProcesses(variants, context),
      notes: skipped,
    };
  } finally {
    fixture.cleanup();
    for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const benchmark: Benchmark = { id: "addel", run };
