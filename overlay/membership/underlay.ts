// Where this host sits on the underlay: the address other hosts send VXLAN to, and the
// MTU of the interface holding it. Read in the agent's own network namespace.
import * as dgram from "node:dgram";
import * as net from "node:net";
import { listAddrs } from "../../src/netlink/addrs";
import { Handle } from "../../src/netlink/handle";
import { getLink } from "../../src/netlink/links";
import { sameAddress } from "../../src/ip/cidr";

/** VXLAN encapsulation: outer IP + UDP + VXLAN + inner Ethernet headers. */
export const VXLAN_OVERHEAD = { 4: 50, 6: 70 } as const;

/**
 * The source address the kernel picks to reach `endpointHost`: connecting a UDP socket
 * sends nothing, it only resolves the route. This is the address the host uses towards
 * etcd, which on an underlay is the one its peers can reach it on.
 */
export async function sourceAddressTowards(endpointHost: string, port: number): Promise<string> {
  const socket = dgram.createSocket(net.isIPv6(endpointHost) ? "udp6" : "udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.connect(port, endpointHost, () => resolve());
    });
    return socket.address().address;
  } finally {
    socket.close();
  }
}

/** The MTU of the interface that holds `address` in the current namespace. */
export function interfaceMtuOf(address: string): number {
  const handle = Handle.at(null);
  try {
    const owner = listAddrs(handle).find((addr) => sameAddress(addr.address, address));
    if (!owner) throw new Error(`no interface holds the underlay address ${address} in this network namespace`);
    return getLink(handle, owner.index).mtu;
  } finally {
    handle.close();
  }
}

/** The overlay MTU: the underlay's minus the encapsulation. */
export function overlayMtu(underlayAddress: string): number {
  return interfaceMtuOf(underlayAddress) - VXLAN_OVERHEAD[net.isIPv6(underlayAddress) ? 6 : 4];
}
