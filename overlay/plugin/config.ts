// The vxlan-overlay configuration: schema first (ranges, types), then what a schema
// cannot say (addresses, the host address map). Nothing here touches the kernel or the
// disk: DEL must work whatever state the peers file or the underlay is in.
import { ipFamily, parseCidr } from "../../src/ip/address";
import { checkNetConf, decodeNetConf } from "../../src/cni/config";
import { CniError, ErrorCode } from "../../src/cni/errors";
import { subnetNetwork } from "../kernel/peer-entries";
import { overlayBridgeName, overlayVtepName } from "../kernel/names";
import type { NetConf } from "../../src/cni/types";
import { addressOf, familyOfAddress, prefixLengthOf } from "../../src/ip/cidr";
import validate = require("./config.validate");
import { applySubnetFile } from "./subnet-file";
import { showJson } from "../../src/cni/json-bounds";

export type OverlayMode = "l2" | "l3";

/** A peer as written: an address (l2), or an address with the host's subnet (l3; accepted in l2 too). */
export type PeerInput = string | { address?: unknown; subnet?: unknown; ipv6Subnet?: unknown };

/** A peer host: its underlay address and, in l3, the subnet its containers live in. */
export interface OverlayPeer {
  /** Canonical. */
  address: string;
  /** Network form ("10.78.2.0/24"); always set in l3. */
  subnet?: string;
  /** l3 dual-stack: the host's IPv6 subnet beside its IPv4 `subnet`, network form. */
  ipv6Subnet?: string;
}

export interface OverlayNetConf extends NetConf {
  vni: number;
  port?: number;
  underlay?: string;
  localAddress?: string;
  peers?: PeerInput[];
  /** l3: this host's subnet (default: the subnet its own peer entry gives). */
  subnet?: string;
  /** l3 dual-stack: this host's IPv6 subnet beside an IPv4 `subnet`. */
  ipv6Subnet?: string;
  peersFile?: string;
  mode?: OverlayMode;
  bridge?: string;
  mtu?: number;
  hostAddress?: Record<string, string> | string;
}

/** The configuration with defaults applied; peers and underlay are resolved per call (see peers.ts, underlay.ts). */
export interface OverlayConfig {
  netConf: OverlayNetConf;
  /** The bytes IPAM is delegated: stdin itself, or the effective config when a subnetFile completed it. */
  delegateStdin: Buffer;
  vni: number;
  port: number;
  mode: OverlayMode;
  bridgeName: string;
  /** The VXLAN device: one per VNI on a host. */
  vtepName: string;
  underlay?: string;
  /** Canonical form. */
  localAddress?: string;
  /** In config order, duplicates removed. */
  peers: OverlayPeer[];
  /** l3: this host's subnet, network form, when the config gives it. */
  subnet?: string;
  /** l3 dual-stack: this host's IPv6 subnet, network form. */
  ipv6Subnet?: string;
  peersFile?: string;
  mtu?: number;
  /** This host's bridge address by the host's underlay address (canonical): "10.20.0.1/16". */
  hostAddresses: Map<string, string>;
}

/** IANA's VXLAN port (the kernel's own default is the pre-standard 8472). */
export const DEFAULT_VXLAN_PORT = 4789;

export function invalid(message: string, details = ""): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, message, details);
}

/** A bare IP address (no prefix length), in canonical form; code 7 naming the field otherwise. */
export function requireAddress(field: string, value: string): string {
  const family = ipFamily(value);
  if (family === 0) throw invalid(`${field}: ${showJson(value)} is not an IP address`);
  // ipFamily takes only canonical dotted quads: no parse for IPv4 (10,000 peers per ADD).
  return family === 4 ? value : addressOf(value);
}

export function requireCidr(field: string, value: string): string {
  const [address, prefix, extra] = value.split("/");
  const family = ipFamily(address ?? "");
  const maxPrefix = family === 4 ? 32 : 128;
  if (
    family === 0 ||
    prefix === undefined ||
    extra !== undefined ||
    !/^\d+$/.test(prefix) ||
    Number(prefix) > maxPrefix
  )
    throw invalid(`${field}: ${showJson(value)} is not an address with a prefix length (like "10.20.0.1/16")`);
  return family === 4 ? `${address}/${Number(prefix)}` : `${addressOf(value)}/${prefixLengthOf(value)}`;
}

