// Network configuration lists as libcni loads them: a `.conflist` (name, cniVersion or
// cniVersions, plugins) or a single `.conf`, which becomes a list of one plugin.
import * as fs from "node:fs";
import { decodeJsonObject } from "../config";
import { CniError, ErrorCode } from "../errors";
import { configVersion } from "../versions";

/** One plugin's config inside a list: at least a type; capabilities it accepts from the runtime. */
export interface PluginConfig {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface NetworkConfigList {
  name: string;
  cniVersion: string;
  disableCheck: boolean;
  disableGC: boolean;
  plugins: PluginConfig[];
  /** The source JSON, kept in the result cache like libcni does. */
  bytes: Buffer;
}

function invalid(msg: string, details = ""): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg, details);
}

/** libcni accepts true/false or their strings for the disable* flags. */
function flag(raw: Record<string, unknown>, key: string): boolean {
  const value = raw[key];
  if (value === undefined || value === null) return false;
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "false") return value === "true";
  throw invalid(`invalid network config list: ${key}: must be a boolean (got ${JSON.stringify(value)})`);
}

function pluginConfig(value: unknown, index: number): PluginConfig {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw invalid(`invalid network config list: plugins[${index}]: must be an object`);
  const plugin = value as Record<string, unknown>;
  if (typeof plugin.type !== "string" || plugin.type === "")
    throw invalid(`invalid network config list: plugins[${index}].type: is required`);
  const capabilities = plugin.capabilities;
  if (
    capabilities !== undefined &&
    (typeof capabilities !== "object" || capabilities === null || Array.isArray(capabilities))
  ) {
    throw invalid(`invalid network config list: plugins[${index}].capabilities: must be an object`);
  }
  return plugin as PluginConfig;
}

function requireName(raw: Record<string, unknown>): string {
  if (typeof raw.name !== "string" || raw.name === "") throw invalid("invalid network config: name: is required");
  return raw.name;
}

/** A list from parsed JSON: a conflist when it has `plugins`, else a single plugin's config. */
export function networkListFromObject(raw: Record<string, unknown>, bytes?: Buffer): NetworkConfigList {
  const source = bytes ?? Buffer.from(JSON.stringify(raw));
  const name = requireName(raw);
  const cniVersion = configVersion(raw);
  if (raw.plugins === undefined) {
    return { name, cniVersion, disableCheck: false, disableGC: false, plugins: [pluginConfig(raw, 0)], bytes: source };
  }
  if (!Array.isArray(raw.plugins) || raw.plugins.length === 0)
    throw invalid("invalid network config list: plugins: must be a non-empty array");
  const plugins = raw.plugins.map(pluginConfig);
  return {
    name,
    cniVersion,
    disableCheck: flag(raw, "disableCheck"),
    disableGC: flag(raw, "disableGC"),
    plugins,
    bytes: source,
  };
}

function isNetworkConfigList(source: Record<string, unknown> | NetworkConfigList): source is NetworkConfigList {
  return Buffer.isBuffer(source.bytes) && Array.isArray(source.plugins);
}

/** Loads a `.conf`/`.json`/`.conflist` file, or takes an already parsed object. */
export function loadNetworkList(source: string | Record<string, unknown> | NetworkConfigList): NetworkConfigList {
  if (typeof source !== "string") return isNetworkConfigList(source) ? source : networkListFromObject(source);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(source);
  } catch (err) {
    throw new CniError(ErrorCode.IoFailure, `cannot read network config ${source}: ${(err as Error).message}`, "", {
      cause: err,
    });
  }
  const raw = decodeJsonObject(bytes, `network config ${source}`);
  if (source.endsWith(".conflist") && raw.plugins === undefined)
    throw invalid(`invalid network config list ${source}: no 'plugins' key`);
  return networkListFromObject(raw, bytes);
}
