// The point-to-point routing of a veth attachment, as the reference ptp plugin sets it up.
//
// A veth cannot be IFF_POINTOPOINT, so the container keeps its address with the
// subnet's prefix (10.1.0.5/24) but loses the kernel's on-link subnet route: the
// gateway becomes the only on-link destination, and the rest of the subnet (the other
// containers) is reached through it. On the host, the veth holds the gateway address
// as a host address (/32, /128) and a host route leads to each container address, so
// every container of the network may share the same gateway address on its own veth.
import { CniError, ErrorCode } from "../../src/cni/errors";
import type { IPConfig } from "../../src/cni/types";
import { addressOf, familyOfAddress, networkOf, prefixLengthOf, sameAddress } from "../../src/ip/cidr";
import { addAddr, listAddrs } from "../../src/netlink/addrs";
import { RtScope } from "../../src/netlink/codec/constants";
import { isExists, isNotFound } from "../../src/netlink/codec/errors";
import type { Handle } from "../../src/netlink/handle";
import { type RouteConfig, addRoute, deleteRoute, listRoutes } from "../../src/netlink/routes";

/** An IPAM address together with the gateway the attachment routes through. */
export interface RoutedIp {
  /** "10.1.0.5/24". */
  address: string;
  gateway: string;
}

/** Every address needs a gateway: it is the container's only neighbour. */
export function requireGateways(ips: IPConfig[]): RoutedIp[] {
  return ips.map((ip) => {
    if (!ip.gateway)
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `ipam: address ${ip.address} comes without a gateway; the veth plugin routes the container through one`,
      );
    return { address: ip.address, gateway: ip.gateway };
  });
}

function hostCidr(address: string): string {
  return `${addressOf(address)}/${familyOfAddress(address) === 4 ? 32 : 128}`;
}

function addRouteOrFail(
  handle: Handle,
  where: string,
  route: RouteConfig,
  options: { existingIsFine?: boolean } = {},
): void {
  try {
    addRoute(handle, route);
  } catch (err) {
    if (options.existingIsFine && isExists(err)) return;
    const via = route.gw ? ` via ${route.gw}` : "";
    throw new CniError(
      ErrorCode.NetlinkFailure,
      `cannot add route ${route.dst}${via} dev ${String(route.oif)} in ${where}: ${(err as Error).message}`,
      "",
      { cause: err },
    );
  }
}

/** In the container: the gateway on-link, the subnet through the gateway instead of on-link. */
export function routeContainerThroughGateways(container: Handle, ifName: string, ips: RoutedIp[]): void {
  for (const ip of ips) {
    const subnet = networkOf(ip.address);
    const prefsrc = addressOf(ip.address);
    try {
      deleteRoute(container, { dst: subnet, oif: ifName });
    } catch (err) {
      // A /32 or /128 address has no prefix route to remove.
      if (!isNotFound(err)) throw err;
    }
    addRouteOrFail(container, "the container", {
      dst: hostCidr(ip.gateway),
      oif: ifName,
      scope: RtScope.LINK,
      prefsrc,
    });
    addRouteOrFail(container, "the container", {
      dst: subnet,
      gw: ip.gateway,
      oif: ifName,
      scope: RtScope.UNIVERSE,
      prefsrc,
    });
  }
}

/** On the host: the gateway address on the host end, and a host route to each container address. */
export function routeHostToContainer(host: Handle, hostIfName: string, ips: RoutedIp[]): void {
  for (const ip of ips) {
    const gateway = hostCidr(ip.gateway);
    try {
      // No DAD: the address is the container's gateway from the first packet on.
      addAddr(host, { link: hostIfName, cidr: gateway, nodad: true });
    } catch (err) {
      if (!isExists(err))
        throw new CniError(
          ErrorCode.NetlinkFailure,
          `cannot add gateway address ${gateway} to ${hostIfName}: ${(err as Error).message}`,
          "",
          { cause: err },
        );
    }
    addRouteOrFail(
      host,
      "the host",
      { dst: hostCidr(ip.address), oif: hostIfName, scope: RtScope.HOST },
      { existingIsFine: true },
    );
  }
}

function mismatch(message: string): CniError {
  return new CniError(ErrorCode.KernelStateMismatch, message);
}

function hasRoute(handle: Handle, ifName: string, dst: string, gw?: string): boolean {
  return listRoutes(handle, { family: familyOfAddress(dst), oif: ifName }).some(
    (route) =>
      route.dst !== "default" &&
      sameAddress(addressOf(route.dst), addressOf(dst)) &&
      prefixLengthOf(route.dst) === prefixLengthOf(dst) &&
      (gw === undefined ? route.gw === undefined : route.gw !== undefined && sameAddress(route.gw, gw)),
  );
}

/** CHECK, container side: the on-link gateway and the subnet through it. */
export function checkContainerRouting(container: Handle, ifName: string, ips: RoutedIp[]): void {
  for (const ip of ips) {
    if (!hasRoute(container, ifName, hostCidr(ip.gateway)))
      throw mismatch(`route to gateway ${ip.gateway} on ${ifName} is missing in the container`);
    if (!hasRoute(container, ifName, networkOf(ip.address), ip.gateway))
      throw mismatch(`route to ${networkOf(ip.address)} via ${ip.gateway} on ${ifName} is missing in the container`);
  }
}

/** CHECK, host side: the gateway address on the host end and the route back to the container. */
export function checkHostRouting(host: Handle, hostIfName: string, ips: RoutedIp[]): void {
  const present = listAddrs(host, { link: hostIfName });
  for (const ip of ips) {
    const gateway = hostCidr(ip.gateway);
    if (
      !present.some(
        (addr) => sameAddress(addr.address, addressOf(gateway)) && addr.prefixLen === prefixLengthOf(gateway),
      )
    )
      throw mismatch(`gateway address ${gateway} is missing from host interface ${hostIfName}`);
    if (!hasRoute(host, hostIfName, hostCidr(ip.address)))
      throw mismatch(`host route to ${addressOf(ip.address)} through ${hostIfName} is missing`);
  }
}
