// A bridged (l2) VXLAN overlay's flood list: one all-zeros FDB entry per peer on the
// VTEP, so broadcast and unknown unicast are replicated to every peer (head-end
// replication) and learning fills in the rest. Shared by the vxlan-overlay plugin and
// the overlay agent; callers hold the network's host lock (bridgeLockName(bridge)).
import { CniError, ErrorCode } from "../../src/cni/errors";
import { isExists, isNotFound } from "../../src/netlink/codec/errors";
import type { Handle, RequestSpec } from "../../src/netlink/handle";
import { getLink } from "../../src/netlink/links";
import { type NeighSummary, neighRequest, scanNeighs } from "../../src/netlink/neigh";
import { desiredFloodFingerprint, kernelFloodFingerprint } from "./fingerprint";
import { addressKey } from "./peer-entries";
import { throwFirst } from "./reconcile";
import { floodListDigest, stampedFingerprint, writeStamp } from "./stamp";

function mismatch(message: string): CniError {
  return new CniError(ErrorCode.KernelStateMismatch, message);
}

export const FLOOD_MAC = "00:00:00:00:00:00";

/** The VTEP's own remote entries (NTF_SELF with a dst): flood entries and learned MACs (a lean scan: 10,000 per ADD). */
function remoteEntries(host: Handle, vtep: number): NeighSummary[] {
  return scanNeighs(host, "bridge", vtep).filter((entry) => entry.dst !== undefined && entry.master === undefined);
}

export interface FloodChanges {
  added: string[];
  removed: string[];
}

/**
 * Makes the flood list equal to `peers`: missing entries appended, entries of peers no
 * longer listed removed, and with them whatever was learned through those peers. When
 * the VTEP's stamp (stamp.ts) gives this list's fingerprint and the kernel's entries hash
 * to it, nothing differs and the diff is skipped. `stampExtra`: kept in the stamp.
 */
export function reconcileFloodEntries(
  host: Handle,
  vtepName: string,
  peers: readonly string[],
  stampExtra?: string,
): FloodChanges {
  const vtep = getLink(host, vtepName);
  const link = vtep.index;
  const digest = floodListDigest(peers);
  const stamped = stampedFingerprint(vtep.alias, digest);
  const restamp = (fingerprint: string) => writeStamp(host, vtep, { digest, fingerprint, extra: stampExtra });
  const changes: FloodChanges = { added: [], removed: [] };
  if (stamped !== undefined && kernelFloodFingerprint(host, link) === stamped) {
    restamp(stamped);
    return changes;
  }
  const entries = remoteEntries(host, link);
  const wanted = new Set(peers.map(addressKey));
  const flooded = new Set<string>();
  const removals: RequestSpec[] = [];
  for (const entry of entries) {
    const dst = entry.dst ?? "";
    if (wanted.has(addressKey(dst))) {
      if (entry.lladdr === FLOOD_MAC) flooded.add(addressKey(dst));
      continue;
    }
    removals.push(neighRequest(host, "delete", { link, family: "bridge", lladdr: entry.lladdr ?? FLOOD_MAC, dst }));
    if (entry.lladdr === FLOOD_MAC) changes.removed.push(dst);
  }
  // Batched on the one socket: a request and ACK at a time cost about 80 us per peer.
  throwFirst(host.requestMany(removals), isNotFound);
  const appends: RequestSpec[] = [];
  for (const peer of peers) {
    if (flooded.has(addressKey(peer))) continue;
    flooded.add(addressKey(peer)); // a peer listed twice is appended once
    appends.push(neighRequest(host, "append", { link, family: "bridge", lladdr: FLOOD_MAC, dst: peer }));
    changes.added.push(peer);
  }
  throwFirst(host.requestMany(appends), isExists);
  restamp(desiredFloodFingerprint(peers));
  return changes;
}

/**
 * Adds and removes flood entries of the given peers only, without reading the VTEP
 * back (the overlay agent between full passes). What was learned through a removed
 * peer goes at the next full reconcile. The caller holds the lock.
 */
export function changeFloodEntries(host: Handle, vtepName: string, changes: FloodChanges): FloodChanges {
  const link = getLink(host, vtepName).index;
  const entry = (dst: string) => ({ link, family: "bridge" as const, lladdr: FLOOD_MAC, dst });
  throwFirst(host.requestMany(changes.removed.map((dst) => neighRequest(host, "delete", entry(dst)))), isNotFound);
  throwFirst(host.requestMany(changes.added.map((dst) => neighRequest(host, "append", entry(dst)))), isExists);
  return changes;
}

/** CHECK: exactly one flood entry per peer; code 104 naming the first difference otherwise. Keyed, so 1,000 peers cost 1,000 lookups. */
export function checkFloodEntries(host: Handle, vtepName: string, peers: readonly string[]): void {
  const flooded = new Map<string, string>();
  for (const entry of remoteEntries(host, getLink(host, vtepName).index)) {
    if (entry.lladdr === FLOOD_MAC && entry.dst !== undefined) flooded.set(addressKey(entry.dst), entry.dst);
  }
  const wanted = new Set(peers.map(addressKey));
  const missing = peers.find((peer) => !flooded.has(addressKey(peer)));
  if (missing !== undefined) throw mismatch(`VTEP ${vtepName} has no flood entry for peer ${missing}`);
  const extra = [...flooded].find(([key]) => !wanted.has(key));
  if (extra) throw mismatch(`VTEP ${vtepName} has a flood entry for ${extra[1]}, which is not a peer`);
}
