// Runs host-local executables (ours or the Go reference) as a runtime does, in parallel
// when asked, against a temp data directory.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
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
  json: Record<string, unknown> | undefined;
}

export function callPlugin(call: Call): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(call.executable, [], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        CNI_COMMAND: call.command,
        CNI_CONTAINERID: call.containerId ?? "c1",
        CNI_NETNS: "/var/run/netns/unused",
        CNI_IFNAME: call.ifName ?? "eth0",
        CNI_PATH: path.dirname(call.executable),
        CNI_ARGS: call.cniArgs ?? "",
      },
      stdio: ["pipe", "pipe", "inherit"],
    });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.on("error", reject);
    child.on("close", (status) => {
      const stdout = Buffer.concat(chunks).toString("utf8");
      let json: Record<string, unknown> | undefined;
      try {
        json = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ status, stdout, json });
    });
    child.stdin.end(JSON.stringify(call.config));
  });
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
