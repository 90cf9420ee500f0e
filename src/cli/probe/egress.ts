// The MTU a namespace would send a datagram to `address` with: the main table's best
// route, its own mtu metric or its device's MTU. Read from the parent through netlink.
import { cidrContains, familyOfAddress, prefixLengthOf } from "../../ip/cidr";
import { RtnType } from "../../netlink/codec/constants";
import { Handle } from "../../netlink/handle";
import { getLink } from "../../netlink/links";
import { type Route, listRoutes } from "../../netlink/routes";

function prefixLength(route: Route): number {
  if (route.dst === "default") return 0;
  return route.dst.includes("/") ? prefixLengthOf(route.dst) : route.family === 4 ? 32 : 128;
}

function matches(route: Route, address: string): boolean {
  if (route.type !== RtnType.UNICAST) return false;
  if (route.dst === "default") return true;
  return cidrContains(route.dst.includes("/") ? route.dst : `${route.dst}/${route.family === 4 ? 32 : 128}`, address);
}

/** The egress MTU towards `address` from inside `netnsPath`, or undefined when there is no route. */
export function egressMtu(netnsPath: string, address: string): number | undefined {
  const handle = Handle.at(netnsPath);
  try {
    const candidates = listRoutes(handle, { family: familyOfAddress(address) }).filter(
      (route) => matches(route, address) && route.oif !== undefined,
    );
    candidates.sort((a, b) => prefixLength(b) - prefixLength(a) || (a.priority ?? 0) - (b.priority ?? 0));
    const best = candidates[0];
    if (!best || best.oif === undefined) return undefined;
    const linkMtu = getLink(handle, best.oif).mtu;
    return best.mtu ? Math.min(best.mtu, linkMtu) : linkMtu;
  } finally {
    handle.close();
  }
}
