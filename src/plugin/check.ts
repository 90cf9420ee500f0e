// CHECK: compare what the kernel has with what ADD reported (prevResult). Any
// difference is an error naming it, so a runtime can tell a broken attachment.
import { CniError, ErrorCode } from "../cni/errors";
import type { Interface, Result } from "../cni/types";
import { addressOf, familyOfAddress, networkOf, prefixLengthOf, sameAddress } from "../ip/cidr";
import { listAddrs } from "../netlink/addrs";
import type { Handle } from "../netlink/handle";
import { findLink } from "../netlink/links";
import type { Link } from "../netlink/link-decode";
import { listRoutes } from "../netlink/routes";

function mismatch(message: string): CniError {
  return new CniError(ErrorCode.KernelStateMismatch, message);
}

export function requirePrevResult(prevResult: Result | undefined): Result {
  if (!prevResult) throw new CniError(ErrorCode.InvalidNetworkConfig, "prevResult: required for CHECK, missing");
  return prevResult;
}

/** The interface of prevResult that ADD created in this sandbox, and its index. */
export function containerInterface(
  prevResult: Result,
  ifName: string,
  netns: string,
): { iface: Interface; index: number } {
  const index = (prevResult.interfaces ?? []).findIndex((iface) => iface.name === ifName && iface.sandbox === netns);
  const iface = prevResult.interfaces?.[index];
  if (!iface) throw mismatch(`prevResult lists no interface ${ifName} in sandbox ${netns}`);
  return { iface, index };
}

/** The link must exist and, when the result recorded one, carry the same MAC. */
export function checkLink(handle: Handle, where: string, iface: Interface): Link {
  const link = findLink(handle, iface.name);
  if (!link) throw mismatch(`interface ${iface.name} is missing from ${where}`);
  if (iface.mac && link.mac.toLowerCase() !== iface.mac.toLowerCase())
    throw mismatch(`interface ${iface.name} in ${where} has MAC ${link.mac}, prevResult says ${iface.mac}`);
  if (iface.mtu !== undefined && link.mtu !== iface.mtu)
    throw mismatch(`interface ${iface.name} in ${where} has MTU ${link.mtu}, prevResult says ${iface.mtu}`);
  return link;
}

function sameDestination(kernelDst: string, resultDst: string): boolean {
  if (kernelDst === "default") return prefixLengthOf(resultDst) === 0;
  return networkOf(kernelDst) === networkOf(resultDst) && prefixLengthOf(kernelDst) === prefixLengthOf(resultDst);
}

/** Every address of prevResult for this interface, and every route, is in the container. */
export function checkAddressesAndRoutes(
  container: Handle,
  ifName: string,
  prevResult: Result,
  interfaceIndex: number,
): void {
  const present = listAddrs(container, { link: ifName });
  for (const ip of prevResult.ips ?? []) {
    if (ip.interface !== undefined && ip.interface !== interfaceIndex) continue;
    const found = present.some(
      (addr) => sameAddress(addr.address, addressOf(ip.address)) && addr.prefixLen === prefixLengthOf(ip.address),
    );
    if (!found) throw mismatch(`address ${ip.address} is missing from ${ifName}`);
  }
  for (const route of prevResult.routes ?? []) {
    const family = familyOfAddress(route.dst);
    const routes = listRoutes(container, { family, table: route.table ?? "all" });
    const found = routes.some(
      (kernel) =>
        sameDestination(kernel.dst, route.dst) &&
        (route.gw === undefined || (kernel.gw !== undefined && sameAddress(kernel.gw, route.gw))),
    );
    if (!found)
      throw mismatch(`route to ${route.dst}${route.gw ? ` via ${route.gw}` : ""} is missing in the container`);
  }
}
