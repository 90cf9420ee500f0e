// The VTEP: one vxlan device per VNI on a host. In l2 it is a port of the network's
// bridge and learns; in l3 it stands alone with learning off, a MAC derived from the VNI
// and the host's underlay address, and the host's VTEP overlay address(es). Callers hold the
// bridge's host lock: parallel ADDs must agree on one device.
import { CniError, ErrorCode } from "../../src/cni/errors";
import { addressOf, prefixLengthOf, sameAddress } from "../../src/ip/cidr";
import { addAddr, deleteAddr, listAddrs } from "../../src/netlink/addrs";
import { RtScope } from "../../src/netlink/codec/constants";
import { isExists, isNotFound } from "../../src/netlink/codec/errors";
import type { Handle } from "../../src/netlink/handle";
import { addVxlan } from "../../src/netlink/link-create";
import type { Link } from "../../src/netlink/link-decode";
import { deleteLink, findLink, getLink, listLinks, setLink } from "../../src/netlink/links";

export interface VtepSpec {
  name: string;
  vni: number;
  port: number;
  localAddress: string;
  underlay: Link;
  mtu: number;
  /** The network's bridge: the VTEP's master in l2; in l3 the VTEP is not bridged. */
  bridgeName: string;
  bridged: boolean;
  learning: boolean;
  /** l3: the derived MAC the peers expect. */
  mac?: string;
  /** l3: the VTEP's overlay addresses with their host prefix ("10.78.1.0/32"), one per family routed. */
  addresses?: string[];
}

/** What about an existing VTEP device differs from the spec, or undefined when it is the one we want. */
export function vtepDifference(link: Link, spec: VtepSpec): string | undefined {
  const vxlan = link.vxlan;
  if (link.kind !== "vxlan" || !vxlan) return `is a ${link.kind ?? "plain"} device, not vxlan`;
  if (vxlan.vni !== spec.vni) return `has VNI ${vxlan.vni}, not ${spec.vni}`;
  if (vxlan.port !== spec.port) return `has port ${String(vxlan.port)}, not ${spec.port}`;
  if (vxlan.local === undefined || !sameAddress(vxlan.local, spec.localAddress))
    return `has local address ${vxlan.local ?? "none"}, not ${spec.localAddress}`;
  if (vxlan.underlayIndex !== spec.underlay.index)
    return `runs over interface ${String(vxlan.underlayIndex)}, not ${spec.underlay.name}`;
  if (vxlan.group !== undefined) return `has remote/group ${vxlan.group}, not none`;
  if (vxlan.learning !== spec.learning) return `has learning ${vxlan.learning === true ? "on" : "off"}`;
  if (spec.mac !== undefined && link.mac.toLowerCase() !== spec.mac.toLowerCase())
    return `has MAC ${link.mac}, not ${spec.mac}`;
  return undefined;
}

/** A VTEP enslaved to a bridge of another network means that network already uses this VNI here. */
function refuseForeignMaster(host: Handle, existing: Link, spec: VtepSpec): void {
  if (existing.masterIndex === undefined) return;
  const bridge = findLink(host, spec.bridgeName);
  if (bridge && existing.masterIndex === bridge.index) return;
  throw new CniError(
    ErrorCode.InvalidNetworkConfig,
    `vni: VTEP ${spec.name} (VNI ${spec.vni}) is a port of another bridge than ${spec.bridgeName}: another network uses this VNI`,
  );
}

/** l3: exactly the VTEP's own overlay addresses (others are left from an earlier subnet or family). */
function ensureVtepAddresses(host: Handle, name: string, addresses: readonly string[]): void {
  const isWanted = (addr: { address: string; prefixLen: number }) =>
    addresses.some((cidr) => sameAddress(addr.address, addressOf(cidr)) && addr.prefixLen === prefixLengthOf(cidr));
  const present = listAddrs(host, { link: name }).filter((addr) => addr.scope === RtScope.UNIVERSE);
  for (const addr of present) if (!isWanted(addr)) deleteAddr(host, { link: name, cidr: addr.cidr });
  for (const cidr of addresses) {
    if (present.some((addr) => isWanted(addr) && sameAddress(addr.address, addressOf(cidr)))) continue;
    try {
      addAddr(host, { link: name, cidr, nodad: true });
    } catch (err) {
      if (!isExists(err)) throw err;
    }
  }
}

