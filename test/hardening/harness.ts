// Running the built plugins the way a runtime does, but inside a throwaway "host"
// namespace (nsenter), asynchronously so that hundreds can run at once.
import { spawn } from "node:child_process";
import * as path from "node:path";
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
export function runInHost(call: HostCall): Promise<HostExit> {
  return new Promise((resolve, reject) => {
    const child = spawn("nsenter", [`--net=${call.hostNetns}`, path.join(call.binDir ?? distBin, call.plugin)], {
      env: callEnv(call),
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), call.timeoutMs ?? 60_000);
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    // A plugin that dies before reading stdin closes the pipe: that is its answer, not ours to fail on.
    child.stdin.on("error", () => undefined);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString("utf8");
      let json: Record<string, unknown> | undefined;
      try {
        json = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ status, signal, stdout, stderr: Buffer.concat(err).toString("utf8"), json });
    });
    child.stdin.end(call.stdin ?? JSON.stringify(call.config ?? {}));
  });
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
