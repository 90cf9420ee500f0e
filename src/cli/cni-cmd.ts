// `cnikit add|check|del|gc|status|version`: a network list run by hand on our runtime,
// as cnitool does with libcni. The result goes to stdout as JSON.
import { convertResult } from "../cni/result-convert";
import { CniRuntime, type RuntimeConf } from "../cni/runtime/runtime";
import { loadNetworkList, type NetworkConfigList } from "../cni/runtime/conflist";
import { checkNetnsPath } from "../netns/netns";
import {
  type AttachmentOptions,
  DEFAULT_CACHE_DIR,
  containerIdFor,
  netnsPathArg,
  parseArgsOption,
  parseCapabilityArgs,
  parseValidAttachments,
  pluginPaths,
  resolveConfigArg,
} from "./cni-options";
import { CliError } from "./errors";
import { writeJson, writeStdout } from "./output";
import { selfCommand } from "./self";

export interface RuntimeCliOptions {
  cacheDir?: string;
  /** Run the plugins inside this namespace (the "host"), through `cnikit netns exec`. */
  hostNetns?: string;
}

export type AttachCliOptions = RuntimeCliOptions & AttachmentOptions;

function runtimeFor(options: RuntimeCliOptions): CniRuntime {
  const cacheDir = options.cacheDir ?? process.env.CNI_CACHE_DIR ?? DEFAULT_CACHE_DIR;
  if (!options.hostNetns) return new CniRuntime({ pluginPaths: pluginPaths(), cacheDir });
  const hostPath = netnsPathArg(options.hostNetns);
  checkNamespace(hostPath, "--host-netns");
  return new CniRuntime({
    pluginPaths: pluginPaths(),
    cacheDir,
    commandPrefix: [...selfCommand(), "netns", "exec", hostPath, "--"],
  });
}

function checkNamespace(nsPath: string, what: string): void {
  try {
    checkNetnsPath(nsPath);
  } catch (err) {
    throw new CliError(`${what}: ${(err as Error).message}`, { cause: err });
  }
}

function loadList(configArg: string): NetworkConfigList {
  return loadNetworkList(resolveConfigArg(configArg));
}

function runtimeConf(netnsArg: string, options: AttachmentOptions, mustExist: boolean): RuntimeConf {
  const netns = netnsPathArg(netnsArg);
  if (mustExist) checkNamespace(netns, "netns");
  return {
    containerId: options.containerId ?? containerIdFor(netns),
    netns,
    ifName: options.ifname ?? process.env.CNI_IFNAME ?? "eth0",
    args: parseArgsOption(options.args ?? process.env.CNI_ARGS),
    capabilityArgs: parseCapabilityArgs(options.capabilityArgs ?? process.env.CAP_ARGS),
  };
}

export async function cniAdd(configArg: string, netnsArg: string, options: AttachCliOptions): Promise<void> {
  const list = loadList(configArg);
  const rt = runtimeConf(netnsArg, options, true);
  const result = await runtimeFor(options).addNetworkList(list, rt);
  writeJson(convertResult(result, list.cniVersion));
}

export async function cniCheck(configArg: string, netnsArg: string, options: AttachCliOptions): Promise<void> {
  const list = loadList(configArg);
  await runtimeFor(options).checkNetworkList(list, runtimeConf(netnsArg, options, true));
}

/** DEL works for a namespace that is already gone: plugins still release what they hold. */
export async function cniDel(configArg: string, netnsArg: string, options: AttachCliOptions): Promise<void> {
  const list = loadList(configArg);
  await runtimeFor(options).delNetworkList(list, runtimeConf(netnsArg, options, false));
}

export async function cniGc(
  configArg: string,
  options: RuntimeCliOptions & { validAttachments?: string },
): Promise<void> {
  const list = loadList(configArg);
  await runtimeFor(options).gcNetworkList(list, parseValidAttachments(options.validAttachments));
}

export async function cniStatus(configArg: string, options: RuntimeCliOptions): Promise<void> {
  const list = loadList(configArg);
  await runtimeFor(options).statusNetworkList(list);
  writeStdout(`${list.name}: ready`);
}

/** VERSION of every plugin in the list, in list order. */
export async function cniVersion(configArg: string, options: RuntimeCliOptions): Promise<void> {
  const list = loadList(configArg);
  const runtime = runtimeFor(options);
  const answers = [];
  for (const plugin of list.plugins) answers.push({ type: plugin.type, ...(await runtime.versionOf(plugin.type)) });
  writeJson(answers);
}
