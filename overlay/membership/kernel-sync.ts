// The agent's kernel half: after every change of the live set, make this host's VTEP
// entries equal to it with the plugin's own reconciliation code (l2: the flood list; l3:
// FDB + neighbour + route per peer), under the same host lock as the plugin, so an ADD
// and an agent pass never interleave. Until the first ADD creates the VTEP there is
// nothing to program: the plugin reads the peersFile then.
import { sameAddress } from "../../src/ip/cidr";
import { isNotFound } from "../../src/netlink/codec/errors";
import { Handle } from "../../src/netlink/handle";
import { bridgeLockName } from "../../src/plugin/lock-layout";
import { withHostLock } from "../../src/plugin/host-lock";
import { overlayBridgeName, overlayVtepName } from "../kernel/names";
import { changeFloodEntries, reconcileFloodEntries } from "../kernel/flood";
import { type PeerEntries, type PeerEntriesDiff, desiredPeerEntries, vtepMac } from "../kernel/peer-entries";
import { applyPeerEntriesDiff, reconcilePeerEntries } from "../kernel/reconcile";
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

/** Every this often a pass reads the VTEP back and repairs it (entries removed by hand, a re-created VTEP). */
export const FULL_RECONCILE_MS = 25_000;

/**
 * What this agent last made the kernel hold, per remote host: its underlay address and
 * the entries' key (its subnets). Between full passes a change of the live set is
 * applied as the difference to it, so a host joining a 1,000-host overlay costs its own
 * entries, not a read of everyone's.
 */
interface Applied {
  byHost: Map<string, { underlayAddress: string; subnets: string[] }>;
  fullAt: number;
}

/** The `onMembers` hook of the agent. */
export function kernelSync(
  options: KernelSyncOptions,
): (members: readonly HostLease[], self: HostLease) => Promise<void> {
  const vtepName = options.vtepName ?? overlayVtepName(options.vni);
  const bridgeName = options.bridgeName ?? overlayBridgeName(options.vni);
  let waitingReported = false;
  let applied: Applied | undefined;
  return async (members, self) => {
    const remote = members.filter((member) => !sameAddress(member.underlayAddress, self.underlayAddress));
    const wanted = new Map(
      remote.map((member) => [
        member.underlayAddress,
        { underlayAddress: member.underlayAddress, subnets: l3Peer(member).map((peer) => peer.subnet) },
      ]),
    );
    await withHostLock(bridgeLockName(bridgeName), async () => {
      const host = Handle.at(null);
      try {
        const target = { ...options, vtepName };
        let changes: string[] | undefined;
        let fullAt = applied?.fullAt ?? 0;
        if (applied && Date.now() - applied.fullAt < FULL_RECONCILE_MS) {
          try {
            changes = applyDifference(host, target, applied.byHost, wanted);
          } catch (err) {
            // Whatever went wrong, the full pass below reads the truth back.
            if (!isNotFound(err)) options.log(`${vtepName}: ${(err as Error).message}; reading the VTEP back`);
          }
        }
        if (changes === undefined) {
          applied = undefined;
          changes = fullPass(host, target, remote);
          fullAt = Date.now();
        }
        applied = { byHost: wanted, fullAt };
        waitingReported = false;
        if (changes.length > 0) options.log(`${vtepName}: ${changes.join(", ")}`);
      } catch (err) {
        applied = undefined;
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

type SyncTarget = KernelSyncOptions & { vtepName: string };

/** Reads the VTEP back and makes it equal to `remote` (the plugin's own reconciliation). */
function fullPass(host: Handle, target: SyncTarget, remote: readonly HostLease[]): string[] {
  if (target.mode === "l2")
    return describeFlood(
      reconcileFloodEntries(
        host,
        target.vtepName,
        remote.map((member) => member.underlayAddress),
      ),
    );
  return describeApplied(
    reconcilePeerEntries(
      host,
      { vtepName: target.vtepName, vni: target.vni },
      remote.flatMap((member) => l3Peer(member)),
    ),
  );
}

type HostEntries = Map<string, { underlayAddress: string; subnets: string[] }>;

/** Only what changed since `before`: the entries of hosts that left or changed go, those of hosts that joined or changed come. */
function applyDifference(host: Handle, target: SyncTarget, before: HostEntries, after: HostEntries): string[] {
  const same = (key: string) => before.get(key)?.subnets.join(" ") === after.get(key)?.subnets.join(" ");
  const gone = [...before.keys()].filter((key) => !after.has(key) || !same(key));
  const come = [...after.keys()].filter((key) => !before.has(key) || !same(key));
  if (gone.length + come.length === 0) return [];
  if (target.mode === "l2") {
    const removed = gone.filter((key) => !after.has(key));
    const added = come.filter((key) => !before.has(key));
    return describeFlood(changeFloodEntries(host, target.vtepName, { added, removed }));
  }
  const entriesOf = (hosts: HostEntries, keys: string[]) =>
    desiredPeerEntries(
      target.vni,
      keys.flatMap((key) => (hosts.get(key)?.subnets ?? []).map((subnet) => ({ underlayAddress: key, subnet }))),
    );
  const diff = entriesDiff(entriesOf(before, gone), entriesOf(after, come));
  applyPeerEntriesDiff(host, target.vtepName, diff);
  return describeApplied(diff);
}

/** The diff that removes `removed` and puts `put` (one FDB entry per host, a neighbour and a route per subnet). */
function entriesDiff(removed: readonly PeerEntries[], put: readonly PeerEntries[]): PeerEntriesDiff {
  const fdbOf = (entries: readonly PeerEntries[]) => [
    ...new Map(
      entries.map((entry) => [entry.underlayAddress, { mac: entry.vtepMac, dst: entry.underlayAddress }]),
    ).values(),
  ];
  const changes = (entries: readonly PeerEntries[]) => ({
    fdb: fdbOf(entries),
    neighbours: entries.map((entry) => ({ address: entry.vtepAddress, mac: entry.vtepMac })),
    routes: entries.map((entry) => ({ dst: entry.subnet, via: entry.vtepAddress })),
  });
  return { remove: changes(removed), put: changes(put) };
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
