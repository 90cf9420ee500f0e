// The CNI spec versions we speak, and which verbs each of them has.
// Result conversion between versions lives in ./result-convert (re-exported here).
import { CniError, ErrorCode } from "./errors";
import { showJson } from "./json-bounds";

export const SUPPORTED_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export type SupportedVersion = (typeof SUPPORTED_VERSIONS)[number];
export const CURRENT_VERSION: SupportedVersion = "1.1.0";

/** What a config without `cniVersion` means, as in libcni. */
export const DEFAULT_CONFIG_VERSION = "0.1.0";

export function isSupportedVersion(version: unknown): version is SupportedVersion {
  return typeof version === "string" && (SUPPORTED_VERSIONS as readonly string[]).includes(version);
}

/** Parses "major.minor.patch" into numbers; undefined when it is not that. */
function parseSemver(version: string): [number, number, number] | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** Orders two versions; throws code 1 for something that is not a version. */
export function compareVersions(left: string, right: string): number {
  const a = parseSemver(left);
  const b = parseSemver(right);
  if (!a || !b) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      "invalid CNI version",
      `cannot compare ${JSON.stringify(left)} with ${JSON.stringify(right)}`,
    );
  }
  for (let i = 0; i < 3; i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

export function versionAtLeast(version: string, minimum: string): boolean {
  return compareVersions(version, minimum) >= 0;
}

/** The highest version in `candidates` that we support (for a `cniVersions` list), if any. */
export function highestSupported(candidates: readonly unknown[]): SupportedVersion | undefined {
  let best: SupportedVersion | undefined;
  for (const candidate of candidates) {
    if (!isSupportedVersion(candidate)) continue;
    if (best === undefined || compareVersions(candidate, best) > 0) best = candidate;
  }
  return best;
}

/**
 * The version a config speaks: the highest supported entry of `cniVersions` when
 * that list is present, else `cniVersion`, else 0.1.0 (libcni's reading of a config
 * without one). The answer is not checked for support.
 */
export function configVersion(config: Record<string, unknown>): string {
  const list = config.cniVersions;
  if (Array.isArray(list)) {
    const best = highestSupported(list);
    if (best) return best;
  }
  const single = config.cniVersion;
  // Read as a version, a number like 1.1 would silently become the 0.1.0 default.
  if (single !== undefined && single !== null && typeof single !== "string")
    throw new CniError(ErrorCode.DecodeFailure, `cniVersion: must be a string, got ${showJson(single)}`);
  if (typeof single === "string" && single !== "") return single;
  if (Array.isArray(list) && list.length > 0) return String(list[0]);
  return DEFAULT_CONFIG_VERSION;
}

/** Throws code 1, like the reference skel, when we do not speak `version`. */
export function requireSupportedVersion(version: string): SupportedVersion {
  if (isSupportedVersion(version)) return version;
  const supported = SUPPORTED_VERSIONS.map((v) => JSON.stringify(v)).join(" ");
  throw new CniError(
    ErrorCode.IncompatibleVersion,
    "incompatible CNI versions",
    `config is ${JSON.stringify(version)}, plugin supports [${supported}]`,
  );
}

export type CniCommand = "ADD" | "DEL" | "CHECK" | "VERSION" | "STATUS" | "GC";

/** The first spec version that has each verb. */
const VERB_SINCE: Record<CniCommand, string> = {
  ADD: "0.1.0",
  DEL: "0.1.0",
  VERSION: "0.1.0",
  CHECK: "0.4.0",
  STATUS: "1.1.0",
  GC: "1.1.0",
};

/** Throws code 1 when the config's version lacks the verb (CHECK before 0.4.0, STATUS and GC before 1.1.0). */
export function requireVerbInVersion(command: CniCommand, version: string): void {
  if (!versionAtLeast(version, VERB_SINCE[command])) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `config version does not allow ${command}`,
      `${command} needs cniVersion ${VERB_SINCE[command]} or later, config is ${version}`,
    );
  }
}

export { convertResult, parseResult } from "./result-convert";
export { parseGcAttachments, type GcAttachment } from "./gc";
