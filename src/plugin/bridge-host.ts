// The host side shared by every attachment of a network: the bridge and its gateway
// addresses. Parallel ADDs race to create them, so both happen under a per-bridge
// flock and "already exists" is success when the object is the one we want.
import { CniError, ErrorCode } from "../cni/errors";
import type { IPConfig } from "../cni/types";
import { addressOf, familyOfAddress, networkOf, prefixLengthOf, sameAddress } from "../ip/cidr";
import { randomLocalMac } from "../ip/digest";
import { addAddr, deleteAddr, listAddrs } from "../netlink/addrs";
import { Iff } from "../netlink/codec/constants";
import { isExists } from "../netlink/codec/errors";
import type { Handle } from "../netlink/handle";
import { addBridge } from "../netlink/link-create";
import type { Link } from "../netlink/link-decode";
import { findLink, getLink, setLink } from "../netlink/links";
import { writeSysctl } from "../netlink/sysctl";
import { withVlanSupport } from "./bridge-port";

export interface BridgeSpec {
  name: string;
  mtu?: number;
  promisc?: boolean;
  vlanFiltering?: boolean;
}

/**
 * A bridge whose MAC was never set adopts the lowest MAC of its ports, so it changes as
 * containers come and go and every container's ARP entry for the gateway goes stale.
 * Creating it with an explicit (random, locally administered) MAC pins it.
 */

/** Creates the bridge or reuses it; a non-bridge link of that name is a config error. */
export function ensureBridge(host: Handle, spec: BridgeSpec): Link {
  let bridge = findLink(host, spec.name);
  if (!bridge) {
    const create = () =>
      addBridge(host, {
        name: spec.name,
        mac: randomLocalMac(),
        ...(spec.mtu !== undefined && { mtu: spec.mtu }),
        ...(spec.vlanFiltering && { vlanFiltering: true }),
      });
    try {
      if (spec.vlanFiltering) withVlanSupport(spec.name, create);
      else create();
    } catch (err) {
      if (!isExists(err)) throw err;
    }
    bridge = getLink(host, spec.name);
  }
  if (bridge.kind !== "bridge")
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `bridge: ${JSON.stringify(spec.name)} already exists and is a ${bridge.kind ?? "plain"} device, not a bridge`,
    );
  if (!bridge.up || (spec.promisc && (bridge.flags & Iff.PROMISC) === 0)) {
    setLink(host, spec.name, { up: true, ...(spec.promisc && { promisc: true }) });
    return getLink(host, spec.name);
  }
  return bridge;
}

/** The gateway's address on the bridge, with the subnet's prefix: "10.1.0.1/24". */
export function gatewayCidr(ip: IPConfig): string | undefined {
  if (!ip.gateway) return undefined;
  return `${ip.gateway}/${prefixLengthOf(ip.address)}`;
}

/**
 * Puts each gateway address on the bridge. Another address of the same family in the
 * same subnet is an error unless forceAddress, which replaces it (as the reference does).
 */
export function ensureGatewayAddresses(
  host: Handle,
  bridgeName: string,
  ips: IPConfig[],
  forceAddress: boolean,
  /** The bridge's index when the caller has it: spares looking the name up. */
  bridgeIndex?: number,
): void {
  const link = bridgeIndex ?? bridgeName;
  for (const ip of ips) {
    const wanted = gatewayCidr(ip);
    if (!wanted) continue;
    const family = familyOfAddress(wanted);
    const subnet = networkOf(wanted);
    const present = listAddrs(host, { link, family });
    if (
      present.some((addr) => sameAddress(addr.address, addressOf(wanted)) && addr.prefixLen === prefixLengthOf(wanted))
    )
      continue;
    for (const addr of present.filter((a) => a.scope === 0 && networkOf(a.cidr) === subnet)) {
      if (!forceAddress)
        throw new CniError(
          ErrorCode.InvalidNetworkConfig,
          `bridge ${bridgeName} already has address ${addr.cidr}, not the gateway ${wanted} (set forceAddress to replace it)`,
        );
      deleteAddr(host, { link, cidr: addr.cidr });
    }
    try {
      addAddr(host, { link, cidr: wanted, nodad: true, broadcast: true });
    } catch (err) {
      if (!isExists(err)) throw err;
    }
  }
}

/** A gateway bridge routes between containers and the world: turn forwarding on. */
export function enableForwarding(ips: IPConfig[]): void {
  const families = new Set(ips.map((ip) => familyOfAddress(ip.address)));
  if (families.has(4)) writeSysctl(null, "net/ipv4/ip_forward", "1");
  if (families.has(6)) writeSysctl(null, "net/ipv6/conf/all/forwarding", "1");
}
