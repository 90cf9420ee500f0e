// Runs the compiled `cnikit` the way a person does, optionally from inside a namespace
// (nsenter --net only), and returns what it printed and its status.
import { spawnSync } from "node:child_process";
import * as path from "node:path";

/** The executable under test; CNIKIT_BIN points elsewhere (a private build) when set. */
export const cnikitBin = process.env.CNIKIT_BIN ?? path.join(__dirname, "..", "..", "..", "dist", "bin", "cnikit");

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Path of a namespace to run the CLI in (the "host" of a plugin test). */
  inNetns?: string;
  env?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
  /** The working directory to run it from (relative namespace paths resolve against it). */
  cwd?: string;
}

export function cnikit(args: readonly string[], options: CliOptions = {}): CliRun {
  const argv = options.inNetns ? ["nsenter", `--net=${options.inNetns}`, cnikitBin, ...args] : [cnikitBin, ...args];
  const [file, ...rest] = argv as [string, ...string[]];
  const result = spawnSync(file, rest, {
    encoding: "utf8",
    input: options.input ?? "",
    env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...options.env },
    timeout: options.timeoutMs ?? 60_000,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  if (result.error) throw new Error(`cnikit ${args.join(" ")}: ${result.error.message}`, { cause: result.error });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Fails with everything the CLI printed unless it exited 0; returns stdout. */
export function cnikitOk(args: readonly string[], options: CliOptions = {}): string {
  const run = cnikit(args, options);
  if (run.status !== 0) {
    throw new Error(`cnikit ${args.join(" ")} exited ${run.status}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  }
  return run.stdout;
}

/** A failed run printed exactly one line on stderr (a usage or runtime error), and no stack. */
export function expectOneLineFailure(run: CliRun): string {
  if (run.status === 0) throw new Error(`expected a failure, got status 0 and stdout ${run.stdout}`);
  const lines = run.stderr.trim().split("\n");
  if (lines.length !== 1 || run.stderr.includes("    at "))
    throw new Error(`expected one line on stderr, got:\n${run.stderr}`);
  return lines[0] ?? "";
}
