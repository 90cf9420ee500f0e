// One namespace's network state read through our netlink codec, in a plain shape for
// `--json` and for the tables: names instead of indexes, words instead of numbers.
import { Ntf } from "../../netlink/codec/constants";
import { listAddrs } from "../../netlink/addrs";
import type { Handle } from "../../netlink/handle";
import type { Link, VxlanInfo } from "../../netlink/link-decode";
import { listLinks } from "../../netlink/links";
import { listNeighs } from "../../netlink/neigh";
import { listRoutes } from "../../netlink/routes";
import { nudStateNames, protocolName, routeTypeName, scopeName } from "./names";

export interface LinkView {
  index: number;
  name: string;
  kind?: string;
  mtu: number;
  mac: string;
  up: boolean;
  operstate: string;
  master?: string;
  /** For a veth: the peer's index, in another namespace when `peerNetnsId` is set. */
  peerIndex?: number;
  peerNetnsId?: number;
  vxlan?: VxlanInfo;
}

export interface AddressView {
  dev: string;
  family: 4 | 6;
  address: string;
  prefixLen: number;
  scope: string;
}

export interface RouteView {
  family: 4 | 6;
  dst: string;
  type: string;
  gateway?: string;
  dev?: string;
  protocol: string;
  scope: string;
  prefsrc?: string;
  metric?: number;
  mtu?: number;
}

export interface FdbView {
  mac: string;
  dev: string;
  master?: string;
  /** Remote VTEP of a vxlan entry. */
  dst?: string;
  vni?: number;
  vlan?: number;
  /** "self" (the device's own table) and/or "master" (the bridge's). */
  flags: string[];
  state: string[];
}

export interface NeighbourView {
  family: 4 | 6;
  dst: string;
  dev: string;
  lladdr?: string;
  state: string[];
  router: boolean;
}

export interface NetnsSnapshot {
  netns: string;
  links: LinkView[];
  addresses: AddressView[];
  routes: RouteView[];
  fdb: FdbView[];
  neighbours: NeighbourView[];
}

function linkView(link: Link, nameOf: (index: number | undefined) => string | undefined): LinkView {
  const view: LinkView = {
    index: link.index,
    name: link.name,
    mtu: link.mtu,
    mac: link.mac,
    up: link.up,
    operstate: link.operstate,
  };
  if (link.kind) view.kind = link.kind;
  const master = nameOf(link.masterIndex);
  if (master) view.master = master;
  if (link.parentIndex !== undefined) view.peerIndex = link.parentIndex;
  if (link.linkNetnsId !== undefined) view.peerNetnsId = link.linkNetnsId;
  if (link.vxlan) view.vxlan = link.vxlan;
  return view;
}

function flagNames(flags: number): string[] {
  const names: string[] = [];
  if (flags & Ntf.SELF) names.push("self");
  if (flags & Ntf.MASTER) names.push("master");
  if (flags & Ntf.EXT_LEARNED) names.push("extern_learn");
  if (flags & Ntf.STICKY) names.push("sticky");
  return names;
}

/** Everything `cnikit inspect` shows, from one handle (one socket in that namespace). */
export function takeSnapshot(handle: Handle, netns: string): NetnsSnapshot {
  const links = listLinks(handle);
  const names = new Map(links.map((link) => [link.index, link.name]));
  const nameOf = (index: number | undefined): string | undefined =>
    index === undefined ? undefined : (names.get(index) ?? `#${index}`);
  const addresses = listAddrs(handle).map((addr) => ({
    dev: nameOf(addr.index) ?? "",
    family: addr.family,
    address: addr.address,
    prefixLen: addr.prefixLen,
    scope: scopeName(addr.scope),
  }));
  const routes = listRoutes(handle).map((route) => {
    const view: RouteView = {
      family: route.family,
      dst: route.dst,
      type: routeTypeName(route.type),
      protocol: protocolName(route.protocol),
      scope: scopeName(route.scope),
    };
    if (route.gw) view.gateway = route.gw;
    const dev = nameOf(route.oif);
    if (dev) view.dev = dev;
    if (route.prefsrc) view.prefsrc = route.prefsrc;
    if (route.priority !== undefined) view.metric = route.priority;
    if (route.mtu !== undefined) view.mtu = route.mtu;
    return view;
  });
  const fdb = listNeighs(handle, { family: "bridge" }).map((entry) => {
    const view: FdbView = {
      mac: entry.lladdr ?? "",
      dev: nameOf(entry.index) ?? "",
      flags: flagNames(entry.flags),
      state: nudStateNames(entry.state),
    };
    const master = nameOf(entry.master);
    if (master) view.master = master;
    if (entry.dst) view.dst = entry.dst;
    if (entry.vni !== undefined) view.vni = entry.vni;
    if (entry.vlan !== undefined) view.vlan = entry.vlan;
    return view;
  });
  const neighbours = listNeighs(handle)
    .filter(
      (entry): entry is typeof entry & { family: 4 | 6; dst: string } =>
        entry.family !== "bridge" && entry.dst !== undefined,
    )
    .map((entry) => {
      const view: NeighbourView = {
        family: entry.family,
        dst: entry.dst,
        dev: nameOf(entry.index) ?? "",
        state: nudStateNames(entry.state),
        router: (entry.flags & Ntf.ROUTER) !== 0,
      };
      if (entry.lladdr) view.lladdr = entry.lladdr;
      return view;
    });
  return { netns, links: links.map((link) => linkView(link, nameOf)), addresses, routes, fdb, neighbours };
}
