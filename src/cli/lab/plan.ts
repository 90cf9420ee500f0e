// Everything a lab is made of, computed from its topology before anything is touched:
// namespace names, underlay addresses, each host's slice of the container subnet.
import { addressAt } from "../../ip/cidr";
import { prefixLengthOf } from "../../ip/cidr";
import { CliError } from "../errors";
import { familyOfAddress } from "../../ip/cidr";
import { LAB_IPV6_HOST_PREFIX, type LabPlugin, type Topology } from "./topology";

const bitsOf = (cidr: string): number => (familyOfAddress(cidr) === 4 ? 32 : 128);

/**
 * Where lab state lives. CNIKIT_LAB_DIR moves it, so a test can own "the only lab up"
 * while other labs run on the same machine.
 */
export const LAB_ROOT = process.env.CNIKIT_LAB_DIR || "/run/cnikit/labs";
export const UNDERLAY_IF = "ul0";
export const CONTAINER_IF = "eth0";
/** The bridge (and, for vxlan-overlay, the VTEP) names inside every host. */
export const LAB_BRIDGE = "lab0";

export interface HostPlan {
  name: string;
  netns: string;
  /** This host's port on the underlay switch (in the switch namespace). */
  switchPort: string;
  underlayAddress: string;
  /** This host's slice of the container subnet, and its first address (the gateway). */
  slice: string;
  gateway: string;
  /** Dual-stack labs: this host's /64 of network.ipv6Subnet and its first address. */
  ipv6Slice?: string;
  ipv6Gateway?: string;
  /** The network config this host's runtime uses. */
  configFile: string;
  ipamDir: string;
  /** The runtime's result cache of this host. */
  cacheDir: string;
}

export interface ContainerPlan {
  name: string;
  host: string;
  /** `host/container`, how tables and the probe matrix name it. */
  label: string;
  netns: string;
  containerId: string;
  ifName: string;
}

export interface LabPlan {
  name: string;
  plugin: LabPlugin;
  stateDir: string;
  stateFile: string;
  networkName: string;
  switchNetns: string;
  underlayPrefixLength: number;
  hosts: HostPlan[];
  containers: ContainerPlan[];
  /** membership "etcd": the etcd member's namespace on the underlay (the subnet's last address). */
  etcd?: Pick<HostPlan, "name" | "netns" | "switchPort" | "underlayAddress">;
}

/** The index-th /prefix block inside `subnet`. */
export function sliceOf(subnet: string, prefix: number, index: number): string {
  const blocks = 1n << BigInt(prefix - prefixLengthOf(subnet));
  if (BigInt(index) >= blocks)
    throw new CliError(`topology network.subnet ${subnet} has only ${blocks} /${prefix} slices; ${index + 1} needed`);
  return `${addressAt(subnet, BigInt(index) << BigInt(bitsOf(subnet) - prefix))}/${prefix}`;
}

/** The last address before the broadcast address of an IPv4 block. */
export function lastUsableAddress(cidr: string): string {
  return addressAt(cidr, (1n << BigInt(32 - prefixLengthOf(cidr))) - 2n);
}

export function labStateFile(name: string): string {
  return `${LAB_ROOT}/${name}.json`;
}

export function planLab(topology: Topology): LabPlan {
  const { name } = topology;
  const stateDir = `${LAB_ROOT}/${name}`;
  const underlayHosts =
    (1n << BigInt(bitsOf(topology.underlay.subnet) - prefixLengthOf(topology.underlay.subnet))) - 2n;
  const { ipv6Subnet } = topology.network;
  if (BigInt(topology.hosts.length + (topology.membership ? 1 : 0)) > underlayHosts)
    throw new CliError(
      `topology underlay.subnet ${topology.underlay.subnet} has room for ${underlayHosts} hosts, not ${topology.hosts.length}`,
    );
  const hostCapacity = (1 << (32 - topology.network.hostPrefix)) - 3;
  const hosts = topology.hosts.map((host, index): HostPlan => {
    if (host.containers.length > hostCapacity)
      throw new CliError(
        `topology hosts[${index}]: ${host.containers.length} containers do not fit a /${topology.network.hostPrefix} slice`,
      );
    // Slice 0 is left out so that the subnet's first address is never a host's gateway.
    const slice = sliceOf(topology.network.subnet, topology.network.hostPrefix, index + 1);
    const ipv6Slice = ipv6Subnet === undefined ? undefined : sliceOf(ipv6Subnet, LAB_IPV6_HOST_PREFIX, index + 1);
    return {
      name: host.name,
      netns: `${name}-${host.name}`,
      switchPort: `p-${host.name}`,
      underlayAddress: addressAt(topology.underlay.subnet, BigInt(index + 1)),
      slice,
      gateway: addressAt(slice, 1n),
      ...(ipv6Slice !== undefined && { ipv6Slice, ipv6Gateway: addressAt(ipv6Slice, 1n) }),
      configFile: `${stateDir}/${host.name}/net.conflist`,
      ipamDir: `${stateDir}/${host.name}/ipam`,
      cacheDir: `${stateDir}/${host.name}/cache`,
    };
  });
  const containers = topology.hosts.flatMap((host) =>
    host.containers.map(
      (container): ContainerPlan => ({
        name: container,
        host: host.name,
        label: `${host.name}/${container}`,
        netns: `${name}-${host.name}-${container}`,
        containerId: `${name}-${host.name}-${container}`,
        ifName: CONTAINER_IF,
      }),
    ),
  );
  return {
    name,
    plugin: topology.plugin,
    stateDir,
    stateFile: labStateFile(name),
    networkName: `${name}-net`.slice(0, 60),
    switchNetns: `${name}-underlay`,
    underlayPrefixLength: prefixLengthOf(topology.underlay.subnet),
    hosts,
    containers,
    ...(topology.membership === "etcd" && {
      etcd: {
        name: "etcd",
        netns: `${name}-etcd`,
        switchPort: "p-etcd",
        underlayAddress: addressAt(topology.underlay.subnet, underlayHosts),
      },
    }),
  };
}
