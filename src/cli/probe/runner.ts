// Runs a probe: an echo agent in every destination namespace, a send agent in every
// source namespace (all in parallel), each started as `cnikit netns exec NS -- cnikit
// probe-agent ...`, then collects what each source measured.
import { type ChildProcess, spawn } from "node:child_process";
import * as crypto from "node:crypto";
import { type Family, familyOfAddress } from "../../ip/cidr";
import { selfCommand } from "../self";
import { egressMtu } from "./egress";
import { HEADER_OVERHEAD, type ProbeTarget, type SendPlan, type TargetResult } from "./protocol";

export interface ProbeEndpoint {
  /** Label in the matrix (a container name, or the namespace name). */
  name: string;
  netns: string;
}

export interface ProbePair {
  from: ProbeEndpoint;
  to: ProbeEndpoint;
  /** Address of `to` that the datagrams go to. */
  address: string;
}

export interface ProbeOptions {
  pairs: ProbePair[];
  /** Fixed UDP port for the echo agents (default: any free one). */
  port?: number;
  rttCount: number;
  timeoutMs: number;
  /** Search the largest datagram that crosses (default on). */
  sizes: boolean;
}

export interface PairResult extends ProbePair {
  result: TargetResult;
}

function spawnAgent(netns: string, agentArgs: string[]): ChildProcess {
  const self = selfCommand();
  const [program, ...prefix] = self as [string, ...string[]];
  return spawn(program, [...prefix, "netns", "exec", netns, "--", ...self, "probe-agent", ...agentArgs], {
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** Collects a child's stdout and stderr until it exits. */
function finished(child: ChildProcess): Promise<{ status: number | null; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    child.on("error", (err) => resolve({ status: null, stdout, stderr: stderr + err.message }));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

interface EchoAgent {
  child: ChildProcess;
  done: ReturnType<typeof finished>;
  port: number;
}

/** Starts an echo agent and waits for its "ready <port>" line. */
async function startEcho(netns: string, family: Family, port: number): Promise<EchoAgent> {
  const child = spawnAgent(netns, ["echo", "--family", String(family), "--port", String(port)]);
  const done = finished(child);
  let seen = "";
  const boundPort = await new Promise<number>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      const ready = /ready (\d+)/.exec(seen);
      if (ready) resolve(Number(ready[1]));
    });
    void done.then((exit) =>
      reject(
        new Error(
          `probe agent in ${netns} stopped before it was ready: ${exit.stderr.trim() || `status ${exit.status}`}`,
        ),
      ),
    );
  });
  return { child, done, port: boundPort };
}

function targetFor(pair: ProbePair, port: number, options: ProbeOptions): ProbeTarget {
  let mtuPayload = 0;
  if (options.sizes) {
    const mtu = egressMtu(pair.from.netns, pair.address);
    if (mtu !== undefined) mtuPayload = mtu - HEADER_OVERHEAD[familyOfAddress(pair.address)];
  }
  return { address: pair.address, port, rttCount: options.rttCount, mtuPayload, timeoutMs: options.timeoutMs };
}

async function runSender(netns: string, plan: SendPlan): Promise<TargetResult[]> {
  const child = spawnAgent(netns, ["send"]);
  const done = finished(child);
  child.stdin?.end(JSON.stringify(plan));
  const exit = await done;
  if (exit.status !== 0)
    throw new Error(`probe agent in ${netns} failed: ${exit.stderr.trim() || `status ${exit.status}`}`);
  return JSON.parse(exit.stdout) as TargetResult[];
}

export async function runProbes(options: ProbeOptions): Promise<PairResult[]> {
  const echoes = new Map<string, EchoAgent>();
  const echoKey = (pair: ProbePair): string => `${familyOfAddress(pair.address)} ${pair.to.netns}`;
  try {
    for (const pair of options.pairs) {
      const key = echoKey(pair);
      if (!echoes.has(key))
        echoes.set(key, await startEcho(pair.to.netns, familyOfAddress(pair.address), options.port ?? 0));
    }
    const token = crypto.randomBytes(8).toString("hex");
    // One send agent per source namespace, each running its pairs in order.
    const bySource = new Map<string, number[]>();
    for (const [index, pair] of options.pairs.entries())
      bySource.set(pair.from.netns, [...(bySource.get(pair.from.netns) ?? []), index]);
    const results: PairResult[] = [];
    await Promise.all(
      [...bySource].map(async ([netns, indexes]) => {
        const pairs = indexes.map((index) => options.pairs[index] as ProbePair);
        const targets = pairs.map((pair) => targetFor(pair, echoes.get(echoKey(pair))?.port ?? 0, options));
        const measured = await runSender(netns, { token, targets });
        pairs.forEach((pair, position) => {
          const result = measured[position] ?? {
            address: pair.address,
            port: 0,
            sent: 0,
            received: 0,
            error: "the agent returned no result",
          };
          results[indexes[position] as number] = { ...pair, result };
        });
      }),
    );
    return results;
  } finally {
    for (const echo of echoes.values()) echo.child.stdin?.end();
    await Promise.all([...echoes.values()].map((echo) => echo.done));
  }
}
