// Runs the built executable the way a runtime does: config on stdin, CNI_* in the environment.
import { spawnSync } from "node:child_process";
import * as path from "node:path";

export const distBin = path.join(__dirname, "..", "..", "dist", "bin");

export interface PluginRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface PluginCall {
  plugin: string;
  command: string;
  config?: unknown;
  env?: Record<string, string>;
  /** Raw stdin, used instead of `config` (for malformed input). */
  stdin?: string;
  binDir?: string;
}

export function runPlugin(call: PluginCall): PluginRun {
  const binDir = call.binDir ?? distBin;
  const result = spawnSync(path.join(binDir, call.plugin), [], {
    input: call.stdin ?? JSON.stringify(call.config ?? {}),
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", CNI_COMMAND: call.command, CNI_PATH: binDir, ...call.env },
    encoding: "utf8",
    timeout: 60_000,
  });
  let json: unknown;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    json = undefined;
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, json };
}