/**
 * One config usually serves every host of the overlay, so one bridge address would sit
 * on every host at once and conflict across the overlay. The address is therefore given
 * per host, keyed by the host's underlay address, and no address may be given twice.
 */
function hostAddressMap(hostAddress: OverlayNetConf["hostAddress"]): Map<string, string> {
  const byHost = new Map<string, string>();
  if (hostAddress === undefined) return byHost;
  if (typeof hostAddress === "string")
    throw invalid(
      `hostAddress: ${showJson(hostAddress)} would be the bridge address of every host of the overlay; map each host's underlay address to its own address`,
      `e.g. {"198.18.0.1": "10.20.0.1/16", "198.18.0.2": "10.20.0.2/16"}`,
    );
  const hostByAddress = new Map<string, string>();
  for (const [hostKey, cidrText] of Object.entries(hostAddress)) {
    const host = requireAddress(`hostAddress[${JSON.stringify(hostKey)}] (key)`, hostKey);
    const cidr = requireCidr(`hostAddress[${JSON.stringify(hostKey)}]`, cidrText);
    const address = addressOf(cidr);
    const other = hostByAddress.get(address);
    if (other !== undefined)
      throw invalid(
        `hostAddress: ${address} is given to both host ${other} and host ${host}; each host needs its own address`,
      );
    if (byHost.has(host)) throw invalid(`hostAddress: host ${host} is listed twice`);
    hostByAddress.set(address, host);
    byHost.set(host, cidr);
  }
  return byHost;
}

export interface LoadOptions {
  /** DEL, STATUS, GC: go on when the subnetFile cannot be read (they must work whatever the agent's state). */
  subnetFileOptional?: boolean;
}

/**
 * The effective configuration: stdin completed from its subnetFile (subnet-file.ts),
 * then checked. What IPAM is delegated is the effective config too (`delegateStdin`).
 */
export function loadOverlayConfig(stdin: Buffer, options: LoadOptions = {}): OverlayConfig {
  const given = decodeNetConf(stdin);
  const effective = applySubnetFile(given, { optional: options.subnetFileOptional === true });
  // Serialized before checkNetConf resolves cniVersion and prevResult in it: IPAM gets the config as written.
  const delegateStdin = effective === given ? stdin : Buffer.from(JSON.stringify(effective));
  const netConf = checkNetConf<OverlayNetConf>(effective, validate);
  const mode = netConf.mode ?? "l2";
  const peers = mergePeers(
    [],
    (netConf.peers ?? []).map((peer, index) => parsePeer(`peers[${index}]`, peer, mode)),
    "peers",
  );
  if (mode === "l3" && netConf.hostAddress !== undefined)
    throw invalid(`hostAddress: only for mode "l2"; in l3 the bridge holds the gateway of this host's subnet`);
  if (mode === "l2" && netConf.subnet !== undefined)
    throw invalid(`subnet: only for mode "l3"; in l2 one subnet spans every host (give IPAM's range)`);
  if (mode === "l2" && netConf.ipv6Subnet !== undefined)
    throw invalid(`ipv6Subnet: only for mode "l3"; in l2 one subnet spans every host (give IPAM's range)`);
  const ownSubnets = hostSubnets("", { subnet: netConf.subnet, ipv6Subnet: netConf.ipv6Subnet });
  return {
    netConf,
    delegateStdin,
    vni: netConf.vni,
    port: netConf.port ?? DEFAULT_VXLAN_PORT,
    mode,
    bridgeName: netConf.bridge ?? overlayBridgeName(netConf.vni),
    vtepName: overlayVtepName(netConf.vni),
    ...(netConf.underlay !== undefined && { underlay: netConf.underlay }),
    ...(netConf.localAddress !== undefined && { localAddress: requireAddress("localAddress", netConf.localAddress) }),
    peers,
    ...ownSubnets,
    ...(netConf.peersFile !== undefined && { peersFile: netConf.peersFile }),
    ...(netConf.mtu !== undefined && { mtu: netConf.mtu }),
    hostAddresses: hostAddressMap(netConf.hostAddress),
  };
}

