// The underlay: the host interface the tunnel runs over, and the VTEP's source
// address on it. Both default from the host's own state (the route to the first peer,
// that interface's primary address), so one config can serve every host.
import { CniError, ErrorCode } from "../../src/cni/errors";
import { type Family, cidrContains, familyOfAddress, prefixLengthOf, sameAddress } from "../../src/ip/cidr";
import { listAddrs } from "../../src/netlink/addrs";
import { IfaF, RtScope, RtnType } from "../../src/netlink/codec/constants";
import { NetlinkError } from "../../src/netlink/codec/errors";
import type { Handle } from "../../src/netlink/handle";
import type { Link } from "../../src/netlink/link-decode";
import { findLink, listLinks } from "../../src/netlink/links";
import { getRoute } from "../../src/netlink/route-get";
import { listRoutes } from "../../src/netlink/routes";
import type { OverlayConfig } from "./config";

export interface Underlay {
  link: Link;
  /** The VTEP's source address, canonical. */
  localAddress: string;
  family: Family;
}

export interface UnderlayQuery {
  host: Handle;
  config: OverlayConfig;
  /** Every peer, our own address possibly among them. */
  peers: readonly string[];
  /** What a missing underlay or address answers: 7 for ADD (the config names it), 50 for STATUS. */
  missingCode?: number;
}

/**
 * The outgoing interface the kernel would use for `address` (RTM_GETROUTE, as `ip route
 * get`), when that is a unicast route. Asked, not derived from a dump of every route: an
 * l3 host holds one route per peer, and at 10,000 peers the dump and its decode cost
 * about 220 ms of every ADD.
 */
export function routeInterfaceTo(host: Handle, address: string): number | undefined {
  let lookup: ReturnType<typeof getRoute>;
  try {
    lookup = getRoute(host, { dst: address });
  } catch (err) {
    if (err instanceof NetlinkError) return undefined; // ENETUNREACH and the like: no route
    throw err;
  }
  if (lookup.type === RtnType.UNICAST) return lookup.oif;
  // Our own address (the first peer can be us when localAddress is not given): the kernel
  // answers its local route (lo); the interface is the one whose unicast route covers it.
  return lookup.type === RtnType.LOCAL ? unicastRouteInterface(host, address) : undefined;
}

/** The outgoing interface of the most specific main-table unicast route covering `address` (a dump: rare). */
function unicastRouteInterface(host: Handle, address: string): number | undefined {
  let best: { oif: number; prefixLength: number; priority: number } | undefined;
  for (const route of listRoutes(host, { family: familyOfAddress(address) })) {
    if (route.type !== RtnType.UNICAST || route.oif === undefined) continue;
    if (route.dst !== "default" && !cidrContains(route.dst, address)) continue;
    const prefixLength = route.dst === "default" ? 0 : prefixLengthOf(route.dst);
    const priority = route.priority ?? 0;
    if (!best || prefixLength > best.prefixLength || (prefixLength === best.prefixLength && priority < best.priority))
      best = { oif: route.oif, prefixLength, priority };
  }
  return best?.oif;
}

/** The first global, settled, non-secondary address of the family: what `ip` lists first. */
export function primaryAddress(host: Handle, link: Link, family: Family): string | undefined {
  const unusable = IfaF.SECONDARY | IfaF.TENTATIVE | IfaF.DADFAILED;
  return listAddrs(host, { link: link.index, family }).find(
    (addr) => addr.scope === RtScope.UNIVERSE && (addr.flags & unusable) === 0,
  )?.address;
}

function holderOf(host: Handle, address: string): Link | undefined {
  const holder = listAddrs(host, { family: familyOfAddress(address) }).find((addr) =>
    sameAddress(addr.address, address),
  );
  return holder === undefined ? undefined : listLinks(host).find((link) => link.index === holder.index);
}

function underlayLink(query: UnderlayQuery, firstPeer: string | undefined, missing: (msg: string) => CniError): Link {
  const { host, config } = query;
  if (config.underlay !== undefined) {
    const link = findLink(host, config.underlay);
    if (!link) throw missing(`underlay: no interface ${JSON.stringify(config.underlay)} on this host`);
    return link;
  }
  if (firstPeer !== undefined) {
    const oif = routeInterfaceTo(host, firstPeer);
    const link = oif === undefined ? undefined : findLink(host, oif);
    if (!link) throw missing(`underlay: no route to the first peer ${firstPeer} on this host; give "underlay"`);
    return link;
  }
  if (config.localAddress !== undefined) {
    const link = holderOf(host, config.localAddress);
    if (!link) throw missing(`localAddress: ${config.localAddress} is not an address of this host`);
    return link;
  }
  throw new CniError(
    ErrorCode.InvalidNetworkConfig,
    `underlay: cannot be derived without peers; give "underlay", "localAddress" or "peers"`,
  );
}

/** The peer the underlay is found by (the route to it): the first that is not `localAddress`. */
export function firstPeerOf(config: OverlayConfig, peers: readonly string[]): string | undefined {
  // Peers and localAddress are canonical (config.ts): compared as strings, 10,000 of them per ADD.
  return peers.find((peer) => peer !== config.localAddress);
}

export function resolveUnderlay(query: UnderlayQuery): Underlay {
  const { host, config } = query;
  const missing = (msg: string) => new CniError(query.missingCode ?? ErrorCode.InvalidNetworkConfig, msg);
  const firstPeer = firstPeerOf(config, query.peers);
  const link = underlayLink(query, firstPeer, missing);
  let localAddress = config.localAddress;
  if (localAddress !== undefined) {
    if (!listAddrs(host, { link: link.index }).some((addr) => sameAddress(addr.address, localAddress ?? "")))
      throw missing(`localAddress: ${localAddress} is not an address of underlay ${link.name}`);
  } else {
    const family: Family =
      firstPeer !== undefined ? familyOfAddress(firstPeer) : primaryAddress(host, link, 4) !== undefined ? 4 : 6;
    localAddress = primaryAddress(host, link, family);
    if (localAddress === undefined)
      throw missing(`localAddress: underlay ${link.name} has no IPv${family} address to default to`);
  }
  const family = familyOfAddress(localAddress);
  for (const peer of query.peers) {
    if ((peer.includes(":") ? 6 : 4) !== family)
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `peers: ${peer} is IPv${familyOfAddress(peer)} but the local address ${localAddress} is IPv${family}`,
      );
  }
  return { link, localAddress, family };
}

/** VXLAN's encapsulation: outer IP header (20 or 40) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
export function overlayMtu(underlay: Underlay): number {
  return underlay.link.mtu - (underlay.family === 4 ? 50 : 70);
}
