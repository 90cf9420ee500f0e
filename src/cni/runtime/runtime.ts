// What libcni does for a container runtime: run a network list's plugins in order for
// ADD and in reverse for DEL, hand each the previous result, cache the final result
// per attachment so CHECK and DEL get it, and run VERSION, STATUS and GC.
import { validateContainerId, validateIfName, type Env } from "../env";
import { CniError, ErrorCode } from "../errors";
import { parsePluginResult } from "../exec";
import type { GcAttachment } from "../gc";
import { decodeJsonObject } from "../config";
import { convertResult, parseResult } from "../result-convert";
import type { Result } from "../types";
import { versionAtLeast } from "../versions";
import { ResultCache, type AttachmentKey } from "./cache";
import { loadNetworkList, type NetworkConfigList } from "./conflist";
import { PluginInvoker, buildPluginConfig, pluginFailed, type RuntimeConf } from "./invoke";

export type { RuntimeConf } from "./invoke";
export type NetworkListSource = NetworkConfigList | Record<string, unknown> | string;

export interface RuntimeOptions {
  /** Directories searched for plugins; also the plugins' CNI_PATH. */
  pluginPaths: string[];
  /** Where results are cached (libcni uses /var/lib/cni). */
  cacheDir: string;
  /** Extra environment for every plugin, on top of ours. */
  env?: Env;
  /** Runs each plugin through this program, e.g. ["nsenter", "--net=/run/netns/host1"] to act as that host. */
  commandPrefix?: string[];
}

export interface PluginVersionInfo {
  cniVersion: string;
  supportedVersions: string[];
}

export class CniRuntime {
  private readonly invoker: PluginInvoker;
  private readonly cache: ResultCache;

  constructor(options: RuntimeOptions) {
    this.invoker = new PluginInvoker(options);
    this.cache = new ResultCache(options.cacheDir);
  }

  async addNetworkList(source: NetworkListSource, rt: RuntimeConf): Promise<Result> {
    const list = loadNetworkList(source);
    validateAttachment(rt);
    let result: Result | undefined;
    for (const plugin of list.plugins) {
      try {
        const config = buildPluginConfig(list, plugin, result, rt);
        const { stdout, stdin } = this.invoker.run("ADD", plugin.type, config, rt);
        result = parsePluginResult(stdout, stdin);
      } catch (err) {
        throw pluginFailed(plugin, "add", err);
      }
    }
    if (!result) throw new CniError(ErrorCode.Internal, `network ${list.name} produced no result`);
    this.cache.write({
      ...attachmentKey(list, rt),
      netns: rt.netns,
      cniArgs: rt.args ?? [],
      capabilityArgs: rt.capabilityArgs ?? {},
      result: convertResult(result, list.cniVersion),
      config: list.bytes,
    });
    return result;
  }

  async checkNetworkList(source: NetworkListSource, rt: RuntimeConf): Promise<void> {
    const list = loadNetworkList(source);
    if (!versionAtLeast(list.cniVersion, "0.4.0")) {
      throw new CniError(
        ErrorCode.IncompatibleVersion,
        `configuration version ${JSON.stringify(list.cniVersion)} does not support the CHECK command`,
      );
    }
    if (list.disableCheck) return;
    validateAttachment(rt);
    const prevResult = this.cachedResult(list, rt);
    for (const plugin of list.plugins) {
      try {
        this.invoker.run("CHECK", plugin.type, buildPluginConfig(list, plugin, prevResult, rt), rt);
      } catch (err) {
        throw pluginFailed(plugin, "check", err);
      }
    }
  }

  async delNetworkList(source: NetworkListSource, rt: RuntimeConf): Promise<void> {
    const list = loadNetworkList(source);
    validateAttachment(rt);
    let prevResult: Result | undefined;
    // DEL gets the cached result from 0.4.0 on; an unreadable cache entry is dropped, as in libcni.
    if (versionAtLeast(list.cniVersion, "0.4.0")) {
      try {
        prevResult = this.cachedResult(list, rt);
      } catch {
        this.cache.remove(attachmentKey(list, rt));
      }
    }
    for (const plugin of [...list.plugins].reverse()) {
      try {
        this.invoker.run("DEL", plugin.type, buildPluginConfig(list, plugin, prevResult, rt), rt);
      } catch (err) {
        throw pluginFailed(plugin, "delete", err);
      }
    }
    this.cache.remove(attachmentKey(list, rt));
  }

