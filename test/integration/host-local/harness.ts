// Runs host-local executables (ours or the Go reference) as a runtime does, in parallel
// when asked, against a temp data directory.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseJsonOutput, runChild } from "../../helpers/child-run";
import { distBin } from "../../helpers/exec";

export const ours = path.join(distBin, "host-local");
export const reference = "/usr/lib/cni/host-local";
export const hasReference = fs.existsSync(reference);

export interface Call {
  executable: string;
  command: "ADD" | "DEL" | "CHECK" | "STATUS" | "GC";
  config: unknown;
  containerId?: string;
  ifName?: string;
  cniArgs?: string;
}

export interface Exit {
  status: number | null;
  stdout: string;
  /** What the plugin logged: collected for a failing assertion's message, not printed. */
  stderr: string;
  json: Record<string, unknown> | undefined;
}

export async function callPlugin(call: Call): Promise<Exit> {
  const { status, stdout, stderr } = await runChild({
    file: call.executable,
    args: [],
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      CNI_COMMAND: call.command,
      CNI_CONTAINERID: call.containerId ?? "c1",
      CNI_NETNS: "/var/run/netns/unused",
      CNI_IFNAME: call.ifName ?? "eth0",
      CNI_PATH: path.dirname(call.executable),
      CNI_ARGS: call.cniArgs ?? "",
    },
    input: JSON.stringify(call.config),
  });
  return { status, stdout, stderr, json: parseJsonOutput(stdout) };
}

/** The first address of an ADD result, without its prefix length. */
export function firstAddress(exit: Exit): string {
  const ips = exit.json?.ips as Array<{ address: string }> | undefined;
  const address = ips?.[0]?.address;
  if (!address) throw new Error(`ADD failed: ${exit.stdout}`);
  return address.split("/")[0] ?? "";
}

/** The lease files of a network directory (names that are addresses). */
export function leaseFiles(networkDir: string): string[] {
  if (!fs.existsSync(networkDir)) return [];
  return fs
    .readdirSync(networkDir)
    .filter((name) => /^[0-9.]+$|:/.test(name))
    .sort();
}
