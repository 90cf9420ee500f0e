// Kernel state as `ip -j` reports it, for assertions. Shapes list the fields tests
// usually check; everything else `ip -j` prints is still there (index signature).
import { spawnSync } from "node:child_process";
import { type CommandResult, type NetnsRef, ipIn, resolveNetns } from "./ip";

export { udpProbe, ping, type UdpProbe } from "./traffic";
export type { NetnsRef } from "./ip";

export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  address?: string;
  master?: string;
  link?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown>; info_slave_kind?: string };
  [field: string]: unknown;
}

export interface IpAddrInfo {
  family: "inet" | "inet6";
  local: string;
  prefixlen: number;
  scope: string;
  [field: string]: unknown;
}

export interface IpAddr {
  ifindex: number;
  ifname: string;
  addr_info: IpAddrInfo[];
  [field: string]: unknown;
}

export interface IpRoute {
  /** "default" or a CIDR; a host route has no "/". */
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  flags: string[];
  [field: string]: unknown;
}

export interface IpNeigh {
  dst: string;
  dev: string;
  lladdr?: string;
  state: string[];
  [field: string]: unknown;
}

export interface BridgeFdb {
  mac: string;
  ifname: string;
  master?: string;
  dst?: string;
  vlan?: number;
  flags: string[];
  state?: string;
  [field: string]: unknown;
}

/** `ip -j <args>` inside `netns`, parsed (empty output is an empty list). */
export function ipJson<T = unknown>(netns: NetnsRef, args: readonly string[]): T {
  return parseJson<T>(ipIn(netns, ["-j", ...args]), args);
}

export function links(netns: NetnsRef): IpLink[] {
  return ipJson<IpLink[]>(netns, ["-d", "link", "show"]);
}

export function addrs(netns: NetnsRef): IpAddr[] {
  return ipJson<IpAddr[]>(netns, ["addr", "show"]);
}

/** Routes of the main table (or `table`), IPv4 and IPv6 unless `family` says one. */
export function routes(netns: NetnsRef, family?: 4 | 6, table = "main"): IpRoute[] {
  const families = family ? [family] : [4, 6];
  return families.flatMap((fam) => ipJson<IpRoute[]>(netns, [`-${fam}`, "route", "show", "table", table]));
}

/** `bridge fdb show` (optionally of one device): where MACs and VXLAN remotes are. */
export function fdb(netns: NetnsRef, dev?: string): BridgeFdb[] {
  const args = ["-j", "fdb", "show", ...(dev ? ["dev", dev] : [])];
  return parseJson<BridgeFdb[]>(ipIn(netns, args, "bridge"), args);
}

export function neigh(netns: NetnsRef): IpNeigh[] {
  return ipJson<IpNeigh[]>(netns, ["neigh", "show"]);
}

export interface NsExecOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /**
   * Use `ip netns exec`, which also mounts the namespace's own /sys (needed to
   * read /sys/class/net there); the default `nsenter --net=` switches only the network.
   */
  sysfs?: boolean;
}

/** Runs argv inside `netns` and waits; never throws for a non-zero exit. */
export function nsExec(netns: NetnsRef, argv: readonly string[], options: NsExecOptions = {}): CommandResult {
  const target = resolveNetns(netns);
  let prefix: string[];
  if (options.sysfs) {
    if (target.name === undefined) throw new Error(`nsExec sysfs needs a namespace in /run/netns, got ${target.path}`);
    prefix = ["ip", "netns", "exec", target.name];
  } else {
    prefix = ["nsenter", `--net=${target.path}`];
  }
  const [file, ...args] = [...prefix, ...argv];
  const result = spawnSync(file as string, args, {
    encoding: "utf8",
    input: options.input,
    env: options.env ?? process.env,
    timeout: options.timeoutMs ?? 30_000,
  });
  if (result.error) throw new Error(`nsExec ${argv.join(" ")}: ${result.error.message}`, { cause: result.error });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function parseJson<T>(output: string, args: readonly string[]): T {
  const text = output.trim();
  if (text === "") return [] as T;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`unparsable JSON from "${args.join(" ")}": ${text.slice(0, 200)}`, { cause: err });
  }
}
