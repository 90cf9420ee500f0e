// Runs the built vxlan-overlay executable inside a host namespace (never in ours), as a
// runtime on that host would, and builds configs for a lab of hosts on one underlay.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runPluginAsync } from "../../helpers/exec";
import type { Netns, UnderlayHost } from "../../../netns-fixtures";
import { links } from "../../../netns-fixtures";

export const OVERLAY_SUBNET = "10.77.0.0/16";

export interface OverlayCall {
  host: Netns;
  command: "ADD" | "DEL" | "CHECK" | "STATUS" | "GC";
  config: Record<string, unknown>;
  container?: Netns;
  containerId?: string;
  ifName?: string;
}

export interface OverlayExit {
  status: number | null;
  stdout: string;
  stderr: string;
  json: Record<string, unknown> | undefined;
}

/** `nsenter --net=<host> dist/bin/vxlan-overlay` with CNI_* set and the config on stdin. */
export async function runOverlay(call: OverlayCall): Promise<OverlayExit> {
  const run = await runPluginAsync({
    plugin: "vxlan-overlay",
    command: call.command,
    netns: call.host.path,
    config: call.config,
    env: { CNI_CONTAINERID: call.containerId ?? "", CNI_NETNS: call.container?.path ?? "", CNI_IFNAME: call.ifName ?? "eth0" },
  });
  const json = typeof run.json === "object" && run.json !== null ? (run.json as Record<string, unknown>) : undefined;
  return { ...run, json };
}

/** ADD that must succeed; returns the container's overlay address (no prefix length). */
export async function addContainer(call: Omit<OverlayCall, "command">): Promise<{ address: string; result: Record<string, unknown> }> {
  const exit = await runOverlay({ ...call, command: "ADD" });
  const ips = exit.json?.ips as Array<{ address: string }> | undefined;
  const address = ips?.[0]?.address;
  if (exit.status !== 0 || !address) throw new Error(`ADD on ${call.host.name} failed (${exit.status}): ${exit.stdout} ${exit.stderr}`);
  return { address: address.split("/")[0] ?? "", result: exit.json ?? {} };
}

export interface LabConfigOptions {
  vni: number;
  /** Host index: picks the host's slice of the overlay subnet (10.77.<index+1>.0/24). */
  hostIndex: number;
  /** Per-host temp dir for host-local's leases. */
  dataDir: string;
  [extra: string]: unknown;
}

/** A network config for one host of the lab: the shared overlay, this host's IPAM slice. */
export function labConfig(options: LabConfigOptions): Record<string, unknown> {
  const { vni, hostIndex, dataDir, ...extra } = options;
  const slice = hostIndex + 1;
  return {
    cniVersion: "1.0.0",
    name: `overlay${vni}`,
    type: "vxlan-overlay",
    vni,
    ipam: {
      type: "host-local",
      dataDir,
      ranges: [[{ subnet: OVERLAY_SUBNET, rangeStart: `10.77.${slice}.10`, rangeEnd: `10.77.${slice}.250` }]],
    },
    ...extra,
  };
}

/** A temp directory per test file, removed by the returned function. */
export function tempDir(tag: string): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cnikit-${tag}-`));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function linkNamed(host: Netns | UnderlayHost, name: string) {
  return links(host).find((link) => link.ifname === name);
}

/** The VTEP's flood list (all-zeros MAC) as sorted remote addresses. */
export function floodDsts(entries: Array<{ mac: string; dst?: string }>): string[] {
  return entries
    .filter((entry) => entry.mac === "00:00:00:00:00:00" && entry.dst !== undefined)
    .map((entry) => entry.dst ?? "")
    .sort();
}
