// How the runtime calls one plugin of a list: the config it gets (name, cniVersion,
// prevResult and runtimeConfig injected as libcni does) and the CNI_* environment.
import type { Env } from "../env";
import { CniError } from "../errors";
import { execPluginSync, findInPath, requireSuccess } from "../exec";
import { convertResult } from "../result-convert";
import type { Result } from "../types";
import type { CniCommand } from "../versions";
import type { NetworkConfigList, PluginConfig } from "./conflist";

/** What the runtime knows about one attachment (libcni's RuntimeConf). */
export interface RuntimeConf {
  containerId: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS as pairs. */
  args?: [string, string][];
  /** Values for the capabilities plugins declare (portMappings, ips, mac, ipRanges, dns, ...). */
  capabilityArgs?: Record<string, unknown>;
}

export interface InvokerOptions {
  pluginPaths: readonly string[];
  env?: Env;
  commandPrefix?: readonly string[];
}

/** The plugin's config with the list's name and version, the previous result, and the capabilities it asked for. */
export function buildPluginConfig(
  list: NetworkConfigList,
  plugin: PluginConfig,
  prevResult: Result | undefined,
  rt: RuntimeConf | undefined,
): Record<string, unknown> {
  const config: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  if (prevResult) config.prevResult = convertResult(prevResult, list.cniVersion);
  const runtimeConfig: Record<string, unknown> = {};
  for (const [capability, enabled] of Object.entries(plugin.capabilities ?? {})) {
    const value = rt?.capabilityArgs?.[capability];
    if (enabled && value !== undefined) runtimeConfig[capability] = value;
  }
  if (Object.keys(runtimeConfig).length > 0) config.runtimeConfig = runtimeConfig;
  return config;
}

export function pluginDescription(plugin: PluginConfig): string {
  return typeof plugin.name === "string"
    ? `type=${JSON.stringify(plugin.type)} name=${JSON.stringify(plugin.name)}`
    : `type=${JSON.stringify(plugin.type)}`;
}

/** Re-raises a plugin's error with the same code and details, saying which plugin and verb failed. */
export function pluginFailed(plugin: PluginConfig, verb: string, err: unknown): CniError {
  if (!(err instanceof CniError))
    return new CniError(999, `plugin ${pluginDescription(plugin)} failed (${verb}): ${(err as Error).message}`, "", {
      cause: err,
    });
  return new CniError(err.code, `plugin ${pluginDescription(plugin)} failed (${verb}): ${err.message}`, err.details, {
    cause: err,
  });
}

export class PluginInvoker {
  constructor(private readonly options: InvokerOptions) {}

  /** Runs `command` on the plugin `type`; its stdout on success, its CniError otherwise. */
  run(
    command: CniCommand,
    type: string,
    config: Record<string, unknown>,
    rt?: RuntimeConf,
  ): { stdout: string; stdin: Buffer } {
    const file = findInPath(type, this.options.pluginPaths);
    const stdin = Buffer.from(JSON.stringify(config));
    // As libcni: our environment, then every CNI_* variable (empty where the verb has none).
    const env: Env = {
      ...process.env,
      ...this.options.env,
      CNI_COMMAND: command,
      CNI_CONTAINERID: rt?.containerId ?? "",
      CNI_NETNS: rt?.netns ?? "",
      CNI_IFNAME: rt?.ifName ?? "",
      CNI_ARGS: (rt?.args ?? []).map(([key, value]) => `${key}=${value}`).join(";"),
      CNI_PATH: this.options.pluginPaths.join(":"),
    };
    const exit = execPluginSync({ file, env, stdin, commandPrefix: this.options.commandPrefix ?? [] });
    return { stdout: requireSuccess(exit), stdin };
  }
}
