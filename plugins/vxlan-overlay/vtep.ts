// The VTEP (one vxlan device per VNI on a host, a port of the network's bridge) and its
// flood list: one all-zeros FDB entry per peer, so broadcast and unknown unicast are
// replicated to every peer (head-end replication) and learning fills in the rest.
// Callers hold the bridge's host lock: parallel ADDs must agree on one device and one
// entry per peer.
import { CniError, ErrorCode } from "../../src/cni/errors";
import { sameAddress } from "../../src/ip/cidr";
import { isExists, isNotFound } from "../../src/netlink/codec/errors";
import type { Handle } from "../../src/netlink/handle";
import { addVxlan } from "../../src/netlink/link-create";
import type { Link } from "../../src/netlink/link-decode";
import { deleteLink, findLink, getLink, listLinks, setLink } from "../../src/netlink/links";
import { type Neigh, appendNeigh, deleteNeigh, listNeighs } from "../../src/netlink/neigh";

export const FLOOD_MAC = "00:00:00:00:00:00";

export interface VtepSpec {
  name: string;
  vni: number;
  port: number;
  localAddress: string;
  underlay: Link;
  mtu: number;
  bridgeName: string;
}

/** What about an existing VTEP differs from the spec, or undefined when it is the one we want. */
export function vtepDifference(link: Link, spec: VtepSpec): string | undefined {
  const vxlan = link.vxlan;
  if (link.kind !== "vxlan" || !vxlan) return `is a ${link.kind ?? "plain"} device, not vxlan`;
  if (vxlan.vni !== spec.vni) return `has VNI ${vxlan.vni}, not ${spec.vni}`;
  if (vxlan.port !== spec.port) return `has port ${String(vxlan.port)}, not ${spec.port}`;
  if (vxlan.local === undefined || !sameAddress(vxlan.local, spec.localAddress)) return `has local address ${vxlan.local ?? "none"}, not ${spec.localAddress}`;
  if (vxlan.underlayIndex !== spec.underlay.index) return `runs over interface ${String(vxlan.underlayIndex)}, not ${spec.underlay.name}`;
  if (vxlan.group !== undefined) return `has remote/group ${vxlan.group}, not none`;
  if (vxlan.learning !== true) return "has learning off";
  return undefined;
}

function bridgeIndex(host: Handle, bridgeName: string): number {
  return getLink(host, bridgeName).index;
}

/**
 * Creates the VTEP, or keeps the existing one when it matches; one with the wrong VNI,
 * port, local address or underlay is replaced. Returns whether this call created it.
 */
export function ensureVtep(host: Handle, spec: VtepSpec): { created: boolean } {
  const bridge = bridgeIndex(host, spec.bridgeName);
  let existing = findLink(host, spec.name);
  if (existing && existing.kind !== "vxlan")
    throw new CniError(ErrorCode.InvalidNetworkConfig, `vni: the VTEP name ${spec.name} is taken by a ${existing.kind ?? "plain"} device`);
  if (existing?.masterIndex !== undefined && existing.masterIndex !== bridge)
    throw new CniError(ErrorCode.InvalidNetworkConfig, `vni: VTEP ${spec.name} (VNI ${spec.vni}) is a port of another bridge than ${spec.bridgeName}: another network uses this VNI`);
  if (existing && vtepDifference(existing, spec) !== undefined) {
    deleteLink(host, spec.name);
    existing = undefined;
  }
  let created = false;
  if (!existing) {
    try {
      addVxlan(host, { name: spec.name, vni: spec.vni, local: spec.localAddress, underlay: spec.underlay.index, port: spec.port, learning: true, mtu: spec.mtu });
      created = true;
    } catch (err) {
      if (!isExists(err)) throw err;
    }
    existing = getLink(host, spec.name);
  }
  if (existing.mtu !== spec.mtu) setLink(host, spec.name, { mtu: spec.mtu });
  if (existing.masterIndex !== bridge || !existing.up) setLink(host, spec.name, { master: spec.bridgeName, up: true });
  const bridgeLink = getLink(host, spec.bridgeName);
  if (bridgeLink.mtu !== spec.mtu) setLink(host, spec.bridgeName, { mtu: spec.mtu });
  return { created };
}

