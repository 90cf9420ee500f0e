// Wall time of a burst: 100 ADDs of bridge + host-local, at most 8 running at once, as a
// runtime starting many pods on one node does; then the 100 DELs the same way. Contention
// is the point: the shared bridge, host-local's store lock, the kernel's RTNL.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { NetnsFixture, type Netns, links } from "../netns-fixtures";
import { prepareHost } from "./lib/modes";
import {
  type PluginCall,
  type PluginUnderTest,
  bridgeConfig,
  pluginArgv,
  pluginEnv,
  pluginsUnderTest,
  scratchDataDir,
} from "./lib/cni-env";
import type { BenchContext, BenchSection, Benchmark, VariantResult } from "./lib/types";

const ATTACHMENTS = 100;
const CONCURRENCY = 8;
// A burst takes seconds; a handful of them is enough for a median.
const MAX_RUNS = 5;
const MAX_WARMUP = 1;

interface Testbed {
  plugin: PluginUnderTest;
  host: Netns;
  containers: Netns[];
  input: string;
  /** ADD's stdout per container, the prevResult its DEL gets (as a runtime passes it). */
  addOutputs: string[];
}

/** One plugin call; resolves to its stdout, rejects on a non-zero exit. */
function callPlugin(call: PluginCall, input: string): Promise<string> {
  const [file, ...args] = pluginArgv(call);
  return new Promise((resolve, reject) => {
    const child = spawn(file ?? "nsenter", args, { env: pluginEnv(call), stdio: ["pipe", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", reject);
    child.on("close", (status) => {
      const out = Buffer.concat(stdout).toString("utf8");
      if (status === 0) resolve(out);
      else
        reject(
          new Error(
            `${call.plugin.label} ${call.command} ${call.containerId}: exit ${String(status)}: ${out.slice(0, 300)} ${Buffer.concat(stderr).toString("utf8").slice(0, 300)}`,
          ),
        );
    });
    child.stdin.end(input);
  });
}

/** Runs task(0..count-1) with at most `concurrency` in flight; returns the wall time in ms. */
async function timePool(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function call(testbed: Testbed, command: PluginCall["command"], index: number): PluginCall {
  return {
    plugin: testbed.plugin,
    command,
    hostNetnsPath: testbed.host.path,
    containerNetnsPath: testbed.containers[index]?.path ?? "",
    containerId: `burst${index}`,
  };
}

function addBurst(testbed: Testbed): Promise<number> {
  return timePool(ATTACHMENTS, CONCURRENCY, async (index) => {
    testbed.addOutputs[index] = await callPlugin(call(testbed, "ADD", index), testbed.input);
  });
}

async function delBurst(testbed: Testbed): Promise<number> {
  const config = JSON.parse(testbed.input) as Record<string, unknown>;
  const elapsedMs = await timePool(ATTACHMENTS, CONCURRENCY, async (index) => {
    const prevResult: unknown = JSON.parse(testbed.addOutputs[index] ?? "{}");
    await callPlugin(call(testbed, "DEL", index), JSON.stringify({ ...config, prevResult }));
  });
  // A DEL that exits 0 and leaves its veth would make the next burst's numbers meaningless.
  const left = links(testbed.host).filter((link) => link.linkinfo?.info_kind === "veth");
  if (left.length > 0) throw new Error(`${testbed.plugin.label}: ${left.length} veths left after the DEL burst`);
  return elapsedMs;
}

async function run(context: BenchContext): Promise<BenchSection> {
  const fixture = new NetnsFixture();
  const dataDirs: string[] = [];
  try {
    const testbeds: Testbed[] = pluginsUnderTest(context).map((plugin) => {
      const dataDir = scratchDataDir();
      dataDirs.push(dataDir);
      const containers = Array.from({ length: ATTACHMENTS }, () => fixture.containerNetns());
      const host = fixture.hostNetns();
      prepareHost(fixture, plugin, host);
      return { plugin, host, containers, input: bridgeConfig({ dataDir }), addOutputs: [] };
    });
    const samples = testbeds.map(() => ({ add: [] as number[], del: [] as number[] }));
    const runs = Math.min(context.runs, MAX_RUNS);
    const warmup = Math.min(context.warmup, MAX_WARMUP);
    // Interleaved run by run, so drift in the machine's load hits every implementation alike.
    for (let round = 0; round < warmup + runs; round++) {
      for (const [index, testbed] of testbeds.entries()) {
        const addMs = await addBurst(testbed);
        const delMs = await delBurst(testbed);
        if (round < warmup) continue;
        samples[index]?.add.push(addMs);
        samples[index]?.del.push(delMs);
      }
    }
    const variants: VariantResult[] = testbeds.flatMap((testbed, index) => [
      {
        label: `${testbed.plugin.label}: ${ATTACHMENTS} ADDs`,
        samplesMs: samples[index]?.add ?? [],
        baseline: testbed.plugin.baseline,
        group: "ADD",
      },
      {
        label: `${testbed.plugin.label}: ${ATTACHMENTS} DELs`,
        samplesMs: samples[index]?.del ?? [],
        baseline: testbed.plugin.baseline,
        group: "DEL",
      },
    ]);
    return {
      title: `Burst: ${ATTACHMENTS} ADDs, then ${ATTACHMENTS} DELs, ${CONCURRENCY} at a time: bridge + host-local`,
      description:
        `Wall time from the first spawn to the last exit of ${ATTACHMENTS} \`ADD\`s into ${ATTACHMENTS} container ` +
        `namespaces on one bridge, at most ${CONCURRENCY} plugin processes at once, then of their ${ATTACHMENTS} ` +
        "`DEL`s (each with its ADD's result as `prevResult`) the same way. Same config and call as the ADD / DEL " +
        "section (`isGateway`, 10.88.0.0/24, scratch `dataDir`); each implementation has its own host namespace; " +
        `the bridge stays between bursts. ${runs} bursts per implementation after ${warmup} warm-up, interleaved.`,
      variants,
    };
  } finally {
    fixture.cleanup();
    for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const benchmark: Benchmark = { id: "bridge-burst", run };
