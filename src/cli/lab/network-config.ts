// The network config list each host's runtime uses, per plugin: a host-local slice per
// host, so no two hosts ever hand out the same address.
import { prefixLengthOf } from "../../ip/cidr";
import { etcdOverlayKeys } from "../overlay-lab";
import { type HostPlan, LAB_BRIDGE, type LabPlan, UNDERLAY_IF, lastUsableAddress } from "./plan";
import { addressAt } from "../../ip/cidr";
import type { Topology } from "./topology";

function hostLocal(
  host: HostPlan,
  range: Record<string, string>,
  routes: Record<string, string>[],
): Record<string, unknown> {
  return { type: "host-local", dataDir: host.ipamDir, ranges: [[range]], routes };
}

/** l2 overlay: every container on the whole subnet(s), each host handing out addresses of its own slice. */
function overlayRanges(topology: Topology, host: HostPlan): Record<string, string>[][] {
  const ranges = [
    [
      {
        subnet: topology.network.subnet,
        rangeStart: addressAt(host.slice, 2n),
        rangeEnd: lastUsableAddress(host.slice),
        gateway: host.gateway,
      },
    ],
  ];
  const { ipv6Subnet } = topology.network;
  if (ipv6Subnet !== undefined && host.ipv6Slice !== undefined && host.ipv6Gateway !== undefined)
    ranges.push([
      {
        subnet: ipv6Subnet,
        rangeStart: addressAt(host.ipv6Slice, 2n),
        rangeEnd: addressAt(host.ipv6Slice, 0xffffn),
        gateway: host.ipv6Gateway,
      },
    ]);
  return ranges;
}

function pluginConfig(topology: Topology, plan: LabPlan, host: HostPlan): Record<string, unknown> {
  const supernet = topology.network.subnet;
  const mtu = topology.network.mtu === undefined ? {} : { mtu: topology.network.mtu };
  // Only a port the topology names is written, so default labs keep the configs they always had.
  const port = topology.network.vxlanPort === undefined ? {} : { port: topology.network.vxlanPort };
  switch (topology.plugin) {
    case "bridge":
      // Other hosts' slices are reached through this host, which routes them over the underlay.
      return {
        type: "bridge",
        bridge: LAB_BRIDGE,
        isGateway: true,
        ipMasq: false,
        ...mtu,
        ipam: hostLocal(host, { subnet: host.slice, gateway: host.gateway }, [{ dst: supernet, gw: host.gateway }]),
      };
    case "veth":
      return {
        type: "veth",
        ipMasq: false,
        ...mtu,
        ipam: hostLocal(host, { subnet: host.slice }, [{ dst: supernet }]),
      };
    case "vxlan-overlay": {
      if (topology.membership === "etcd") {
        // The agents keep the peers and hand each host its slice (IPAM range, bridge address) through these files.
        const files = etcdOverlayKeys(plan, host);
        return {
          type: "vxlan-overlay",
          vni: topology.network.vni,
          ...port,
          underlay: UNDERLAY_IF,
          bridge: LAB_BRIDGE,
          ...files,
          ...mtu,
          ipam: { type: "host-local", dataDir: host.ipamDir },
        };
      }
      // One L2 segment across hosts: every container is on the whole subnet, each host hands out its own slice.
      const prefix = prefixLengthOf(supernet);
      const hostAddress = Object.fromEntries(
        plan.hosts.map((each) => [each.underlayAddress, `${each.gateway}/${prefix}`]),
      );
      return {
        type: "vxlan-overlay",
        vni: topology.network.vni,
        ...port,
        underlay: UNDERLAY_IF,
        localAddress: host.underlayAddress,
        peers: plan.hosts.filter((each) => each !== host).map((each) => each.underlayAddress),
        bridge: LAB_BRIDGE,
        hostAddress,
        ...mtu,
        ipam: { type: "host-local", dataDir: host.ipamDir, ranges: overlayRanges(topology, host), routes: [] },
      };
    }
  }
}

export function hostNetworkConfig(topology: Topology, plan: LabPlan, host: HostPlan): Record<string, unknown> {
  return { cniVersion: "1.1.0", name: plan.networkName, plugins: [pluginConfig(topology, plan, host)] };
}