/** The VTEP's own remote entries (NTF_SELF with a dst): flood entries and learned MACs. */
function remoteEntries(host: Handle, vtepName: string): Neigh[] {
  return listNeighs(host, { family: "bridge", link: vtepName }).filter((entry) => entry.dst !== undefined && entry.master === undefined);
}

export interface FloodChanges {
  added: string[];
  removed: string[];
}

/**
 * Makes the flood list equal to `peers`: missing entries appended, entries of peers no
 * longer listed removed, and with them whatever was learned through those peers.
 */
export function reconcileFloodEntries(host: Handle, vtepName: string, peers: readonly string[]): FloodChanges {
  const entries = remoteEntries(host, vtepName);
  const changes: FloodChanges = { added: [], removed: [] };
  for (const entry of entries) {
    const dst = entry.dst ?? "";
    if (peers.some((peer) => sameAddress(peer, dst))) continue;
    try {
      deleteNeigh(host, { link: vtepName, family: "bridge", lladdr: entry.lladdr ?? FLOOD_MAC, dst });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (entry.lladdr === FLOOD_MAC) changes.removed.push(dst);
  }
  for (const peer of peers) {
    if (entries.some((entry) => entry.lladdr === FLOOD_MAC && sameAddress(entry.dst ?? "", peer))) continue;
    try {
      appendNeigh(host, { link: vtepName, family: "bridge", lladdr: FLOOD_MAC, dst: peer });
    } catch (err) {
      if (!isExists(err)) throw err;
    }
    changes.added.push(peer);
  }
  return changes;
}

function mismatch(message: string): CniError {
  return new CniError(ErrorCode.KernelStateMismatch, message);
}

/** CHECK: the VTEP is the one the config asks for, on the bridge, with exactly one flood entry per peer. */
export function checkVtep(host: Handle, spec: VtepSpec, peers: readonly string[]): void {
  const vtep = findLink(host, spec.name);
  if (!vtep) throw mismatch(`VTEP ${spec.name} is missing from the host`);
  const difference = vtepDifference(vtep, spec);
  if (difference !== undefined) throw mismatch(`VTEP ${spec.name} ${difference}`);
  if (vtep.masterIndex !== bridgeIndex(host, spec.bridgeName)) throw mismatch(`VTEP ${spec.name} is not a port of bridge ${spec.bridgeName}`);
  const flood = remoteEntries(host, spec.name).filter((entry) => entry.lladdr === FLOOD_MAC);
  for (const peer of peers) {
    if (!flood.some((entry) => sameAddress(entry.dst ?? "", peer))) throw mismatch(`VTEP ${spec.name} has no flood entry for peer ${peer}`);
  }
  const extra = flood.find((entry) => !peers.some((peer) => sameAddress(peer, entry.dst ?? "")));
  if (extra) throw mismatch(`VTEP ${spec.name} has a flood entry for ${String(extra.dst)}, which is not a peer`);
}

export interface OverlayHostObjects {
  vtepName: string;
  bridgeName: string;
  /** Bridge ports that still count as attachments (GC: the valid ones); default: every port. */
  isAttachment?: (port: Link) => boolean;
}

/**
 * Removes the VTEP and the bridge when no container attachment is left on the bridge.
 * Returns whether they were removed. Caller holds the bridge's lock.
 */
export function removeOverlayIfUnused(host: Handle, objects: OverlayHostObjects): boolean {
  const bridge = findLink(host, objects.bridgeName);
  const vtep = findLink(host, objects.vtepName);
  if (bridge) {
    const isAttachment = objects.isAttachment ?? (() => true);
    const ports = listLinks(host).filter((link) => link.masterIndex === bridge.index && link.name !== objects.vtepName);
    if (ports.some(isAttachment)) return false;
  }
  for (const link of [vtep, bridge]) {
    if (!link) continue;
    try {
      deleteLink(host, link.name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return true;
}