/**
 * Creates the VTEP, or keeps the existing one when it matches; one with the wrong VNI,
 * port, local address, underlay, learning or MAC (or bridged when it should not be) is
 * replaced. Returns whether this call created it.
 */
export function ensureVtep(host: Handle, spec: VtepSpec): { created: boolean } {
  let existing = findLink(host, spec.name);
  if (existing && existing.kind !== "vxlan")
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `vni: the VTEP name ${spec.name} is taken by a ${existing.kind ?? "plain"} device`,
    );
  if (existing) refuseForeignMaster(host, existing, spec);
  if (
    existing &&
    (vtepDifference(existing, spec) !== undefined || (!spec.bridged && existing.masterIndex !== undefined))
  ) {
    deleteLink(host, spec.name);
    existing = undefined;
  }
  let created = false;
  if (!existing) {
    try {
      addVxlan(host, {
        name: spec.name,
        vni: spec.vni,
        local: spec.localAddress,
        underlay: spec.underlay.index,
        port: spec.port,
        learning: spec.learning,
        mtu: spec.mtu,
        ...(spec.mac !== undefined && { mac: spec.mac }),
      });
      created = true;
    } catch (err) {
      if (!isExists(err)) throw err;
    }
    existing = getLink(host, spec.name);
  }
  if (existing.mtu !== spec.mtu) setLink(host, spec.name, { mtu: spec.mtu });
  if (spec.addresses !== undefined) ensureVtepAddresses(host, spec.name, spec.addresses);
  const bridge = getLink(host, spec.bridgeName);
  if (spec.bridged && existing.masterIndex !== bridge.index)
    setLink(host, spec.name, { master: spec.bridgeName, up: true });
  else if (!existing.up) setLink(host, spec.name, { up: true });
  if (bridge.mtu !== spec.mtu) setLink(host, spec.bridgeName, { mtu: spec.mtu });
  return { created };
}

export function mismatch(message: string): CniError {
  return new CniError(ErrorCode.KernelStateMismatch, message);
}

/** CHECK: the VTEP device is the one the config asks for, bridged or standalone as the mode says. */
export function checkVtepDevice(host: Handle, spec: VtepSpec): void {
  const vtep = findLink(host, spec.name);
  if (!vtep) throw mismatch(`VTEP ${spec.name} is missing from the host`);
  const difference = vtepDifference(vtep, spec);
  if (difference !== undefined) throw mismatch(`VTEP ${spec.name} ${difference}`);
  if (spec.bridged && vtep.masterIndex !== getLink(host, spec.bridgeName).index)
    throw mismatch(`VTEP ${spec.name} is not a port of bridge ${spec.bridgeName}`);
  if (!spec.bridged && vtep.masterIndex !== undefined)
    throw mismatch(`VTEP ${spec.name} is a bridge port; in l3 mode it stands alone`);
  if (!vtep.up) throw mismatch(`VTEP ${spec.name} is down`);
  const present = listAddrs(host, { link: spec.name });
  for (const address of spec.addresses ?? []) {
    if (
      !present.some(
        (addr) => sameAddress(addr.address, addressOf(address)) && addr.prefixLen === prefixLengthOf(address),
      )
    )
      throw mismatch(`VTEP ${spec.name} lacks its overlay address ${address}`);
  }
}

export interface OverlayHostObjects {
  vtepName: string;
  bridgeName: string;
  /** Bridge ports that still count as attachments (GC: the valid ones); default: every port. */
  isAttachment?: (port: Link) => boolean;
}

/**
 * Removes the VTEP and the bridge when no container attachment is left on the bridge
 * (the VTEP's routes and neighbours go with it). Returns whether they were removed.
 * Caller holds the bridge's lock.
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
