// The pieces a benchmark needs to call a plugin the way a runtime does, inside
// throwaway namespaces (the plugin process itself runs in a host netns via nsenter,
// so nothing it does lands in the machine's root namespace).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cnikitModes } from "./modes";
import { nodeEnv } from "./timing";

export interface PluginUnderTest {
  label: string;
  /** Directory holding the plugin and `host-local` (becomes CNI_PATH). */
  pluginDir: string;
  /** The plugin's file name in pluginDir; default `bridge`. */
  executable?: string;
  baseline?: boolean;
  /** Resident mode: a `cnikit daemon` runs in the host namespace (./modes.ts). */
  resident?: boolean;
}

export function pluginsUnderTest(context: { distBin: string; goPluginDir: string }): PluginUnderTest[] {
  return [
    { label: "Go reference bridge + host-local", pluginDir: context.goPluginDir, baseline: true },
    ...cnikitModes(context.distBin, "bridge", "bridge + host-local"),
  ];
}

export interface PluginCall {
  plugin: PluginUnderTest;
  command: "ADD" | "DEL" | "CHECK";
  hostNetnsPath: string;
  containerNetnsPath: string;
  containerId: string;
}

export function pluginArgv(call: PluginCall): string[] {
  return [
    "nsenter",
    `--net=${call.hostNetnsPath}`,
    path.join(call.plugin.pluginDir, call.plugin.executable ?? "bridge"),
  ];
}

export function pluginEnv(call: PluginCall): NodeJS.ProcessEnv {
  return nodeEnv({
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId,
    CNI_NETNS: call.containerNetnsPath,
    CNI_IFNAME: "eth0",
    CNI_PATH: call.plugin.pluginDir,
  });
}

/** A scratch directory for host-local's store, so the machine's /var/lib/cni is untouched. */
export function scratchDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-bench-"));
}

/** A typical bridge config: gateway on the bridge, host-local IPAM, no masquerade. */
export function bridgeConfig(config: { dataDir: string; extra?: Record<string, unknown> }): string {
  return JSON.stringify({
    cniVersion: "1.0.0",
    name: "benchnet",
    type: "bridge",
    bridge: "cnibench0",
    isGateway: true,
    ipam: { type: "host-local", subnet: "10.88.0.0/24", dataDir: config.dataDir },
    ...config.extra,
  });
}