/** One peer entry of `peers` or the peers file, checked; `field` names it in errors. */
export function parsePeer(field: string, value: unknown, mode: OverlayMode): OverlayPeer {
  if (typeof value === "string") {
    if (mode === "l3")
      throw invalid(`${field}: ${showJson(value)} lacks its subnet; in l3 a peer is {"address": ..., "subnet": ...}`);
    return { address: requireAddress(field, value) };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw invalid(`${field}: ${showJson(value)} is neither an address nor {"address", "subnet"}`);
  const { address, subnet, ipv6Subnet } = value as { address?: unknown; subnet?: unknown; ipv6Subnet?: unknown };
  if (typeof address !== "string") throw invalid(`${field}.address: ${showJson(address)} is not an IP address`);
  if (subnet === undefined && mode === "l3") throw invalid(`${field}.subnet: missing; in l3 every peer owns a subnet`);
  return { address: requireAddress(`${field}.address`, address), ...hostSubnets(`${field}.`, { subnet, ipv6Subnet }) };
}

/**
 * A host's l3 subnets: `subnet` of either family, and for a dual-stack host an IPv6
 * `ipv6Subnet` beside an IPv4 `subnet`. `prefix` is the field path in errors ("peers[2].").
 */
function hostSubnets(prefix: string, given: { subnet: unknown; ipv6Subnet: unknown }): Omit<OverlayPeer, "address"> {
  const parse = (name: string, value: unknown): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== "string") throw invalid(`${prefix}${name}: ${JSON.stringify(value)} is not a subnet`);
    return subnetNetwork(requireCidr(`${prefix}${name}`, value));
  };
  const subnet = parse("subnet", given.subnet);
  const ipv6Subnet = parse("ipv6Subnet", given.ipv6Subnet);
  if (ipv6Subnet !== undefined) {
    if (familyOfAddress(ipv6Subnet) !== 6)
      throw invalid(`${prefix}ipv6Subnet: ${JSON.stringify(given.ipv6Subnet)} is not an IPv6 subnet`);
    if (subnet === undefined || familyOfAddress(subnet) !== 4)
      throw invalid(
        `${prefix}ipv6Subnet: ${JSON.stringify(given.ipv6Subnet)} needs an IPv4 "subnet" beside it (a single-stack IPv6 host gives its subnet as "subnet")`,
      );
  }
  return { ...(subnet !== undefined && { subnet }), ...(ipv6Subnet !== undefined && { ipv6Subnet }) };
}

/** The subnets a peer routes, IPv4 first. */
export function subnetsOf(peer: Omit<OverlayPeer, "address">): string[] {
  return [peer.subnet, peer.ipv6Subnet].filter((subnet): subnet is string => subnet !== undefined);
}

/**
 * The most hosts one peer list may hold (config and peersFile together, ours included).
 * Measured on a 2-core machine, 10,000 peers reconcile within about 2 s per ADD from
 * empty (l2 and l3); beyond that the kernel itself goes quadratic: a VXLAN flood list
 * is one FDB entry whose remotes are walked on every append (100,000: over 90 s), and
 * l3's unicast FDB hash has a fixed 256 buckets. A larger list is refused (code 7)
 * before anything touches the kernel, rather than holding the bridge lock for minutes.
 */
export const MAX_OVERLAY_PEERS = 10_000;

/**
 * Adds peers to `into` in order. The same address twice is kept once, unless the two
 * give different subnets; overlapping subnets of two hosts are refused too (their
 * traffic could only be routed to one of them). Linear in the peers but for one sort:
 * fleets list 100,000 hosts.
 */
