// A lab's topology file (JSON or YAML), checked and completed with defaults. Errors
// name the field, e.g. `topology hosts[1].containers: ...`.
import * as fs from "node:fs";
import * as net from "node:net";
import { prefixLengthOf } from "../../ip/cidr";
import { CliError } from "../errors";
import type { LinkImpairment } from "./impair/spec";
import { topologyImpairments } from "./impair/topology-section";

export const LAB_PLUGINS = ["vxlan-overlay", "bridge", "veth"] as const;
export type LabPlugin = (typeof LAB_PLUGINS)[number];

export interface HostSpec {
  name: string;
  containers: string[];
}

export interface Topology {
  name: string;
  /** How containers attach: one overlay across hosts, or a bridge / point-to-point links per host routed over the underlay. */
  plugin: LabPlugin;
  /**
   * IPv4 or IPv6. bridge and veth labs route each host's (IPv4) slice via the other
   * hosts' underlay addresses; over IPv6 those routes have an IPv6 gateway (RFC 5549).
   */
  underlay: { subnet: string; mtu: number };
  /**
   * Container addresses: `subnet` is cut into one /hostPrefix slice per host. `vni` and
   * `vxlanPort` are the VTEPs' (vxlan-overlay); no `vxlanPort` means the plugin's default, 4789.
   */
  network: {
    subnet: string;
    hostPrefix: number;
    vni: number;
    mtu?: number;
    vxlanPort?: number;
    /** Dual-stack containers (vxlan-overlay): an IPv6 network cut into one /64 per host. */
    ipv6Subnet?: string;
  };
  hosts: HostSpec[];
  /** "etcd": an etcd member on the underlay and an overlay agent per host keep the peers (vxlan-overlay only). */
  membership?: "etcd";
  /** membership "etcd": etcd serves TLS only and requires client certificates (a lab CA made by openssl). */
  etcdTls?: boolean;
  /** Resident mode: a `cnikit daemon` in each host answers its plugin calls (default true). */
  daemon: boolean;
  /** Per link (TARGET: h1, h1/c1, h1:ul0): put in place after `lab up` (src/cli/lab/impair). */
  impairments?: Record<string, LinkImpairment>;
}

const NAME = /^[a-z0-9][a-z0-9-]{0,9}$/;
const LAB_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;
const KNOWN_KEYS = [
  "name",
  "plugin",
  "underlay",
  "network",
  "hosts",
  "containersPerHost",
  "membership",
  "etcdTls",
  "daemon",
  "impairments",
];
const NETWORK_KEYS = ["subnet", "hostPrefix", "vni", "mtu", "vxlanPort", "ipv6Subnet"];
/** Each host's IPv6 slice of `network.ipv6Subnet`. */
export const LAB_IPV6_HOST_PREFIX = 64;

/** The vxlan-overlay plugin's default (IANA's port); the kernel's own is 8472. */
export const DEFAULT_LAB_VXLAN_PORT = 4789;

/** The UDP port the lab's VTEPs use, whether or not the topology names one. */
export function labVxlanPort(topology: Topology): number {
  return topology.network.vxlanPort ?? DEFAULT_LAB_VXLAN_PORT;
}

export const DEFAULT_TOPOLOGY_INPUT = { plugin: "vxlan-overlay", hosts: 2, containersPerHost: 2 };

function fail(field: string, message: string): never {
  throw new CliError(`topology ${field}: ${message}`);
}

function objectAt(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(field, "must be a mapping");
  return value as Record<string, unknown>;
}

function integerAt(value: unknown, field: string, fallback: number, [min, max]: [number, number]): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
    fail(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return value;
}

function ipv4Cidr(value: unknown, field: string, fallback: string, maxPrefix: number): string {
  const cidr = value ?? fallback;
  const [address, prefix] = typeof cidr === "string" ? cidr.split("/") : [];
  if (!address || prefix === undefined || net.isIPv4(address) === false || !/^\d+$/.test(prefix))
    fail(field, `must be an IPv4 CIDR like ${fallback}, got ${JSON.stringify(cidr)}`);
  if (prefixLengthOf(cidr as string) > maxPrefix)
    fail(field, `prefix must be /${maxPrefix} or shorter, got ${JSON.stringify(cidr)}`);
  return cidr as string;
}

