// Configuring the container's end of an attachment from an IPAM result: the same
// steps for every plugin (what the reference plugins' ipam.ConfigureIface does).
import { CniError, ErrorCode } from "../cni/errors";
import type { IPConfig, Result, Route } from "../cni/types";
import { addAddr } from "../netlink/addrs";
import type { Handle } from "../netlink/handle";
import { type RouteConfig, addRoute } from "../netlink/routes";
import { interfaceSysctl, writeSysctl } from "../netlink/sysctl";
import { type LinkRef, setLinkUp } from "../netlink/links";
import { familyOfAddress } from "../ip/cidr";

export interface ContainerIfaceConfig {
  container: Handle;
  /** The container namespace path, for sysctls. */
  netns: string;
  ifName: string;
  /** The interface's index when the caller knows it: no lookup per address. */
  ifIndex?: number;
  /** arp_notify is on already (createVethPair sets it with the attachment's mark). */
  arpNotifySet?: boolean;
  /** The addresses and routes to install (IPAM result, 1.1.0 shape). */
  result: Result;
  /** IPv6 duplicate address detection; off unless asked for, as in the reference. */
  enableDad?: boolean;
  /** Leave the interface down (the bridge plugin's disableContainerInterface). */
  leaveDown?: boolean;
  /** Runs once the interface is up, before the result's routes (which may need what it adds, e.g. veth's route to its gateway). */
  beforeRoutes?: () => void;
}

/** The IPAM gateways per family, used for routes that name no gateway. */
function defaultGateways(ips: IPConfig[]): Map<4 | 6, string> {
  const gateways = new Map<4 | 6, string>();
  for (const ip of ips) {
    if (!ip.gateway) continue;
    const family = familyOfAddress(ip.gateway);
    if (!gateways.has(family)) gateways.set(family, ip.gateway);
  }
  return gateways;
}

export function routeConfig(route: Route, oif: LinkRef, gateways: Map<4 | 6, string>): RouteConfig {
  const family = familyOfAddress(route.dst.split("/")[0] ?? route.dst);
  const gw = route.gw ?? gateways.get(family);
  const config: RouteConfig = { dst: route.dst, oif, family };
  if (gw !== undefined) config.gw = gw;
  if (route.mtu !== undefined) config.mtu = route.mtu;
  if (route.advmss !== undefined) config.advmss = route.advmss;
  if (route.priority !== undefined) config.priority = route.priority;
  if (route.table !== undefined) config.table = route.table;
  if (route.scope !== undefined) config.scope = route.scope;
  return config;
}

function trySysctl(netns: string, key: string, value: string): void {
  try {
    writeSysctl(netns, key, value);
  } catch {
    // IPv6 may be disabled in the container; the reference ignores these too.
  }
}

export function configureContainerInterface(config: ContainerIfaceConfig): void {
  const { container, netns, ifName, result } = config;
  const ips = result.ips ?? [];
  // Also without IPv6 addresses: the link-local address does DAD too, and the reference
  // sets these whatever the IPAM result holds.
  if (config.enableDad) {
    trySysctl(netns, interfaceSysctl(6, ifName, "enhanced_dad"), "1");
    trySysctl(netns, interfaceSysctl(6, ifName, "accept_dad"), "1");
  } else {
    trySysctl(netns, interfaceSysctl(6, ifName, "accept_dad"), "0");
  }
  // Announce the address on link-up so neighbours drop stale ARP entries of a reused address.
  if (!config.arpNotifySet) trySysctl(netns, interfaceSysctl(4, ifName, "arp_notify"), "1");
  const link = config.ifIndex ?? ifName;
  for (const ip of ips) {
    try {
      addAddr(container, { link, cidr: ip.address, nodad: !config.enableDad, broadcast: true });
    } catch (err) {
      throw new CniError(
        ErrorCode.NetlinkFailure,
        `cannot add address ${ip.address} to ${ifName}: ${(err as Error).message}`,
        "",
        { cause: err },
      );
    }
  }
  if (!config.leaveDown) setLinkUp(container, link);
  if (config.leaveDown) return; // routes through a down interface cannot be added
  config.beforeRoutes?.();
  const gateways = defaultGateways(ips);
  for (const route of result.routes ?? []) {
    try {
      addRoute(container, routeConfig(route, link, gateways));
    } catch (err) {
      throw new CniError(
        ErrorCode.NetlinkFailure,
        `cannot add route ${route.dst} via ${route.gw ?? "the gateway"} on ${ifName}: ${(err as Error).message}`,
        "",
        { cause: err },
      );
    }
  }
}
