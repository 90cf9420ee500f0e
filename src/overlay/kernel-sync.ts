// The agent's kernel half: after every change of the live set, make this host's VTEP
// entries equal to it with the plugin's own reconciliation code (l2: the flood list; l3:
// FDB + neighbour + route per peer), under the same host lock as the plugin, so an ADD
// and an agent pass never interleave. Until the first ADD creates the VTEP there is
// nothing to program: the plugin reads the peersFile then.
import { sameAddress } from "../ip/cidr";
import { isNotFound } from "../netlink/codec/errors";
import { Handle } from "../netlink/handle";
import { bridgeLockName } from "../plugin/bridge-attach";
import { withHostLock } from "../plugin/host-lock";
import { reconcileFloodEntries } from "../plugin/overlay-flood";
import { type PeerEntriesDiff, vtepMac } from "../plugin/overlay-peer-entries";
import { reconcilePeerEntries } from "../plugin/overlay-reconcile";
import type { HostLease } from "./records";

export type OverlayMode = "l2" | "l3";

export interface KernelSyncOptions {
  mode: OverlayMode;
  vni: number;
  /** Default as the plugin's: vx<vni>. */
  vtepName?: string;
  /** Default as the plugin's: vxbr<vni>; names the host lock. */
  bridgeName?: string;
  log: (line: string) => void;
}

/** The VTEP MAC the plugin gives this host's VTEP, published with the lease. */
export function publishedVtepMac(vni: number, underlayAddress: string): string {
  return vtepMac(vni, underlayAddress);
}

/** The `onMembers` hook of the agent. */
export function kernelSync(
  options: KernelSyncOptions,
): (members: readonly HostLease[], self: HostLease) => Promise<void> {
  const vtepName = options.vtepName ?? `vx${options.vni}`;
  const bridgeName = options.bridgeName ?? `vxbr${options.vni}`;
  let waitingReported = false;
  return async (members, self) => {
    const remote = members.filter((member) => !sameAddress(member.underlayAddress, self.underlayAddress));
    await withHostLock(bridgeLockName(bridgeName), async () => {
      const host = Handle.at(null);
      try {
        const changes =
          options.mode === "l2"
            ? describeFlood(
                reconcileFloodEntries(
                  host,
                  vtepName,
                  remote.map((member) => member.underlayAddress),
                ),
              )
            : describeApplied(
                reconcilePeerEntries(
                  host,
                  { vtepName, vni: options.vni },
                  remote.flatMap((member) => l3Peer(member)),
                ),
              );
        waitingReported = false;
        if (changes.length > 0) options.log(`${vtepName}: ${changes.join(", ")}`);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        if (!waitingReported)
          options.log(`${vtepName} does not exist yet: the plugin programs it from the peersFile on the first ADD`);
        waitingReported = true;
      } finally {
        host.close();
      }
    });
  };
}

/** One entry per subnet the member routes: a dual-stack host gets a neighbour and a route per family. */
function l3Peer(member: HostLease): { underlayAddress: string; subnet: string }[] {
  return [member.subnet, member.ipv6Subnet]
    .filter((subnet): subnet is string => subnet !== undefined)
    .map((subnet) => ({ underlayAddress: member.underlayAddress, subnet }));
}

function describeFlood(changes: { added: string[]; removed: string[] }): string[] {
  return [
    ...changes.added.map((peer) => `added flood entry ${peer}`),
    ...changes.removed.map((peer) => `removed flood entry ${peer}`),
  ];
}

function describeApplied(diff: PeerEntriesDiff): string[] {
  return [
    ...diff.put.fdb.map((entry) => `put fdb ${entry.mac} dst ${entry.dst}`),
    ...diff.put.neighbours.map((entry) => `put neighbour ${entry.address} ${entry.mac}`),
    ...diff.put.routes.map((entry) => `put route ${entry.dst} via ${entry.via}`),
    ...diff.remove.fdb.map((entry) => `removed fdb ${entry.mac} dst ${entry.dst}`),
    ...diff.remove.neighbours.map((entry) => `removed neighbour ${entry.address}`),
    ...diff.remove.routes.map((entry) => `removed route ${entry.dst}`),
  ];
}
