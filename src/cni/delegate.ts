// Delegation (a plugin running its IPAM plugin): executed from CNI_PATH with our own
// environment and the same stdin, as the spec says. When the file found there is this
// very executable and we know the plugin, it runs in-process through the same skel:
// same validation, same output, one process start saved.
import * as fs from "node:fs";
import type { Env } from "./env";
import { execPluginSync, findInPath, parsePluginResult, requireSuccess, type PluginExit } from "./exec";
import { writeAllSync } from "./process-io";
import { runSkel } from "./skel";
import type { PluginFuncs, Result } from "./types";
import type { CniCommand } from "./versions";

export interface DelegateOptions {
  /** Where to look for the plugin (CNI_PATH, split). */
  path: readonly string[];
  /** Changes to our environment for the delegate; undefined removes a variable. */
  env?: Env;
  /** Plugins this executable contains, by type. */
  inProcess?: Readonly<Record<string, () => PluginFuncs>>;
  /** The executable we are (tests override it); defaults to process.execPath. */
  selfExecutable?: string;
}

function sameFile(left: string, right: string): boolean {
  try {
    return fs.realpathSync(left) === fs.realpathSync(right);
  } catch {
    return false;
  }
}

async function runInProcess(funcs: PluginFuncs, pluginType: string, env: Env, stdinData: Buffer): Promise<PluginExit> {
  const stdout: string[] = [];
  const status = await runSkel(funcs, { name: pluginType }, {
    env,
    readStdin: () => stdinData,
    writeStdout: (text) => stdout.push(text),
    writeStderr: (text) => writeAllSync(2, text),
  });
  return { status, stdout: stdout.join(""), stderr: "" };
}

async function delegate(command: CniCommand, pluginType: string, stdinData: Buffer, options: DelegateOptions): Promise<string> {
  const file = findInPath(pluginType, options.path);
  const env: Env = { ...process.env, CNI_PATH: options.path.join(":"), ...options.env, CNI_COMMAND: command };
  const factory = options.inProcess?.[pluginType];
  const exit =
    factory && sameFile(file, options.selfExecutable ?? process.execPath)
      ? await runInProcess(factory(), pluginType, env, stdinData)
      : execPluginSync({ file, env, stdin: stdinData });
  return requireSuccess(exit);
}

/** Runs ADD on the delegate; its result, whatever version it printed, in the 1.1.0 shape. */
export async function delegateAdd(pluginType: string, stdinData: Buffer, options: DelegateOptions): Promise<Result> {
  const stdout = await delegate("ADD", pluginType, stdinData, options);
  return parsePluginResult(stdout, stdinData);
}

export async function delegateDel(pluginType: string, stdinData: Buffer, options: DelegateOptions): Promise<void> {
  await delegate("DEL", pluginType, stdinData, options);
}

export async function delegateCheck(pluginType: string, stdinData: Buffer, options: DelegateOptions): Promise<void> {
  await delegate("CHECK", pluginType, stdinData, options);
}

export async function delegateStatus(pluginType: string, stdinData: Buffer, options: DelegateOptions): Promise<void> {
  await delegate("STATUS", pluginType, stdinData, options);
}

export async function delegateGc(pluginType: string, stdinData: Buffer, options: DelegateOptions): Promise<void> {
  await delegate("GC", pluginType, stdinData, options);
}
