// Running the built plugins the way a runtime does, but inside a throwaway "host"
// namespace (nsenter), asynchronously so that hundreds can run at once.
import * as path from "node:path";
import { parseJsonOutput, runChild } from "../helpers/child-run";
import { distBin } from "../helpers/exec";

export interface HostCall {
  /** The host namespace's path: the plugin runs inside it, never in the root namespace. */
  hostNetns: string;
  plugin: string;
  command: "ADD" | "DEL" | "CHECK" | "GC" | "STATUS" | "VERSION";
  containerId?: string;
  containerNetns?: string;
  ifName?: string;
  /** Serialised as stdin unless `stdin` is given. */
  config?: unknown;
  stdin?: string;
  /** Merged over the CNI_* variables; an `undefined` value removes that variable. */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  /** Where the plugins are (and CNI_PATH): the shipped build unless a test needs the test build's hooks. */
  binDir?: string;
}

export interface HostExit {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  json: Record<string, unknown> | undefined;
}

function callEnv(call: HostCall): Record<string, string> {
  const merged: Record<string, string | undefined> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId ?? "",
    CNI_NETNS: call.containerNetns ?? "",
    CNI_IFNAME: call.ifName ?? "eth0",
    CNI_PATH: call.binDir ?? distBin,
    ...call.env,
  };
  return Object.fromEntries(
    Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ""),
  );
}

/** One plugin process inside the host namespace; resolves when it has exited (never rejects on a failing plugin). */
export async function runInHost(call: HostCall): Promise<HostExit> {
  const exit = await runChild({
    file: "nsenter",
    args: [`--net=${call.hostNetns}`, path.join(call.binDir ?? distBin, call.plugin)],
    env: callEnv(call),
    input: call.stdin ?? JSON.stringify(call.config ?? {}),
    ...(call.timeoutMs !== undefined && { timeoutMs: call.timeoutMs }),
  });
  return { ...exit, json: parseJsonOutput(exit.stdout) };
}

/** Every address (without prefix length) of an ADD result. */
export function resultAddresses(exit: HostExit): string[] {
  const ips = (exit.json?.ips ?? []) as Array<{ address: string }>;
  return ips.map((ip) => ip.address.split("/")[0] ?? "");
}

/** A readable summary of failed exits for an assertion message. */
export function failures(exits: HostExit[]): string[] {
  return exits
    .filter((exit) => exit.status !== 0)
    .map((exit) => `${exit.status ?? exit.signal}: ${exit.stdout.trim()} ${exit.stderr.trim()}`.slice(0, 400));
}
