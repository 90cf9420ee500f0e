// Start-up: the cheapest possible plugin call (CNI_COMMAND=VERSION), so nearly all
// of the time is process start, runtime boot and module loading.
import * as path from "node:path";
import { type Netns, NetnsFixture } from "../netns-fixtures";
import { WARMED_UP, directExecDir } from "./lib/modes";
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
  const fixture = new NetnsFixture();
  try {
    // Every row runs through nsenter in a host namespace (the same cost for all), one of
    // which has a daemon: the resident row's.
    const residentHost = fixture.hostNetns();
    fixture.startDaemon(residentHost, WARMED_UP);
    const plainHost = fixture.hostNetns();
    const inHost = (host: Netns, argv: string[]) => ["nsenter", `--net=${host.path}`, ...argv];
    const variants = timeProcesses(
      [
        {
          label: "Go reference `/usr/lib/cni/bridge`",
          argv: inHost(plainHost, [path.join(context.goPluginDir, "bridge")]),
          env: nodeEnv(VERSION_CALL),
          baseline: true,
        },
        {
          label: "cnikit resident `dist/bin/bridge` (front end + daemon)",
          argv: inHost(residentHost, [path.join(context.distBin, "bridge")]),
          env: nodeEnv(VERSION_CALL),
        },
        {
          label: "cnikit standalone through the front end `dist/bin/bridge`",
          argv: inHost(plainHost, [path.join(context.distBin, "bridge")]),
          env: nodeEnv(VERSION_CALL),
        },
        {
          label: "cnikit standalone, direct exec of `dist/bin/cnikit` as bridge",
          argv: inHost(plainHost, [path.join(directExecDir(context.distBin), "bridge")]),
          env: nodeEnv(VERSION_CALL),
        },
        {
          label: "cnikit on Node `node dist/js/src/main.js`",
          argv: inHost(plainHost, [process.env.CNIKIT_BENCH_NODE ?? "node", nodeEntry]),
          env: nodeEnv({ ...VERSION_CALL, CNIKIT_AS: "bridge" }),
          note: "CNIKIT_AS=bridge, NODE_EXTRA_CA_CERTS unset",
        },
        {
          label: "floor: `nsenter` running a program that prints one string",
          argv: inHost(plainHost, ["/bin/echo", "supportedVersions"]),
          env: nodeEnv(),
          note: "what every row pays for nsenter and a process start",
        },
        {
          label: "floor: `node -e` printing one string",
          argv: inHost(plainHost, [
            process.env.CNIKIT_BENCH_NODE ?? "node",
            "-e",
            'process.stdout.write("supportedVersions")',
          ]),
          env: nodeEnv(),
          note: "Node start-up alone, NODE_EXTRA_CA_CERTS unset",
        },
      ].map((variant) => ({ ...variant, input: CONFIG, check: checkVersionAnswer })),
      context,
    );
    return {
      title: "Start-up: `CNI_COMMAND=VERSION`",
      description:
        'Wall time of one plugin process answering `VERSION` (config `{"cniVersion":"1.0.0"}` on stdin), ' +
        "spawned with `spawnSync` from the harness, variants interleaved run by run, every answer checked. " +
        "All variants get the same minimal environment (`PATH` and the `CNI_*` variables), so `NODE_EXTRA_CA_CERTS` " +
        "is unset for the Node run (it adds about 40 ms to every `node` start on these machines). " +
        "Every row runs through `nsenter` in a throwaway host namespace; the resident row's has a `cnikit daemon`.",
      variants,
      notes: ["The `node -e` row prints a fixed string and exits: the least any Node entry point can cost here."],
    };
  } finally {
    fixture.cleanup();
  }
}

export const benchmark: Benchmark = { id: "startup", run };
