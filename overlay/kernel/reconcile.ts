// The kernel half of a routed (l3) VXLAN overlay's peer entries: read what the VTEP has,
// diff it against the peer list (peer-entries.ts), apply the difference. Used by
// the vxlan-overlay plugin on every ADD (and CHECK, read-only) and meant for the overlay
// agent too. Callers hold the network's host lock (withHostLock(bridgeLockName(bridge)))
// so that a plugin run and an agent pass never interleave their changes.
import { Nud, RtProt, RtnType } from "../../src/netlink/codec/constants";
import { type NetlinkError, isExists, isNotFound } from "../../src/netlink/codec/errors";
import type { Handle } from "../../src/netlink/handle";
import { getLink } from "../../src/netlink/links";
import { neighRequest, scanNeighs } from "../../src/netlink/neigh";
import { routeRequest, scanRoutes } from "../../src/netlink/routes";
import {
  type KernelPeerEntries,
  type L3Peer,
  type PeerEntriesDiff,
  desiredPeerEntries,
  diffPeerEntries,
  routeMetric,
} from "./peer-entries";
import { desiredFingerprint, kernelFingerprint } from "./fingerprint";
import { peerListDigest, stampedFingerprint, writeStamp } from "./stamp";

export interface OverlayVtepRef {
  /** The VXLAN device, e.g. "vx4242". */
  vtepName: string;
  /** Its VNI: the peers' VTEP MACs are derived from it. */
  vni: number;
}

/**
 * The entries on the VTEP this overlay owns: its remote FDB entries, its permanent
 * neighbours (learned or failed ones come and go by themselves), and its main-table
 * unicast routes other than the kernel's own (link-local, address prefixes).
 * Throws NotFoundError when the VTEP does not exist.
 */
export function readPeerEntries(host: Handle, vtepName: string): KernelPeerEntries {
  // The lean scans (one pass per entry, the kernel filtering by device where it can):
  // a VTEP of 10,000 peers holds 30,000 entries, read back on every ADD.
  const link = getLink(host, vtepName).index;
  const fdb: KernelPeerEntries["fdb"] = [];
  for (const entry of scanNeighs(host, "bridge", link))
    if (entry.dst !== undefined && entry.lladdr !== undefined && entry.master === undefined)
      fdb.push({ mac: entry.lladdr, dst: entry.dst });
  const neighbours: KernelPeerEntries["neighbours"] = [];
  for (const entry of scanNeighs(host, undefined, link))
    if ((entry.state & Nud.PERMANENT) !== 0 && entry.dst !== undefined && entry.lladdr !== undefined)
      neighbours.push({ address: entry.dst, mac: entry.lladdr });
  const routes: KernelPeerEntries["routes"] = [];
  for (const route of scanRoutes(host, link))
    if (
      route.type === RtnType.UNICAST &&
      route.protocol !== RtProt.KERNEL &&
      route.dst !== "default" &&
      route.gw !== undefined
    )
      routes.push({ dst: route.dst, via: route.gw, onlink: route.onlink });
  return { fdb, neighbours, routes };
}

/** The first error of a batch that `tolerated` does not excuse, thrown; the batch itself ran to its end. */
export function throwFirst(
  results: ReadonlyArray<NetlinkError | undefined>,
  tolerated: (err: NetlinkError) => boolean,
): void {
  const failure = results.find((err) => err !== undefined && !tolerated(err));
  if (failure) throw failure;
}

/**
 * Applies a diff: removals first (routes, neighbours, FDB: the reverse of how a peer is
 * built), then puts (FDB, neighbours, routes). Puts are replaces, so a wrong MAC or a
 * route without onlink is corrected in place and a parallel writer's entry is no error.
 * Each half goes to the kernel in batches on the one socket (Handle.requestMany): one
 * request and ACK at a time cost about 100 us each, which 10,000 peers make 3 s.
 */
export function applyPeerEntriesDiff(host: Handle, vtepName: string, diff: PeerEntriesDiff): void {
  const link = getLink(host, vtepName).index;
  const removals = [
    ...diff.remove.routes.map((route) => routeRequest(host, "delete", { dst: route.dst, gw: route.via, oif: link })),
    ...diff.remove.neighbours.map((entry) => neighRequest(host, "delete", { link, dst: entry.address })),
    ...diff.remove.fdb.map((entry) =>
      neighRequest(host, "delete", { link, family: "bridge", lladdr: entry.mac, dst: entry.dst }),
    ),
  ];
  throwFirst(host.requestMany(removals), isNotFound);
  const fdbPuts = diff.put.fdb.map((entry) =>
    neighRequest(host, "replace", { link, family: "bridge", lladdr: entry.mac, dst: entry.dst, self: true }),
  );
  const neighbourPuts = diff.put.neighbours.map((entry) =>
    neighRequest(host, "replace", { link, dst: entry.address, lladdr: entry.mac, state: Nud.PERMANENT }),
  );
  throwFirst(host.requestMany([...fdbPuts, ...neighbourPuts]), () => false);
  const routePuts = diff.put.routes.map((route) =>
    routeRequest(host, "replace", {
      dst: route.dst,
      gw: route.via,
      oif: link,
      onlink: true,
      priority: routeMetric(route.dst),
    }),
  );
  throwFirst(host.requestMany(routePuts), isExists);
}

/** What differs between the VTEP's entries and `peers` (the remote peers only); changes nothing. */
export function comparePeerEntries(host: Handle, vtep: OverlayVtepRef, peers: readonly L3Peer[]): PeerEntriesDiff {
  return diffPeerEntries(desiredPeerEntries(vtep.vni, peers), readPeerEntries(host, vtep.vtepName));
}

/**
 * Makes the VTEP's FDB, neighbour and route entries exactly those of `peers` (the remote
 * peers only: leave our own host out). Returns what it changed (empty when nothing was
 * needed). The VTEP must exist (NotFoundError otherwise); the caller holds the lock.
 * `stampExtra`: kept in the VTEP's stamp beside the list's (stamp.ts).
 */
export function reconcilePeerEntries(
  host: Handle,
  vtep: OverlayVtepRef,
  peers: readonly L3Peer[],
  stampExtra?: string,
): PeerEntriesDiff {
  // The already-reconciled case (every ADD after the first): when the VTEP's stamp says
  // which fingerprint this very list's entries have and the kernel's entries hash to it,
  // nothing differs, and deriving, formatting and diffing 30,000 entries is skipped.
  const link = getLink(host, vtep.vtepName);
  const digest = peerListDigest(vtep.vni, peers);
  const stamped = stampedFingerprint(link.alias, digest);
  const restamp = (fingerprint: string) => writeStamp(host, link, { digest, fingerprint, extra: stampExtra });
  if (stamped !== undefined && kernelFingerprint(host, link.index) === stamped) {
    restamp(stamped);
    return { put: { fdb: [], neighbours: [], routes: [] }, remove: { fdb: [], neighbours: [], routes: [] } };
  }
  const desired = desiredPeerEntries(vtep.vni, peers);
  const diff = diffPeerEntries(desired, readPeerEntries(host, vtep.vtepName));
  applyPeerEntriesDiff(host, vtep.vtepName, diff);
  restamp(desiredFingerprint(desired));
  return diff;
}
