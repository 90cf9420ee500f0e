// The three ways a runtime passes per-attachment arguments: CNI_ARGS ("K=V;K=V",
// with IgnoreUnknown), `args.cni` in the config, and `runtimeConfig` (capabilities).
import { ipFamily as isIP } from "../ip/address";
import { CniError, ErrorCode } from "./errors";
import { showJson } from "./json-bounds";
import type { DNS, NetConf, RuntimeConfig } from "./types";
import { isMacAddress } from "../ip/mac";

/** Parses CNI_ARGS; code 4 naming the pair that is not K=V. Empty segments are skipped. */
export function parseCniArgs(raw: string): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const pair of raw.split(";")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    if (eq <= 0)
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `CNI_ARGS: invalid pair ${showJson(pair)}`,
        "expected KEY=VALUE pairs separated by ';'",
      );
    pairs.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return pairs;
}

/** IgnoreUnknown's truth values, as Go's strconv.ParseBool reads them. */
function isTrue(value: string | undefined): boolean {
  return value !== undefined && ["1", "t", "T", "true", "TRUE", "True"].includes(value);
}

/**
 * The CNI_ARGS a plugin understands: keys outside `known` are refused (code 4) unless
 * the runtime set IgnoreUnknown, as the reference plugins do.
 */
export function loadCniArgs(raw: string, known: readonly string[]): Map<string, string> {
  const pairs = parseCniArgs(raw);
  const ignoreUnknown = isTrue(pairs.get("IgnoreUnknown"));
  pairs.delete("IgnoreUnknown");
  const unknown = [...pairs.keys()].filter((key) => !known.includes(key));
  if (unknown.length > 0 && !ignoreUnknown) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `CNI_ARGS: unknown args [${unknown.map((k) => `${k}=${pairs.get(k) ?? ""}`).join(" ")}]`,
      "set IgnoreUnknown=1 to ignore them",
    );
  }
  for (const key of unknown) pairs.delete(key);
  return pairs;
}

function invalidField(field: string, expected: string, value: unknown): CniError {
  return new CniError(
    ErrorCode.InvalidNetworkConfig,
    `invalid network config: ${field}: must be ${expected} (got ${showJson(value)})`,
  );
}

function ipList(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalidField(field, "an array of IP addresses", value);
  return value.map((item: unknown, index) => {
    // Runtimes send either a bare address or one with a prefix length.
    if (typeof item !== "string" || isIP(item.split("/")[0] ?? "") === 0)
      throw invalidField(`${field}[${index}]`, "an IP address", item);
    return item;
  });
}

function macAddress(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || !isMacAddress(value)) throw invalidField(field, "a MAC address", value);
  return value;
}

export interface CniArgsFromConfig {
  ips?: string[];
  mac?: string;
}

/** `args.cni.ips` and `args.cni.mac` (the conventions of the reference plugins), checked. */
export function readArgsCni(conf: NetConf): CniArgsFromConfig {
  const cni: unknown = conf.args?.cni;
  if (cni === undefined || cni === null) return {};
  if (typeof cni !== "object" || Array.isArray(cni)) throw invalidField("args.cni", "an object", cni);
  const { ips: ipsValue, mac: macValue } = cni as { ips?: unknown; mac?: unknown };
  const out: CniArgsFromConfig = {};
  const ips = ipList(ipsValue, "args.cni.ips");
  const mac = macAddress(macValue, "args.cni.mac");
  if (ips) out.ips = ips;
  if (mac) out.mac = mac;
  return out;
}

function stringList(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string"))
    throw invalidField(field, "an array of strings", value);
  return value as string[];
}

function readDnsCapability(value: unknown, field: string): DNS {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw invalidField(field, "an object", value);
  const record = value as Record<string, unknown>;
  if (record.domain !== undefined && typeof record.domain !== "string")
    throw invalidField(`${field}.domain`, "a string", record.domain);
  const dns: DNS = {};
  const nameservers = stringList(record.nameservers, `${field}.nameservers`);
  const search = stringList(record.search, `${field}.search`);
  const options = stringList(record.options, `${field}.options`);
  if (nameservers) dns.nameservers = nameservers;
  if (typeof record.domain === "string") dns.domain = record.domain;
  if (search) dns.search = search;
  if (options) dns.options = options;
  return dns;
}

type IpRange = NonNullable<RuntimeConfig["ipRanges"]>[number][number];

function readIpRanges(value: unknown, field: string): RuntimeConfig["ipRanges"] {
  if (!Array.isArray(value)) throw invalidField(field, "an array of range sets", value);
  return value.map((set: unknown, i) => {
    if (!Array.isArray(set)) throw invalidField(`${field}[${i}]`, "an array of ranges", set);
    return set.map((range: unknown, j): IpRange => {
      const at = `${field}[${i}][${j}]`;
      if (typeof range !== "object" || range === null) throw invalidField(at, "an object", range);
      const record = range as Record<string, unknown>;
      if (typeof record.subnet !== "string") throw invalidField(`${at}.subnet`, "a CIDR string", record.subnet);
      for (const key of ["rangeStart", "rangeEnd", "gateway"]) {
        if (record[key] !== undefined && typeof record[key] !== "string")
          throw invalidField(`${at}.${key}`, "a string", record[key]);
      }
      return record as IpRange;
    });
  });
}

/** `runtimeConfig` with the capabilities we use (ips, mac, ipRanges, dns) checked; other keys pass through untouched. */
export function readRuntimeConfig(conf: NetConf): RuntimeConfig {
  const raw = conf.runtimeConfig;
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw invalidField("runtimeConfig", "an object", raw);
  const out: RuntimeConfig = { ...raw };
  const ips = ipList(raw.ips, "runtimeConfig.ips");
  const mac = macAddress(raw.mac, "runtimeConfig.mac");
  if (ips) out.ips = ips;
  if (mac) out.mac = mac;
  if (raw.ipRanges !== undefined && raw.ipRanges !== null)
    out.ipRanges = readIpRanges(raw.ipRanges, "runtimeConfig.ipRanges");
  if (raw.dns !== undefined && raw.dns !== null) out.dns = readDnsCapability(raw.dns, "runtimeConfig.dns");
  return out;
}
