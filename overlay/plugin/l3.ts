// Mode l3 (flannel's layout): this host owns a subnet, its bridge holds the subnet's
// gateway, and the VTEP stands alone; the host routes between them. What l3 needs beyond
// l2 is decided here: which subnet is ours, the peers with theirs, and that IPAM hands
// out addresses inside our subnet (a wider one would make the containers ARP for
// addresses that live on other hosts).
import { addressOf, cidrContains, familyOfAddress, prefixLengthOf } from "../../src/ip/cidr";
import type { NetConf } from "../../src/cni/types";
import { type L3Peer, subnetsOverlap, vtepCidr, vtepMac } from "../kernel/peer-entries";
import { type OverlayConfig, type OverlayPeer, invalid, subnetsOf } from "./config";
import { remotePeers } from "./peers";

export interface L3Plan {
  /** Ours, network form: one, or IPv4 and IPv6 for a dual-stack host. */
  subnets: string[];
  /** The VTEP's own overlay addresses with their host prefix, one per subnet. */
  vtepAddresses: string[];
  vtepMac: string;
  /** The remote peers, one entry per subnet a peer routes (a dual-stack peer is listed twice). */
  peers: L3Peer[];
}

/** The subnets a host-local style IPAM config names (`subnet`, `ranges[][].subnet`); others name none. */
export function ipamSubnets(netConf: NetConf): string[] {
  const ipam = netConf.ipam as { subnet?: unknown; ranges?: unknown } | undefined;
  const subnets: unknown[] = [ipam?.subnet];
  if (Array.isArray(ipam?.ranges))
    for (const set of ipam.ranges)
      if (Array.isArray(set)) for (const range of set) subnets.push((range as { subnet?: unknown } | null)?.subnet);
  return subnets.filter((subnet): subnet is string => typeof subnet === "string" && subnet.includes("/"));
}

function requireIpamInside(netConf: NetConf, subnet: string): void {
  for (const ipamSubnet of ipamSubnets(netConf)) {
    let family: number;
    try {
      family = familyOfAddress(ipamSubnet);
    } catch {
      continue; // IPAM names its own bad values
    }
    if (family !== familyOfAddress(subnet)) continue;
    if (!cidrContains(subnet, addressOf(ipamSubnet)) || prefixLengthOf(ipamSubnet) < prefixLengthOf(subnet))
      throw invalid(
        `ipam: subnet ${ipamSubnet} is not inside this host's subnet ${subnet}; in l3 IPAM hands out addresses of the host's own subnet`,
      );
  }
}

/** This host's subnets: the config's, else its own peer entry's; the two must agree. */
function ownSubnets(config: OverlayConfig, own: OverlayPeer | undefined, localAddress: string): string[] {
  for (const key of ["subnet", "ipv6Subnet"] as const) {
    const stated = config[key];
    const listed = own?.[key];
    if (stated !== undefined && listed !== undefined && stated !== listed)
      throw invalid(`${key}: ${stated} differs from ${listed}, which the peer list gives this host (${localAddress})`);
  }
  const subnets = subnetsOf({
    ...(own?.subnet !== undefined && { subnet: own.subnet }),
    ...(own?.ipv6Subnet !== undefined && { ipv6Subnet: own.ipv6Subnet }),
    ...(config.subnet !== undefined && { subnet: config.subnet }),
    ...(config.ipv6Subnet !== undefined && { ipv6Subnet: config.ipv6Subnet }),
  });
  if (subnets.length === 0)
    throw invalid(
      `subnet: none for this host (${localAddress}); give "subnet" or list this host with its subnet among the peers`,
    );
  return subnets;
}

/**
 * The last plan made from a peer list (readPeers hands an ADD's second read the same list
 * when the file did not change): planning 10,000 peers costs about 20 ms, and an ADD
 * plans before the bridge lock and again under it.
 */
const lastPlan = new WeakMap<readonly OverlayPeer[], { config: OverlayConfig; localAddress: string; plan: L3Plan }>();

/** `peers` is the whole list (ours possibly among it); `localAddress` is this host's underlay address. */
export function planL3(config: OverlayConfig, peers: readonly OverlayPeer[], localAddress: string): L3Plan {
  const last = lastPlan.get(peers);
  if (last && last.config === config && last.localAddress === localAddress) return last.plan;
  const plan = makeL3Plan(config, peers, localAddress);
  lastPlan.set(peers, { config, localAddress, plan });
  return plan;
}

function makeL3Plan(config: OverlayConfig, peers: readonly OverlayPeer[], localAddress: string): L3Plan {
  const local = addressOf(localAddress);
  const own = peers.find((peer) => peer.address === local);
  const subnets = ownSubnets(config, own, localAddress);
  const remote = remotePeers(peers, localAddress).flatMap((peer) =>
    subnetsOf(peer).map((subnet) => ({ underlayAddress: peer.address, subnet })),
  );
  // Our subnets from our own entry were already checked against every other (mergePeers).
  const listed = own !== undefined && subnetsOf(own).join(" ") === subnets.join(" ");
  const familyOf = (cidr: string) => (cidr.includes(":") ? 6 : 4);
  for (const peer of remote) {
    const ours = subnets.find((subnet) => familyOf(subnet) === familyOf(peer.subnet));
    if (ours === undefined)
      throw invalid(
        `peers: subnet ${peer.subnet} of ${peer.underlayAddress} is not of the family of this host's subnet ${subnets.join(" ")}`,
      );
    if (!listed && subnetsOverlap(peer.subnet, ours))
      throw invalid(`subnet: ${ours} overlaps ${peer.subnet} of peer ${peer.underlayAddress}`);
  }
  return { ...l3Vtep(config, subnets, localAddress), peers: remote };
}

/** What the VTEP itself is given for this host's `subnets`, once IPAM is known to hand out addresses inside them. */
export function l3Vtep(config: OverlayConfig, subnets: readonly string[], localAddress: string): Omit<L3Plan, "peers"> {
  for (const subnet of subnets) requireIpamInside(config.netConf, subnet);
  return {
    subnets: [...subnets],
    vtepAddresses: subnets.map(vtepCidr),
    vtepMac: vtepMac(config.vni, localAddress),
  };
}
