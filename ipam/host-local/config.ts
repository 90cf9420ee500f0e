// host-local's configuration: the `ipam` key of the whole network config, plus the
// addresses asked for through CNI_ARGS, args and capabilities, checked and canonical.
import * as path from "node:path";
import { CniError, ErrorCode } from "../../src/cni/errors";
import type { NetConf, Route } from "../../src/cni/types";
import { type IpAddress, parseCidr, parseIp } from "../../src/ip/address";
import { type RangeInput, type RangeSet, canonicalizeRange, checkRangeSets, familyOf } from "./range";

export const DEFAULT_DATA_DIR = "/var/lib/cni/networks";
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAX_NETWORK_NAME_BYTES = 255;

export interface HostLocalIpam {
  type?: string;
  subnet?: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
  ranges?: RangeInput[][];
  routes?: Route[];
  dataDir?: string;
  resolvConf?: string;
  [key: string]: unknown;
}

/** The network config as host-local reads it (validated by config.schema.json first). */
export interface HostLocalNetConf extends NetConf {
  ipam?: HostLocalIpam;
  args?: { cni?: { ips?: string[]; [key: string]: unknown }; [key: string]: unknown };
  runtimeConfig?: NetConf["runtimeConfig"] & { ips?: string[]; ipRanges?: RangeInput[][] };
}

export interface HostLocalConfig {
  cniVersion: string;
  network: string;
  dataDir: string;
  rangeSets: RangeSet[];
  routes: Route[];
  resolvConf?: string;
  /** Addresses asked for; each must be met by one range set. */
  requested: IpAddress[];
}

function configError(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

/** Accepts "10.1.0.5" and "10.1.0.5/24" (the ips capability allows CIDRs). */
function parseRequested(text: string, where: string, code: number): IpAddress {
  const address = parseIp(text.split("/")[0] ?? "");
  if (!address || (text.includes("/") && !parseCidr(text)))
    throw new CniError(code, `${where}: ${JSON.stringify(text)} is not an IP address`);
  return address;
}

function requestedAddresses(conf: HostLocalNetConf, cniArgs: ReadonlyMap<string, string>): IpAddress[] {
  const requested: IpAddress[] = [];
  const fromEnv = cniArgs.get("IP");
  if (fromEnv) {
    for (const text of fromEnv.split(","))
      requested.push(parseRequested(text.trim(), "CNI_ARGS IP", ErrorCode.InvalidEnvironment));
  }
  for (const [i, text] of (conf.args?.cni?.ips ?? []).entries())
    requested.push(parseRequested(text, `args.cni.ips[${i}]`, ErrorCode.InvalidNetworkConfig));
  for (const [i, text] of (conf.runtimeConfig?.ips ?? []).entries())
    requested.push(parseRequested(text, `runtimeConfig.ips[${i}]`, ErrorCode.InvalidNetworkConfig));
  return requested;
}

function rangeInputs(ipam: HostLocalIpam, conf: HostLocalNetConf): Array<{ where: string; set: RangeInput[] }> {
  // The ipRanges capability replaces the configured ranges (legacy form included).
  const runtimeRanges = conf.runtimeConfig?.ipRanges ?? [];
  if (runtimeRanges.length > 0) return runtimeRanges.map((set, i) => ({ where: `runtimeConfig.ipRanges[${i}]`, set }));
  const inputs = (ipam.ranges ?? []).map((set, i) => ({ where: `ipam.ranges[${i}]`, set }));
  if (ipam.subnet !== undefined) {
    const legacy: RangeInput = { subnet: ipam.subnet };
    if (ipam.rangeStart !== undefined) legacy.rangeStart = ipam.rangeStart;
    if (ipam.rangeEnd !== undefined) legacy.rangeEnd = ipam.rangeEnd;
    if (ipam.gateway !== undefined) legacy.gateway = ipam.gateway;
    inputs.unshift({ where: "ipam", set: [legacy] });
  }
  return inputs;
}

function checkRoutes(routes: Route[]): void {
  routes.forEach((route, i) => {
    if (!parseCidr(route.dst)) throw configError(`ipam.routes[${i}].dst: ${JSON.stringify(route.dst)} is not a CIDR`);
    if (route.gw !== undefined && !parseIp(route.gw))
      throw configError(`ipam.routes[${i}].gw: ${JSON.stringify(route.gw)} is not an IP address`);
  });
}

export function loadHostLocalConfig(conf: HostLocalNetConf, cniArgs: ReadonlyMap<string, string>): HostLocalConfig {
  const ipam = conf.ipam;
  if (!ipam) throw configError("ipam: missing (host-local reads the network config's ipam key)");
  // The name is a directory under dataDir: longer than a file name can be, it fails as an I/O error instead.
  if (
    typeof conf.name !== "string" ||
    !NETWORK_NAME.test(conf.name) ||
    Buffer.byteLength(conf.name) > MAX_NETWORK_NAME_BYTES
  ) {
    throw configError(
      `name: ${JSON.stringify(conf.name).slice(0, 80)} is not a valid network name (letters, digits, '_', '.', '-'; not starting with '.')`,
    );
  }
  const dataDir = path.resolve(ipam.dataDir ?? DEFAULT_DATA_DIR);
  if (!path.isAbsolute(ipam.dataDir ?? DEFAULT_DATA_DIR))
    throw configError(`ipam.dataDir: ${JSON.stringify(ipam.dataDir)} is not an absolute path`);
  const rangeSets = rangeInputs(ipam, conf).map(({ where, set }) =>
    set.map((input, j) => canonicalizeRange(input, where === "ipam" ? where : `${where}[${j}]`)),
  );
  checkRangeSets(rangeSets);
  if (["0.1.0", "0.2.0"].includes(conf.cniVersion)) {
    for (const family of [4, 6] as const) {
      if (rangeSets.filter((set) => familyOf(set) === family).length > 1) {
        throw configError(
          `cniVersion ${conf.cniVersion} allows one IPv${family} range set; use 0.3.0 or later for more`,
        );
      }
    }
  }
  const routes = ipam.routes ?? [];
  checkRoutes(routes);
  const config: HostLocalConfig = {
    cniVersion: conf.cniVersion,
    network: conf.name,
    dataDir,
    rangeSets,
    routes,
    requested: requestedAddresses(conf, cniArgs),
  };
  if (ipam.resolvConf) config.resolvConf = ipam.resolvConf;
  return config;
}