/** An IPv4 or IPv6 CIDR; `maxPrefix` per family. */
function anyCidr(value: unknown, field: string, fallback: string, maxPrefix: { 4: number; 6: number }): string {
  const cidr = value ?? fallback;
  const [address, prefix] = typeof cidr === "string" ? cidr.split("/") : [];
  const family = net.isIP(address ?? "");
  if (family !== 4 && family !== 6) fail(field, `must be a CIDR like ${fallback}, got ${JSON.stringify(cidr)}`);
  if (family === 4) return ipv4Cidr(cidr, field, fallback, maxPrefix[4]);
  if (prefix === undefined || !/^\d+$/.test(prefix) || Number(prefix) > maxPrefix[6])
    fail(field, `prefix must be /${maxPrefix[6]} or shorter, got ${JSON.stringify(cidr)}`);
  return cidr as string;
}

function ipv6Subnet(value: unknown, plugin: LabPlugin): string | undefined {
  if (value === undefined) return undefined;
  if (plugin !== "vxlan-overlay") fail("network.ipv6Subnet", `needs plugin vxlan-overlay, got plugin ${plugin}`);
  if (typeof value !== "string" || !net.isIPv6(value.split("/")[0] ?? ""))
    fail("network.ipv6Subnet", `must be an IPv6 CIDR like fd10:10::/48, got ${JSON.stringify(value)}`);
  return anyCidr(value, "network.ipv6Subnet", "fd10:10::/48", { 4: 0, 6: LAB_IPV6_HOST_PREFIX - 8 });
}

function nameAt(value: unknown, field: string): string {
  if (typeof value !== "string" || !NAME.test(value))
    fail(field, `must be 1-10 lowercase letters, digits or '-', got ${JSON.stringify(value)}`);
  return value;
}

function containersAt(value: unknown, field: string, perHost: number): string[] {
  if (value === undefined) return Array.from({ length: perHost }, (_, index) => `c${index + 1}`);
  if (typeof value === "number") return containersAt(undefined, field, integerAt(value, field, perHost, [0, 200]));
  if (!Array.isArray(value)) fail(field, "must be a list of names or a count");
  const names = value.map((name, index) => nameAt(name, `${field}[${index}]`));
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate) fail(field, `container ${duplicate} appears twice`);
  return names;
}

function hostsAt(value: unknown, perHost: number): HostSpec[] {
  if (typeof value === "number" || value === undefined) {
    const count = integerAt(value, "hosts", 2, [1, 50]);
    return Array.from({ length: count }, (_, index) => ({
      name: `h${index + 1}`,
      containers: containersAt(undefined, "", perHost),
    }));
  }
  if (!Array.isArray(value) || value.length === 0) fail("hosts", "must be a count or a non-empty list");
  const hosts = value.map((entry: unknown, index): HostSpec => {
    if (typeof entry === "string")
      return { name: nameAt(entry, `hosts[${index}]`), containers: containersAt(undefined, "", perHost) };
    const host = objectAt(entry, `hosts[${index}]`);
    return {
      name: nameAt(host.name, `hosts[${index}].name`),
      containers: containersAt(host.containers, `hosts[${index}].containers`, perHost),
    };
  });
  const duplicate = hosts.find((host, index) => hosts.findIndex((other) => other.name === host.name) !== index);
  if (duplicate) fail("hosts", `host ${duplicate.name} appears twice`);
  return hosts;
}

