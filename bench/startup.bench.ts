// Start-up: the cheapest possible plugin call (CNI_COMMAND=VERSION), so nearly all
// of the time is process start, runtime boot and module loading.
import * as path from "node:path";
import { nodeEnv, timeProcesses } from "./lib/timing";
import type { BenchContext, BenchSection, Benchmark } from "./lib/types";

const VERSION_CALL = { CNI_COMMAND: "VERSION" };
const CONFIG = JSON.stringify({ cniVersion: "1.0.0" });

function checkVersionAnswer(result: { status: number | null; stdout: string; stderr: string }): void {
  if (result.status !== 0 || !result.stdout.includes("supportedVersions")) {
    throw new Error(`VERSION did not answer: exit ${result.status}: ${result.stdout}${result.stderr}`);
  }
}

async function run(context: BenchContext): Promise<BenchSection> {
  const nodeEntry = path.join(context.root, "dist", "js", "src", "main.js");
  const variants = timeProcesses(
    [
      {
        label: "Go reference `/usr/lib/cni/bridge`",
        argv: [path.join(context.goPluginDir, "bridge")],
        env: nodeEnv(VERSION_CALL),
        baseline: true,
      },
      { label: "cnikit compiled `dist/bin/bridge`", argv: [path.join(context.distBin, "bridge")], env: nodeEnv(VERSION_CALL) },
      {
        label: "cnikit on Node `node dist/js/src/main.js`",
        argv: [process.env.CNIKIT_BENCH_NODE ?? "node", nodeEntry],
        env: nodeEnv({ ...VERSION_CALL, CNIKIT_AS: "bridge" }),
        note: "CNIKIT_AS=bridge, NODE_EXTRA_CA_CERTS unset",
      },
      {
        label: "floor: `node -e` printing one string",
        argv: [process.env.CNIKIT_BENCH_NODE ?? "node", "-e", 'process.stdout.write("supportedVersions")'],
        env: nodeEnv(),
        note: "Node start-up alone, NODE_EXTRA_CA_CERTS unset",
      },
    ].map((variant) => ({ ...variant, input: CONFIG, check: checkVersionAnswer })),
    context,
  );
  return {
    title: "Start-up: `CNI_COMMAND=VERSION`",
    description:
      "Wall time of one plugin process answering `VERSION` (config `{\"cniVersion\":\"1.0.0\"}` on stdin), " +
      "spawned with `spawnSync` from the harness, variants interleaved run by run, every answer checked. " +
      "All variants get the same minimal environment (`PATH` and the `CNI_*` variables), so `NODE_EXTRA_CA_CERTS` " +
      "is unset for the Node run (it adds about 40 ms to every `node` start on these machines).",
    variants,
    notes: [
      "The `node -e` row prints a fixed string and exits: the least any Node entry point can cost here.",
    ],
  };
}

export const benchmark: Benchmark = { id: "startup", run };
