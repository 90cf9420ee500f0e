// Mode l3 (flannel's layout): this host owns a subnet, its bridge holds the subnet's
// gateway, and the VTEP stands alone; the host routes between them. What l3 needs beyond
// l2 is decided here: which subnet is ours, the peers with theirs, and that IPAM hands
// out addresses inside our subnet (a wider one would make the containers ARP for
// addresses that live on other hosts).
import { addressOf, cidrContains, familyOfAddress, prefixLengthOf, sameAddress } from "../../src/ip/cidr";
import type { NetConf } from "../../src/cni/types";
import { type L3Peer, subnetsOverlap, vtepCidr, vtepMac } from "../../src/plugin/overlay-peer-entries";
import { type OverlayConfig, type OverlayPeer, invalid } from "./config";
import { remotePeers } from "./peers";

export interface L3Plan {
  /** Ours, network form. */
  subnet: string;
  /** The VTEP's own overlay address with its host prefix. */
  vtepAddress: string;
  vtepMac: string;
  /** The remote peers. */
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

/** `peers` is the whole list (ours possibly among it); `localAddress` is this host's underlay address. */
export function planL3(config: OverlayConfig, peers: readonly OverlayPeer[], localAddress: string): L3Plan {
  const own = peers.find((peer) => sameAddress(peer.address, localAddress));
  if (config.subnet !== undefined && own?.subnet !== undefined && own.subnet !== config.subnet)
    throw invalid(
      `subnet: ${config.subnet} differs from ${own.subnet}, which the peer list gives this host (${localAddress})`,
    );
  const subnet = config.subnet ?? own?.subnet;
  if (subnet === undefined)
    throw invalid(
      `subnet: none for this host (${localAddress}); give "subnet" or list this host with its subnet among the peers`,
    );
  const remote = remotePeers(peers, localAddress).map((peer) => ({
    underlayAddress: peer.address,
    subnet: peer.subnet ?? "",
  }));
  for (const peer of remote) {
    if (familyOfAddress(peer.subnet) !== familyOfAddress(subnet))
      throw invalid(
        `peers: subnet ${peer.subnet} of ${peer.underlayAddress} is not of the family of this host's subnet ${subnet}`,
      );
    if (subnetsOverlap(peer.subnet, subnet))
      throw invalid(`subnet: ${subnet} overlaps ${peer.subnet} of peer ${peer.underlayAddress}`);
  }
  requireIpamInside(config.netConf, subnet);
  return { subnet, vtepAddress: vtepCidr(subnet), vtepMac: vtepMac(config.vni, localAddress), peers: remote };
}
