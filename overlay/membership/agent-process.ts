// `cnikit overlay agent` as a child process inside a host namespace (nsenter), for tests
// and benchmarks: its files in a per-host directory, its log kept, stopped by its pid.
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface AgentRun {
  /** The compiled cnikit executable. */
  cnikit: string;
  /** The host namespace: `name` names the agent's directory under `stateDir`. */
  host: { name: string; path: string };
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
      run.cnikit,
      ...["overlay", "agent", "--etcd", run.endpoint, "--network", run.network, "--ttl", String(run.ttl ?? 2)],
      ...["--peers-file", this.peersFile, "--subnet-file", this.subnetFile],
      ...(run.extraArgs ?? []),
    ];
    this.child = spawn("nsenter", args, { stdio: ["ignore", "ignore", "pipe"] });
    this.child.stderr?.on("data", (chunk: Buffer) => (this.log += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  /** The agent's pid (nsenter execs it: the same process). */
  get pid(): number | undefined {
    return this.child.pid;
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
  async stop(
    signal: NodeJS.Signals = "SIGTERM",
    timeoutMs = 5_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}