export function mergePeers(into: OverlayPeer[], peers: Iterable<OverlayPeer>, field: string): OverlayPeer[] {
  const byAddress = new Map(into.map((peer) => [peer.address, peer]));
  let added = false;
  for (const peer of peers) {
    requireUnderlayFamily(into, peer, field);
    const same = byAddress.get(peer.address);
    if (same) {
      for (const key of ["subnet", "ipv6Subnet"] as const) {
        if (same[key] !== undefined && peer[key] !== undefined && same[key] !== peer[key])
          throw invalid(`${field}: peer ${peer.address} is given ${key} ${same[key]} and ${peer[key]}`);
        if (same[key] === undefined && peer[key] !== undefined) {
          same[key] = peer[key];
          added = true;
        }
      }
      continue;
    }
    const copy = { ...peer };
    into.push(copy);
    byAddress.set(copy.address, copy);
    added ||= copy.subnet !== undefined;
  }
  if (into.length > MAX_OVERLAY_PEERS)
    throw invalid(
      `${field}: ${into.length} peers exceed the limit of ${MAX_OVERLAY_PEERS} hosts per overlay (peers and peersFile together)`,
    );
  if (added) requireDisjointSubnets(into, field);
  return into;
}

interface SubnetRange<Bound extends number | bigint> {
  peer: OverlayPeer;
  subnet: string;
  start: Bound;
  end: Bound;
}

/** A network-form IPv4 subnet's first and last address as numbers: exact below 2^53, and no bigint or parse object per subnet. */
function ipv4Range(subnet: string): { start: number; end: number } {
  const slash = subnet.indexOf("/");
  let start = 0;
  let octet = 0;
  for (let index = 0; index < slash; index++) {
    const code = subnet.charCodeAt(index);
    if (code === 0x2e) {
      start = start * 256 + octet;
      octet = 0;
    } else octet = octet * 10 + code - 0x30;
  }
  start = start * 256 + octet;
  return { start, end: start + 2 ** (32 - Number(subnet.slice(slash + 1))) - 1 };
}

/** Sorted by start, a subnet overlaps an earlier one exactly when it starts before the widest end so far. */
function requireDisjointSubnets(peers: readonly OverlayPeer[], field: string): void {
  const v4: SubnetRange<number>[] = [];
  const v6: SubnetRange<bigint>[] = [];
  for (const peer of peers) {
    for (const subnet of subnetsOf(peer)) {
      // parsePeer checked each and put it in network form; IPv4 is by far the common case.
      if (!subnet.includes(":")) {
        v4.push({ peer, subnet, ...ipv4Range(subnet) });
        continue;
      }
      const cidr = parseCidr(subnet);
      if (!cidr) continue;
      const size = 1n << BigInt(128 - cidr.prefix);
      v6.push({ peer, subnet, start: cidr.network.value, end: cidr.network.value + size - 1n });
    }
  }
  requireDisjointRanges(v4, field);
  requireDisjointRanges(v6, field);
}

function requireDisjointRanges<Bound extends number | bigint>(ranges: SubnetRange<Bound>[], field: string): void {
  ranges.sort((left, right) => (left.start < right.start ? -1 : left.start > right.start ? 1 : 0));
  let widest: SubnetRange<Bound> | undefined;
  for (const range of ranges) {
    if (widest && range.start <= widest.end)
      throw invalid(
        `${field}: subnet ${range.subnet} of ${range.peer.address} overlaps ${widest.subnet} of ${widest.peer.address}`,
      );
    if (!widest || range.end > widest.end) widest = range;
  }
}

/** One overlay runs over one underlay family: a VTEP has one local address to send from. */
function requireUnderlayFamily(known: readonly OverlayPeer[], peer: OverlayPeer, field: string): void {
  const first = known[0];
  if (first === undefined || ipFamily(first.address) === ipFamily(peer.address)) return;
  throw invalid(
    `${field}: peer ${peer.address} is IPv${ipFamily(peer.address)} but peer ${first.address} is IPv${ipFamily(first.address)}; every peer of an overlay is of one underlay family`,
  );
}
