// A config that fails validation: the fastest error path, and what a typo in a
// network config costs. Both plugins must refuse it and name the field.
import * as fs from "node:fs";
import { NetnsFixture } from "../netns-fixtures";
import { bridgeConfig, pluginArgv, pluginEnv, pluginsUnderTest, scratchDataDir } from "./lib/cni-env";
import { type ProcessVariant, probeVariant, timeProcesses } from "./lib/timing";
import type { BenchContext, BenchSection, Benchmark } from "./lib/types";

function expectFieldRejected(result: { status: number | null; stdout: string; stderr: string }): void {
  if (result.status === 0 || !/"code"/.test(result.stdout) || !result.stdout.includes("mtu")) {
    throw new Error(`expected an error naming "mtu", got exit ${result.status}: ${result.stdout}${result.stderr}`);
  }
}

function run(context: BenchContext): BenchSection {
  const fixture = new NetnsFixture();
  const dataDir = scratchDataDir();
  const skipped: string[] = [];
  try {
    const host = fixture.hostNetns();
    const container = fixture.containerNetns();
    const input = bridgeConfig({ dataDir, extra: { mtu: "1500 bytes" } });
    const variants: ProcessVariant[] = [];
    for (const plugin of pluginsUnderTest(context)) {
      const call = {
        plugin,
        command: "ADD" as const,
        hostNetnsPath: host.path,
        containerNetnsPath: container.path,
        containerId: "benchinvalid",
      };
      const variant: ProcessVariant = {
        label: `${plugin.label}: ADD with \`"mtu": "1500 bytes"\``,
        argv: pluginArgv(call),
        env: pluginEnv(call),
        input,
        baseline: plugin.baseline,
        check: expectFieldRejected,
      };
      const failure = probeVariant(variant);
      if (failure) skipped.push(`Not measured: ${plugin.label} (did not reject the field: \`${failure}\`).`);
      else variants.push(variant);
    }
    return {
      title: "ADD with a config failing validation",
      description:
        '`ADD` with `"mtu": "1500 bytes"` (a string where an integer belongs); every run must exit non-zero ' +
        "with an error JSON naming `mtu`. Same namespaces and `nsenter` wrapping as the ADD / DEL benchmark.",
      variants: timeProcesses(variants, context),
      notes: skipped,
    };
  } finally {
    fixture.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export const benchmark: Benchmark = { id: "validation", run };
