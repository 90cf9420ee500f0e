// Debian's tcpdump, run inside the target namespace through `nsenter --net` and
// `setpriv --pdeathsig` (each execs the next in place, so the pid we hold is tcpdump's
// own), writing pcap into a pipe we read. The parent-death signal ends it if we are
// killed: a tcpdump left behind would hold its namespace alive.
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CliError } from "../errors";

export interface TcpdumpSpec {
  netnsPath: string;
  ifName: string;
  count?: number;
  /** A pcap-filter expression, passed to tcpdump as one argument. */
  filter?: string;
  /** `-y`: e.g. LINUX_SLL2 on `-i any`, whose records carry the interface index. */
  dataLinkType?: string;
  /**
   * `-Z root`: no switch to the tcpdump user, which would clear the parent-death signal
   * (prctl(2): it is reset when the uid changes), so that it surely dies with us.
   */
  stayRoot?: boolean;
}

export interface TcpdumpStats {
  captured?: number;
  droppedByKernel?: number;
}

export interface TcpdumpRun {
  child: ChildProcess;
  /** true once tcpdump says it is listening (traffic sent now is seen); false if it ended first. */
  listening: Promise<boolean>;
  /** Resolves with its statistics when it exits 0; rejects with its error line otherwise. */
  exited: Promise<TcpdumpStats>;
}

const SEARCH_DIRS = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** Resolved here, in our own mount namespace: nsenter --net changes nothing else. */
export function findProgram(name: string, hint: string): string {
  const dirs = [...(process.env.PATH ?? "").split(":").filter(Boolean), ...SEARCH_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  throw new CliError(`capture needs ${name}, which is not installed (${hint})`);
}

export function tcpdumpArgv(spec: TcpdumpSpec): string[] {
  // -U: a pcap record is flushed as soon as it is written; --immediate-mode: the kernel hands
  // packets over at once instead of by the buffer-full (so a live summary is live).
  return [
    findProgram("nsenter", "apt-get install util-linux"),
    `--net=${spec.netnsPath}`,
    findProgram("setpriv", "apt-get install util-linux"),
    "--pdeathsig",
    "TERM",
    "--",
    findProgram("tcpdump", "apt-get install tcpdump"),
    "-i",
    spec.ifName,
    ...(spec.dataLinkType === undefined ? [] : ["-y", spec.dataLinkType]),
    ...(spec.stayRoot ? ["-Z", "root"] : []),
    "-n",
    "-U",
    "--immediate-mode",
    "-w",
    "-",
    ...(spec.count === undefined ? [] : ["-c", String(spec.count)]),
    ...(spec.filter ? ["--", spec.filter] : []),
  ];
}

function parseStats(lines: readonly string[]): TcpdumpStats {
  const stats: TcpdumpStats = {};
  for (const line of lines) {
    const captured = /^(\d+) packets? captured/.exec(line);
    if (captured) stats.captured = Number(captured[1]);
    const dropped = /^(\d+) packets? dropped by kernel/.exec(line);
    if (dropped) stats.droppedByKernel = Number(dropped[1]);
  }
  return stats;
}

export function startTcpdump(spec: TcpdumpSpec): TcpdumpRun {
  const [program, ...args] = tcpdumpArgv(spec) as [string, ...string[]];
  const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"] });
  const stderrLines: string[] = [];
  let markListening: (ready: boolean) => void = () => undefined;
  const listening = new Promise<boolean>((resolve) => {
    markListening = resolve;
  });
  let partial = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => {
    const lines = (partial + text).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      if (/listening on /.test(line)) markListening(true);
      else if (line.trim() !== "") stderrLines.push(line.trim());
    }
  });
  const exited = new Promise<TcpdumpStats>((resolve, reject) => {
    child.on("error", (err) => reject(new CliError(`capture: cannot start tcpdump: ${err.message}`, { cause: err })));
    child.on("close", (code, signal) => {
      if (partial.trim() !== "") stderrLines.push(partial.trim());
      markListening(false);
      // SIGPIPE: we stopped reading because whoever reads us (wireshark, head) is gone; that ends a capture too.
      if (code === 0 || signal === "SIGPIPE" || signal === "SIGINT") return resolve(parseStats(stderrLines));
      const why =
        stderrLines.filter((line) => !/^\d+ packets? /.test(line)).pop() ??
        (signal ? `killed by ${signal}` : `exit status ${code}`);
      reject(new CliError(`capture on ${spec.ifName}: ${why}`));
    });
  });
  return { child, listening, exited };
}