  /** Deletes cached attachments of the list that are not in `validAttachments`, then (1.1.0+) runs GC on every plugin. */
  async gcNetworkList(source: NetworkListSource, validAttachments: GcAttachment[]): Promise<void> {
    const list = loadNetworkList(source);
    if (list.disableGC) return;
    const valid = new Set(validAttachments.map((a) => `${a.containerID}\u0000${a.ifname}`));
    const failures: CniError[] = [];
    for (const cached of this.cache.list(list.name)) {
      if (valid.has(`${cached.containerId}\u0000${cached.ifName}`)) continue;
      const rt: RuntimeConf = {
        containerId: cached.containerId,
        netns: cached.netns ?? "",
        ifName: cached.ifName,
        args: cached.cniArgs ?? [],
        capabilityArgs: cached.capabilityArgs ?? {},
      };
      try {
        await this.delNetworkList(list, rt);
      } catch (err) {
        const cause = err as CniError;
        failures.push(
          new CniError(
            cause.code ?? ErrorCode.Internal,
            `failed to delete stale attachment ${rt.containerId} ${rt.ifName}: ${cause.message}`,
            cause.details ?? "",
            { cause },
          ),
        );
      }
    }
    if (versionAtLeast(list.cniVersion, "1.1.0")) {
      const attachments = validAttachments.map(({ containerID, ifname }) => ({ containerID, ifname }));
      for (const plugin of list.plugins) {
        const config = {
          ...buildPluginConfig(list, plugin, undefined, undefined),
          "cni.dev/valid-attachments": attachments,
          "cni.dev/attachments": attachments,
        };
        try {
          this.invoker.run("GC", plugin.type, config);
        } catch (err) {
          failures.push(pluginFailed(plugin, "gc", err));
        }
      }
    }
    throwAll(failures);
  }

  /** STATUS on every plugin (1.1.0+; older lists have no STATUS and count as ready). The first error wins, code intact. */
  async statusNetworkList(source: NetworkListSource): Promise<void> {
    const list = loadNetworkList(source);
    if (!versionAtLeast(list.cniVersion, "1.1.0")) return;
    for (const plugin of list.plugins) {
      try {
        this.invoker.run("STATUS", plugin.type, buildPluginConfig(list, plugin, undefined, undefined));
      } catch (err) {
        throw pluginFailed(plugin, "status", err);
      }
    }
  }

  /** The plugin's VERSION answer (a legacy 0.2.0 answer without a list means 0.1.0 and 0.2.0). */
  async versionOf(pluginType: string): Promise<PluginVersionInfo> {
    const { stdout } = this.invoker.run("VERSION", pluginType, { cniVersion: "1.1.0" });
    const answer = decodeJsonObject(stdout, `VERSION answer of ${pluginType}`);
    if (typeof answer.cniVersion !== "string" || answer.cniVersion === "") {
      throw new CniError(ErrorCode.DecodeFailure, `decoding version info of ${pluginType}: missing field cniVersion`);
    }
    const supported = answer.supportedVersions;
    if (Array.isArray(supported) && supported.length > 0 && supported.every((v) => typeof v === "string")) {
      return { cniVersion: answer.cniVersion, supportedVersions: supported as string[] };
    }
    if (answer.cniVersion === "0.2.0") return { cniVersion: "0.2.0", supportedVersions: ["0.1.0", "0.2.0"] };
    throw new CniError(
      ErrorCode.DecodeFailure,
      `decoding version info of ${pluginType}: missing field supportedVersions`,
    );
  }

  /** The result ADD cached for this attachment, in the 1.1.0 shape; undefined when there is none. */
  cachedResult(source: NetworkListSource, rt: Pick<RuntimeConf, "containerId" | "ifName">): Result | undefined {
    const list = loadNetworkList(source);
    const entry = this.cache.read(attachmentKey(list, rt));
    return entry?.result ? parseResult(entry.result) : undefined;
  }

  /** The path of the cache entry for this attachment (for tools and tests). */
  cacheFileOf(source: NetworkListSource, rt: Pick<RuntimeConf, "containerId" | "ifName">): string {
    return this.cache.fileOf(attachmentKey(loadNetworkList(source), rt));
  }
}

function attachmentKey(list: NetworkConfigList, rt: Pick<RuntimeConf, "containerId" | "ifName">): AttachmentKey {
  return { networkName: list.name, containerId: rt.containerId, ifName: rt.ifName };
}

function validateAttachment(rt: RuntimeConf): void {
  validateContainerId(rt.containerId);
  validateIfName(rt.ifName);
}

function throwAll(failures: CniError[]): void {
  const [first] = failures;
  if (!first) return;
  if (failures.length === 1) throw first;
  throw new CniError(first.code, failures.map((f) => f.message).join("; "), first.details, { cause: first });
}
