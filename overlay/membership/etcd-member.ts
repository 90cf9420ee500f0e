// A single-member etcd (Debian's etcd-server) started inside a network namespace, for
// labs and tests: it listens only on the given underlay address in that namespace.
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";

export interface EtcdMemberOptions {
  /** The namespace to run in (/run/netns/<name>). */
  netnsPath: string;
  /** Underlay address inside that namespace to listen on. */
  address: string;
  /** Data directory; kept across restart() and removed by stop({ removeData: true }). */
  dataDir: string;
  name?: string;
  clientPort?: number;
  peerPort?: number;
  etcdBinary?: string;
  /** Where etcd's own log goes (default: discarded). */
  logFile?: string;
  /** How long to wait for "ready to serve client requests" (ms). */
  readyTimeoutMs?: number;
  /**
   * Outlive this process (a lab's etcd): own session, log straight to `logFile`
   * (required), readiness read from that file. Stop it later with stopByPid.
   */
  detached?: boolean;
  /**
   * Serve clients over TLS only to holders of a certificate signed by `caFile`
   * (--client-cert-auth): `certFile`/`keyFile` are etcd's own, for its underlay address.
   * The peer URL stays plain: a single member has no peers.
   */
  tls?: { caFile: string; certFile: string; keyFile: string };
}

export class EtcdMember {
  readonly endpoint: string;
  private readonly options: EtcdMemberOptions;
  private child: ChildProcess | undefined;

  private constructor(options: EtcdMemberOptions) {
    this.options = options;
    const scheme = options.tls ? "https" : "http";
    this.endpoint = `${scheme}://${hostPart(options.address)}:${options.clientPort ?? 2379}`;
  }

  /** Starts the member and resolves once it serves clients. */
  static async start(options: EtcdMemberOptions): Promise<EtcdMember> {
    const member = new EtcdMember(options);
    await member.launch();
    return member;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private async launch(): Promise<void> {
    const { options } = this;
    const name = options.name ?? "cnikit-etcd";
    const host = hostPart(options.address);
    const peerUrl = `http://${host}:${options.peerPort ?? 2380}`;
    fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const args = [
      `--net=${options.netnsPath}`,
      options.etcdBinary ?? "etcd",
      `--name=${name}`,
      `--data-dir=${options.dataDir}`,
      `--listen-client-urls=${this.endpoint}`,
      `--advertise-client-urls=${this.endpoint}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${name}=${peerUrl}`,
      "--initial-cluster-state=new",
      ...(options.tls
        ? [
            `--cert-file=${options.tls.certFile}`,
            `--key-file=${options.tls.keyFile}`,
            `--trusted-ca-file=${options.tls.caFile}`,
            "--client-cert-auth",
          ]
        : []),
    ];
    if (options.detached) return this.launchDetached(args);
    const log = options.logFile ? fs.openSync(options.logFile, "a") : "ignore";
    const child = spawn("nsenter", args, { stdio: ["ignore", log, "pipe"] });
    if (typeof log === "number") fs.closeSync(log);
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let seen = "";
      const timeoutMs = options.readyTimeoutMs ?? 15_000;
      const settle = (err?: Error): void => {
        clearTimeout(timer);
        child.off("exit", onExit);
        child.off("error", onError);
        child.stderr?.off("data", onData);
        // Keep draining etcd's log so that it never blocks on a full pipe.
        child.stderr?.on("data", (chunk: Buffer) => options.logFile && fs.appendFileSync(options.logFile, chunk));
        if (err) {
          child.kill("SIGKILL");
          reject(err);
        } else resolve();
      };
      const onExit = (code: number | null, signal: string | null): void =>
        settle(new Error(`etcd exited at start (${signal ?? code}): ${seen.slice(-500)}`));
      const onError = (err: Error): void => settle(new Error(`cannot start etcd: ${err.message}`, { cause: err }));
      const onData = (chunk: Buffer): void => {
        const text = chunk.toString();
        if (options.logFile) fs.appendFileSync(options.logFile, text);
        if (seen.length < 64_000) seen += text;
        if (seen.includes("ready to serve client requests")) settle();
      };
      const timer = setTimeout(
        () => settle(new Error(`etcd in ${options.netnsPath} not ready after ${timeoutMs} ms: ${seen.slice(-500)}`)),
        timeoutMs,
      );
      child.once("exit", onExit);
      child.once("error", onError);
      child.stderr?.on("data", onData);
    });
  }

  private detachedPid: number | undefined;

  private async launchDetached(args: string[]): Promise<void> {
    const logFile = this.options.logFile;
    if (!logFile) throw new Error("a detached etcd needs a logFile");
    const start = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
    const log = fs.openSync(logFile, "a");
    const child = spawn("nsenter", args, { detached: true, stdio: ["ignore", log, log] });
    fs.closeSync(log);
    child.unref();
    this.detachedPid = child.pid;
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 15_000);
    for (;;) {
      const text = fs.readFileSync(logFile, "utf8").slice(start);
      if (text.includes("ready to serve client requests")) return;
      if (child.exitCode !== null || Date.now() > deadline) {
        if (child.pid) stopByPid(child.pid, "etcd");
        throw new Error(`etcd in ${this.options.netnsPath} did not become ready (see ${logFile}): ${text.slice(-300)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The detached member's pid, for stopByPid from another process. */
  get detachedProcessId(): number | undefined {
    return this.detachedPid;
  }

  /** Stops the member (SIGTERM, then SIGKILL after `graceMs`) and waits for it to be gone. */
  async stop(options: { removeData?: boolean; graceMs?: number } = {}): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), options.graceMs ?? 5_000);
      await exited;
      clearTimeout(timer);
    }
    if (options.removeData) fs.rmSync(this.options.dataDir, { recursive: true, force: true });
  }

  /** Stops and starts again on the same data: leases and keys survive. */
  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.launch();
  }
}

function hostPart(address: string): string {
  return net.isIPv6(address) ? `[${address}]` : address;
}

/**
 * Stops a process this project started in an earlier command (a lab's etcd or agent):
 * SIGTERM only when /proc/<pid>/cmdline still names `expected`, so a pid reused by an
 * unrelated process is never signalled. Returns whether it was running.
 */
export function stopByPid(pid: number, expected: string): boolean {
  let cmdline: string;
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return false;
  }
  if (!cmdline.includes(expected)) return false;
  try {
    process.kill(pid, "SIGTERM");
    return true;
  } catch {
    return false;
  }
}
