// A normalized picture of what one bridge attachment did to the kernel and what it
// reported, with everything that legitimately differs between two implementations
// (generated names, random MACs, ifindexes, timers) taken out, so ours and the Go
// reference can be compared with one toEqual.
import { type NetnsRef, addrs, links, routes } from "../../../netns-fixtures";
import { type AddResult, portFlags, sysctlIn } from "./harness";

export interface AttachmentView {
  container: {
    link: { mtu: number; up: boolean; operstate: string };
    addresses: Array<{ family: string; local: string; prefixlen: number; broadcast?: unknown; scope: string }>;
    routes: Array<{ dst: string; gateway?: string; dev?: string; protocol?: string; scope?: string; prefsrc?: string }>;
    sysctls: { accept_dad: string; arp_notify: string };
  };
  bridge: {
    mtu: number;
    up: boolean;
    addresses: Array<{ family: string; local: string; prefixlen: number; broadcast?: unknown; scope: string }>;
  };
  ports: Array<{ mtu: number; up: boolean; hairpin: unknown; isolated: unknown; promiscuity: unknown }>;
}

function globalAddresses(netns: NetnsRef, ifName: string) {
  const entry = addrs(netns).find((link) => link.ifname === ifName);
  return (entry?.addr_info ?? [])
    .filter((info) => info.scope !== "link")
    .map((info) => ({
      family: info.family,
      local: info.local,
      prefixlen: info.prefixlen,
      broadcast: info.broadcast,
      scope: info.scope,
    }));
}

export function attachmentView(
  host: NetnsRef,
  container: NetnsRef,
  bridgeName: string,
  ifName = "eth0",
): AttachmentView {
  const containerLink = links(container).find((link) => link.ifname === ifName);
  const hostLinks = links(host);
  const bridge = hostLinks.find((link) => link.ifname === bridgeName);
  if (!containerLink || !bridge)
    throw new Error(
      `attachment incomplete: ${ifName} ${containerLink ? "present" : "missing"}, ${bridgeName} ${bridge ? "present" : "missing"}`,
    );
  const ports = hostLinks
    .filter((link) => link.master === bridgeName)
    .map((link) => {
      const slave = portFlags(host, link.ifname);
      return {
        mtu: link.mtu,
        up: link.flags.includes("UP"),
        hairpin: slave.hairpin,
        isolated: slave.isolated,
        promiscuity: link.promiscuity,
      };
    });
  return {
    container: {
      link: { mtu: containerLink.mtu, up: containerLink.flags.includes("UP"), operstate: containerLink.operstate },
      addresses: globalAddresses(container, ifName),
      routes: routes(container, 4).map(({ dst, gateway, dev, protocol, scope, prefsrc }) => ({
        dst,
        gateway,
        dev,
        protocol,
        scope,
        prefsrc,
      })),
      sysctls: {
        accept_dad: sysctlIn(container, `ipv6/conf/${ifName}/accept_dad`),
        arp_notify: sysctlIn(container, `ipv4/conf/${ifName}/arp_notify`),
      },
    },
    bridge: { mtu: bridge.mtu, up: bridge.flags.includes("UP"), addresses: globalAddresses(host, bridgeName) },
    ports,
  };
}

/** The result with generated names and random MACs replaced by what they stand for. */
export function resultShape(result: AddResult, containerNetns: string): unknown {
  const { dns, ...rest } = result as AddResult & { dns?: unknown };
  const emptyDns = dns === undefined || (typeof dns === "object" && dns !== null && Object.keys(dns).length === 0);
  return {
    ...rest,
    ...(emptyDns ? {} : { dns }),
    interfaces: result.interfaces?.map((iface, index) => ({
      ...iface,
      ...(index === 1 && { name: "<host veth>" }),
      ...(iface.mac !== undefined && { mac: "<mac>" }),
      ...(iface.sandbox === containerNetns && { sandbox: "<container netns>" }),
    })),
  };
}