/** Checks a parsed topology document and fills in every default. */
export function normalizeTopology(input: unknown, nameOverride?: string): Topology {
  const raw = objectAt(input, "(document)");
  const unknown = Object.keys(raw).filter((key) => !KNOWN_KEYS.includes(key));
  if (unknown.length > 0) fail(unknown[0] as string, `unknown key (known: ${KNOWN_KEYS.join(", ")})`);
  const name = nameOverride ?? raw.name ?? "lab";
  if (typeof name !== "string" || !LAB_NAME.test(name))
    fail("name", `must be 1-40 letters, digits, '.', '_' or '-', got ${JSON.stringify(name)}`);
  const plugin = raw.plugin ?? "vxlan-overlay";
  if (!LAB_PLUGINS.includes(plugin as LabPlugin))
    fail("plugin", `must be one of ${LAB_PLUGINS.join(", ")}, got ${JSON.stringify(plugin)}`);
  const underlay = objectAt(raw.underlay, "underlay");
  const network = objectAt(raw.network, "network");
  const unknownInNetwork = Object.keys(network).filter((key) => !NETWORK_KEYS.includes(key));
  if (unknownInNetwork.length > 0)
    fail(`network.${unknownInNetwork[0]}`, `unknown key (known: ${NETWORK_KEYS.join(", ")})`);
  const perHost = integerAt(raw.containersPerHost, "containersPerHost", 2, [0, 200]);
  const subnet = ipv4Cidr(network.subnet, "network.subnet", "10.10.0.0/16", 23);
  const hostPrefix = integerAt(network.hostPrefix, "network.hostPrefix", 24, [prefixLengthOf(subnet) + 1, 28]);
  const topology: Topology = {
    name,
    plugin: plugin as LabPlugin,
    underlay: {
      subnet: anyCidr(underlay.subnet, "underlay.subnet", "198.18.0.0/24", { 4: 29, 6: 125 }),
      mtu: integerAt(underlay.mtu, "underlay.mtu", 1500, [1280, 9000]),
    },
    network: { subnet, hostPrefix, vni: integerAt(network.vni, "network.vni", 42, [1, 16_777_215]) },
    hosts: hostsAt(raw.hosts, perHost),
    daemon: (raw.daemon ?? true) as boolean,
  };
  if (typeof topology.daemon !== "boolean") fail("daemon", `must be true or false, got ${JSON.stringify(raw.daemon)}`);
  if (raw.membership !== undefined && raw.membership !== "static") {
    if (raw.membership !== "etcd")
      fail("membership", `must be "static" or "etcd", got ${JSON.stringify(raw.membership)}`);
    if (topology.plugin !== "vxlan-overlay") fail("membership", `"etcd" needs plugin vxlan-overlay`);
    topology.membership = "etcd";
  }
  if (raw.etcdTls !== undefined) {
    if (typeof raw.etcdTls !== "boolean") fail("etcdTls", `must be true or false, got ${JSON.stringify(raw.etcdTls)}`);
    if (raw.etcdTls && topology.membership !== "etcd") fail("etcdTls", `needs membership "etcd"`);
    if (raw.etcdTls) topology.etcdTls = true;
  }
  const v6 = ipv6Subnet(network.ipv6Subnet, topology.plugin);
  if (v6 !== undefined) topology.network.ipv6Subnet = v6;
  if (network.mtu !== undefined) topology.network.mtu = integerAt(network.mtu, "network.mtu", 1450, [576, 9000]);
  if (network.vxlanPort !== undefined) {
    if (topology.plugin !== "vxlan-overlay")
      fail("network.vxlanPort", `needs plugin vxlan-overlay, got plugin ${topology.plugin}`);
    topology.network.vxlanPort = integerAt(network.vxlanPort, "network.vxlanPort", DEFAULT_LAB_VXLAN_PORT, [1, 65535]);
  }
  if (raw.impairments !== undefined) topology.impairments = topologyImpairments(raw.impairments, topology.hosts);
  return topology;
}

/** Reads a topology file: JSON, or YAML for .yaml/.yml (and anything that is not JSON). */
export function loadTopology(file: string | undefined, nameOverride?: string): Topology {
  if (file === undefined) return normalizeTopology(DEFAULT_TOPOLOGY_INPUT, nameOverride);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new CliError(
      `cannot read topology ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { cause: err },
    );
  }
  let parsed: unknown;
  try {
    parsed = /\.ya?ml$/.test(file) ? require("yaml").parse(text) : JSON.parse(text);
  } catch (err) {
    throw new CliError(
      `topology ${file} is not valid ${/\.ya?ml$/.test(file) ? "YAML" : "JSON"}: ${(err as Error).message.split("\n")[0]}`,
      { cause: err },
    );
  }
  return normalizeTopology(parsed, nameOverride);
}
