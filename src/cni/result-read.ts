// Type-checked readers for the pieces of a result, each naming the field it rejects
// (results come from other processes, so they are checked like any input).
import { ipFamily as isIP } from "../ip/address";
import { CniError, ErrorCode } from "./errors";
import type { DNS, IPConfig, Interface, Route } from "./types";
import { showJson } from "./json-bounds";

export type Reader<T> = (value: unknown, field: string) => T;

function invalid(field: string, expected: string, value: unknown): CniError {
  return new CniError(
    ErrorCode.DecodeFailure,
    `invalid result: ${field} must be ${expected}`,
    `got ${showJson(value)}`,
  );
}

function objectAt(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(field, "an object", value);
  return value as Record<string, unknown>;
}

function optionalString(record: Record<string, unknown>, key: string, field: string): string | undefined {
  const value = record[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalid(`${field}.${key}`, "a string", value);
  return value;
}

function optionalInteger(record: Record<string, unknown>, key: string, field: string): number | undefined {
  const value = record[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0)
    throw invalid(`${field}.${key}`, "a non-negative integer", value);
  return value;
}

function optionalStrings(record: Record<string, unknown>, key: string, field: string): string[] | undefined {
  const value = record[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string"))
    throw invalid(`${field}.${key}`, "an array of strings", value);
  return value as string[];
}

function requireCidr(value: unknown, field: string): string {
  if (typeof value !== "string") throw invalid(field, "a CIDR string", value);
  const [ip, prefix, extra] = value.split("/");
  const family = isIP(ip ?? "");
  const prefixLength = Number(prefix);
  const maxPrefix = family === 6 ? 128 : 32;
  if (
    family === 0 ||
    extra !== undefined ||
    prefix === undefined ||
    !/^\d+$/.test(prefix) ||
    prefixLength > maxPrefix
  ) {
    throw invalid(field, "an address with a prefix length (CIDR)", value);
  }
  return value;
}

function optionalIp(record: Record<string, unknown>, key: string, field: string): string | undefined {
  const value = optionalString(record, key, field);
  if (value !== undefined && isIP(value) === 0) throw invalid(`${field}.${key}`, "an IP address", value);
  return value;
}

/** Copies only the keys that are set, so optional fields stay absent rather than undefined. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export const readInterface: Reader<Interface> = (value, field) => {
  const record = objectAt(value, field);
  const name = optionalString(record, "name", field);
  if (name === undefined) throw invalid(`${field}.name`, "a string", undefined);
  return defined<Interface>({
    name,
    mac: optionalString(record, "mac", field),
    mtu: optionalInteger(record, "mtu", field),
    sandbox: optionalString(record, "sandbox", field),
    socketPath: optionalString(record, "socketPath", field),
    pciID: optionalString(record, "pciID", field),
  });
};

export const readIpConfig: Reader<IPConfig> = (value, field) => {
  const record = objectAt(value, field);
  return defined<IPConfig>({
    interface: optionalInteger(record, "interface", field),
    address: requireCidr(record.address, `${field}.address`),
    gateway: optionalIp(record, "gateway", field),
  });
};

export const readRoute: Reader<Route> = (value, field) => {
  const record = objectAt(value, field);
  return defined<Route>({
    dst: requireCidr(record.dst, `${field}.dst`),
    gw: optionalIp(record, "gw", field),
    mtu: optionalInteger(record, "mtu", field),
    advmss: optionalInteger(record, "advmss", field),
    priority: optionalInteger(record, "priority", field),
    table: optionalInteger(record, "table", field),
    scope: optionalInteger(record, "scope", field),
  });
};

export const readDns: Reader<DNS | undefined> = (value, field) => {
  const record = objectAt(value, field);
  const dns = defined<DNS>({
    nameservers: optionalStrings(record, "nameservers", field),
    domain: optionalString(record, "domain", field),
    search: optionalStrings(record, "search", field),
    options: optionalStrings(record, "options", field),
  });
  return Object.keys(dns).length > 0 ? dns : undefined;
};
