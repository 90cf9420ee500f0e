// Runs the built executable the way a runtime does: config on stdin, CNI_* in the environment.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { parseJsonOutput, runChild } from "./child-run";

export const distBin = path.join(__dirname, "..", "..", "dist", "bin");
/** The test build (scripts/build.sh): the same plugins with the crash and trace hooks of src/cni/test-hooks.ts. */
export const testBin = path.join(__dirname, "..", "..", "dist", "test-bin");

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
  /** Run inside this network namespace (a path, through nsenter) instead of ours. */
  netns?: string;
}

function pluginArgv(call: PluginCall): { file: string; args: string[]; env: NodeJS.ProcessEnv; input: string } {
  const binDir = call.binDir ?? distBin;
  const executable = path.join(binDir, call.plugin);
  return {
    file: call.netns ? "nsenter" : executable,
    args: call.netns ? [`--net=${call.netns}`, executable] : [],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", CNI_COMMAND: call.command, CNI_PATH: binDir, ...call.env },
    input: call.stdin ?? JSON.stringify(call.config ?? {}),
  };
}

/** runPlugin without blocking, so that calls can overlap (parallel ADDs). */
export async function runPluginAsync(call: PluginCall): Promise<PluginRun> {
  const { status, stdout, stderr } = await runChild(pluginArgv(call));
  return { status, stdout, stderr, json: parseJsonOutput(stdout) };
}

export function runPlugin(call: PluginCall): PluginRun {
  const { file, args, env, input } = pluginArgv(call);
  const result = spawnSync(file, args, { input, env, encoding: "utf8", timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, json: parseJsonOutput(result.stdout) };
}
