// A helper process of a trace (agent, tracer, nft monitor): started with a hard time
// limit, its stdout collected as lines, waited for with a bound, and ended by its own pid.
import { type ChildProcess, spawn } from "node:child_process";

export interface TraceChild {
  readonly name: string;
  readonly child: ChildProcess;
  lines(): string[];
  stdoutText(): string;
  stderrText(): string;
  /** Resolves with the first line matching `pattern`, or undefined after timeoutMs or when it ends first. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string | undefined>;
  /** Closes its stdin (our agents and the tracer take that as "finish now"). */
  closeInput(): void;
  /** Sends `signal` unless it ended, then SIGKILL after graceMs; resolves when it has ended. */
  stop(signal: NodeJS.Signals, graceMs: number): Promise<void>;
  readonly ended: Promise<number | null>;
}

export function startChild(name: string, argv: readonly string[], limitMs: number): TraceChild {
  const [program, ...args] = argv as [string, ...string[]];
  const child = spawn(program, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const waiter of waiters) waiter();
  };
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stdout?.on("data", (text: string) => {
    stdout += text;
    wake();
  });
  child.stderr?.on("data", (text: string) => (stderr += text));
  // A failed write to a child that already ended is of no interest.
  child.stdin?.on("error", () => undefined);
  let done = false;
  const ended = new Promise<number | null>((resolve) => {
    child.on("error", (err) => {
      stderr += err.message;
      done = true;
      wake();
      resolve(null);
    });
    child.on("close", (status) => {
      done = true;
      wake();
      resolve(status);
    });
  });
  // The hard limit: whatever happens to us otherwise, it does not outlive this.
  const limit = setTimeout(() => child.kill("SIGKILL"), limitMs);
  limit.unref();
  void ended.then(() => clearTimeout(limit));
  const lines = (): string[] => stdout.split("\n").filter((line) => line.trim() !== "");
  return {
    name,
    child,
    lines,
    stdoutText: () => stdout,
    stderrText: () => stderr,
    ended,
    waitForLine(pattern, timeoutMs) {
      return new Promise((resolve) => {
        const check = (): void => {
          const line = lines().find((each) => pattern.test(each));
          if (line !== undefined || done) finish(line);
        };
        const timer = setTimeout(() => finish(undefined), timeoutMs);
        const finish = (line: string | undefined): void => {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(line);
        };
        waiters.add(check);
        check();
      });
    },
    closeInput() {
      child.stdin?.end();
    },
    async stop(signal, graceMs) {
      if (done) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await ended;
      clearTimeout(timer);
    },
  };
}
