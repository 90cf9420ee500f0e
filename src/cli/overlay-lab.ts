// A lab whose topology asks for `membership: etcd`: the glue between the lab's plan and
// overlay/membership/lab-membership (etcd member + one agent per host). The hosts' vxlan-overlay
// configs then name the agents' peersFile and subnetFile instead of static peers.
import { namedNetnsPath } from "../netns/netns";
import {
  type LabMembershipState,
  labHostFiles,
  startLabMembership,
  stopLabMembership,
} from "../../overlay/membership/lab-membership";
import { selfCommand } from "./self";
import { type HostPlan, LAB_BRIDGE, type LabPlan } from "./lab/plan";
import type { LabState } from "./lab/state";
import { LAB_IPV6_HOST_PREFIX } from "./lab/topology";

/** The overlay network's name in etcd for a lab. */
export function labOverlayNetwork(plan: LabPlan): string {
  return plan.networkName;
}

/** The plugin config keys that replace static peers/hostAddress/ranges for one host. */
export function etcdOverlayKeys(plan: LabPlan, host: HostPlan): { peersFile: string; subnetFile: string } {
  const { peersFile, subnetFile } = labHostFiles(plan.stateDir, host.name);
  return { peersFile, subnetFile };
}

/** Starts etcd and the agents unless the state says they are up; records their pids in the state. */
export async function startLabEtcd(
  state: LabState,
  progress: (line: string) => void,
): Promise<LabMembershipState | undefined> {
  const { plan, topology } = state;
  if (!plan.etcd || state.membership) return state.membership;
  return startLabMembership(
    {
      network: labOverlayNetwork(plan),
      stateDir: plan.stateDir,
      etcd: { netnsPath: namedNetnsPath(plan.etcd.netns), address: plan.etcd.underlayAddress },
      pool: {
        network: topology.network.subnet,
        subnetLen: topology.network.hostPrefix,
        ...(topology.network.ipv6Subnet !== undefined && {
          ipv6Network: topology.network.ipv6Subnet,
          ipv6SubnetLen: LAB_IPV6_HOST_PREFIX,
        }),
      },
      vni: topology.network.vni,
      ...(topology.etcdTls && { tls: true }),
      mode: "l2",
      bridge: LAB_BRIDGE,
      hosts: plan.hosts.map((host) => ({
        name: host.name,
        netnsPath: namedNetnsPath(host.netns),
        underlayAddress: host.underlayAddress,
        preferredSubnet: host.slice,
      })),
      cnikit: selfCommand(),
    },
    progress,
  );
}

export async function stopLabEtcd(state: LabState, progress: (line: string) => void): Promise<void> {
  if (state.membership) await stopLabMembership(state.membership, progress);
}
