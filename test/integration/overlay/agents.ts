// Overlay agents for integration tests: the compiled `cnikit overlay agent` run inside a
// host namespace with nsenter, its files in a per-test directory, its log kept.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { UnderlayHost } from "../../../netns-fixtures";
import { distBin } from "../../helpers/exec";

export const CNIKIT = path.join(distBin, "cnikit");

export interface AgentRun {
  host: UnderlayHost;
  endpoint: string;
  network: string;
  stateDir: string;
  ttl?: number;
  extraArgs?: string[];
}

export class AgentProcess {
  readonly peersFile: string;
  readonly subnetFile: string;
  log = "";
  private readonly child: ChildProcess;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(run: AgentRun) {
    const dir = path.join(run.stateDir, run.host.name);
    this.peersFile = path.join(dir, "peers.json");
    this.subnetFile = path.join(dir, "subnet.json");
    const args = [
      `--net=${run.host.path}`,
      CNIKIT,
      "overlay",
      "agent",
      "--etcd",
      run.endpoint,
      "--network",
      run.network,
      "--ttl",
      String(run.ttl ?? 2),
      "--peers-file",
      this.peersFile,
      "--subnet-file",
      this.subnetFile,
      ...(run.extraArgs ?? []),
    ];
    this.child = spawn("nsenter", args, { stdio: ["ignore", "ignore", "pipe"] });
    this.child.stderr?.on("data", (chunk: Buffer) => (this.log += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The peer addresses in the peersFile. */
  peers(): string[] | undefined {
    try {
      return (JSON.parse(fs.readFileSync(this.peersFile, "utf8")) as { address: string }[]).map((peer) => peer.address);
    } catch {
      return undefined;
    }
  }

  subnet(): { subnet?: string; mtu?: number; network?: string; hostId?: string } | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.subnetFile, "utf8")) as { subnet?: string; mtu?: number };
    } catch {
      return undefined;
    }
  }

  /** Sends `signal` and waits (at most `timeoutMs`) for the exit; SIGKILL after that. */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 5_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

/** Polls `condition` every 50 ms; resolves with the elapsed ms, rejects with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - started;
}

/** Runs `cnikit overlay <args>` inside `host` (a one-shot admin command). */
export function overlayCli(host: UnderlayHost, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync("nsenter", [`--net=${host.path}`, CNIKIT, "overlay", ...args], { encoding: "utf8", timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export const sameMembers = (peers: string[] | undefined, expected: string[]): boolean =>
  peers !== undefined && JSON.stringify([...peers].sort()) === JSON.stringify([...expected].sort());
