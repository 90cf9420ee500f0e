// A child process fed its stdin and read to its exit, for the harnesses that run plugins
// without blocking (many at once): stdout and stderr collected, and a bound on how long it
// may run, so that a plugin that hangs fails its test instead of the whole run.
import { spawn } from "node:child_process";

export interface ChildSpec {
  file: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  input: string;
  /** Killed with SIGKILL past this; the default is the 60 s the synchronous runners give spawnSync. */
  timeoutMs?: number;
}

export interface ChildExit {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Resolves once the child has exited, whatever its status; rejects only when it could not be started. */
export function runChild(spec: ChildSpec): Promise<ChildExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(spec.file, spec.args, { env: spec.env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), spec.timeoutMs ?? 60_000);
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    // A plugin that exits before reading stdin closes the pipe: its exit is the answer, not ours to fail on.
    child.stdin.on("error", () => undefined);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({
        status,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
    child.stdin.end(spec.input);
  });
}

/** A plugin's stdout as the JSON object it should be, or undefined when it is empty or not JSON. */
export function parseJsonOutput(stdout: string): Record<string, unknown> | undefined {
  if (!stdout.trim()) return undefined;
  try {
    return JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
