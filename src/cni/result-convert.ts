// Results in every spec version, read into the 1.1.0 shape and written back out the
// way libcni converts them: 0.1.0/0.2.0 have one ip4/ip6 object per family with its
// routes; 0.3.x/0.4.0 have `ips` carrying "version"; 1.0.0 drops "version"; 1.1.0
// adds interface mtu/socketPath/pciID and route mtu/advmss/priority/table/scope.
import { ipFamily as isIP } from "../ip/address";
import { CniError, ErrorCode } from "./errors";
import type { DNS, IPConfig, Interface, Result, Route } from "./types";
import { readDns, readInterface, readIpConfig, readRoute, type Reader } from "./result-read";
import { showJson } from "./json-bounds";

type Family = "legacy" | "v03" | "v10" | "v11";

function familyOf(version: string): Family {
  switch (version) {
    case "0.1.0":
    case "0.2.0":
      return "legacy";
    case "0.3.0":
    case "0.3.1":
    case "0.4.0":
      return "v03";
    case "1.0.0":
      return "v10";
    case "1.1.0":
      return "v11";
    default:
      throw new CniError(
        ErrorCode.IncompatibleVersion,
        "unsupported CNI result version",
        `result version is ${JSON.stringify(version)}`,
      );
  }
}

function asObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CniError(ErrorCode.DecodeFailure, `invalid result: ${field} must be an object`, `got ${showJson(value)}`);
  }
  return value as Record<string, unknown>;
}

function readList<T>(value: unknown, field: string, readItem: Reader<T>): T[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value))
    throw new CniError(ErrorCode.DecodeFailure, `invalid result: ${field} must be an array`, `got ${showJson(value)}`);
  return value.map((item, index) => readItem(item, `${field}[${index}]`));
}

/** Reads a result (or prevResult) of any supported version into the 1.1.0 shape; a missing cniVersion means 0.1.0. */
export function parseResult(json: unknown): Result {
  const raw = asObject(json, "result");
  const version = typeof raw.cniVersion === "string" && raw.cniVersion !== "" ? raw.cniVersion : "0.1.0";
  const result: Result = { cniVersion: "1.1.0" };
  if (familyOf(version) === "legacy") {
    const ips: IPConfig[] = [];
    const routes: Route[] = [];
    for (const key of ["ip4", "ip6"] as const) {
      if (raw[key] === undefined || raw[key] === null) continue;
      const legacy = asObject(raw[key], key);
      const ip = readIpConfig({ address: legacy.ip, gateway: legacy.gateway }, key);
      ips.push(ip);
      routes.push(...(readList(legacy.routes, `${key}.routes`, readRoute) ?? []));
    }
    if (ips.length > 0) result.ips = ips;
    if (routes.length > 0) result.routes = routes;
  } else {
    const interfaces = readList(raw.interfaces, "interfaces", readInterface);
    const ips = readList(raw.ips, "ips", readIpConfig);
    const routes = readList(raw.routes, "routes", readRoute);
    if (interfaces) result.interfaces = interfaces;
    if (ips) result.ips = ips;
    if (routes) result.routes = routes;
  }
  const dns = raw.dns === undefined || raw.dns === null ? undefined : readDns(raw.dns, "dns");
  if (dns) result.dns = dns;
  return result;
}

function ipVersionOf(address: string): "4" | "6" {
  return isIP(address.split("/")[0] ?? "") === 6 ? "6" : "4";
}

function interfaceBefore11(iface: Interface): Record<string, unknown> {
  const out: Record<string, unknown> = { name: iface.name };
  if (iface.mac !== undefined) out.mac = iface.mac;
  if (iface.sandbox !== undefined) out.sandbox = iface.sandbox;
  return out;
}

function routeBefore11(route: Route): Record<string, unknown> {
  const out: Record<string, unknown> = { dst: route.dst };
  if (route.gw !== undefined) out.gw = route.gw;
  return out;
}

function ipConfigOut(ip: IPConfig, withVersion: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (withVersion) out.version = ipVersionOf(ip.address);
  if (ip.interface !== undefined) out.interface = ip.interface;
  out.address = ip.address;
  if (ip.gateway !== undefined) out.gateway = ip.gateway;
  return out;
}

function dnsIsEmpty(dns: DNS | undefined): boolean {
  if (!dns) return true;
  return !dns.domain && !dns.nameservers?.length && !dns.search?.length && !dns.options?.length;
}

function toLegacy(result: Result, version: string): Record<string, unknown> {
  const out: Record<string, unknown> = { cniVersion: version };
  const byFamily: Partial<Record<"4" | "6", { ip: string; gateway?: string; routes?: Record<string, unknown>[] }>> = {};
  for (const ip of result.ips ?? []) {
    const family = ipVersionOf(ip.address);
    if (byFamily[family]) continue; // legacy results hold one address per family
    byFamily[family] = ip.gateway !== undefined ? { ip: ip.address, gateway: ip.gateway } : { ip: ip.address };
  }
  if (!byFamily["4"] && !byFamily["6"]) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `cannot convert result to ${version}: no IP addresses`,
      `a ${version} result needs at least one IP address`,
    );
  }
  for (const route of result.routes ?? []) {
    const holder = byFamily[ipVersionOf(route.dst)];
    if (!holder) continue;
    holder.routes = [...(holder.routes ?? []), routeBefore11(route)];
  }
  if (byFamily["4"]) out.ip4 = byFamily["4"];
  if (byFamily["6"]) out.ip6 = byFamily["6"];
  if (!dnsIsEmpty(result.dns)) out.dns = result.dns;
  return out;
}

/** Writes a 1.1.0-shape result as `version` JSON, as libcni converts; code 1 when it cannot be expressed. */
export function convertResult(result: Result, version: string): Record<string, unknown> {
  const family = familyOf(version);
  if (family === "legacy") return toLegacy(result, version);
  const out: Record<string, unknown> = { cniVersion: version };
  // Empty lists are left out, as libcni's omitempty does.
  if (result.interfaces?.length)
    out.interfaces =
      family === "v11" ? result.interfaces.map((i) => ({ ...i })) : result.interfaces.map(interfaceBefore11);
  if (result.ips?.length) out.ips = result.ips.map((ip) => ipConfigOut(ip, family === "v03"));
  if (result.routes?.length)
    out.routes = family === "v11" ? result.routes.map((r) => ({ ...r })) : result.routes.map(routeBefore11);
  if (!dnsIsEmpty(result.dns)) out.dns = result.dns;
  return out;
}
