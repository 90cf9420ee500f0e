// A lab event: one rtnetlink change in one namespace, flattened to the fields people
// look at (the names iproute2's -j output uses where there is one), so a JSON line is
// easy to filter and the text line reads like `ip monitor`.
import { Ntf, Nud } from "../../netlink/codec/constants";
import { nudStateNames, protocolName, routeTypeName, scopeName } from "../inspect/names";
import type { RtnlChange } from "../../netlink/monitor";

export type EventKind = "link" | "addr" | "route" | "neigh" | "fdb" | "netns";

export interface LabEvent {
  /** ISO time the change was read. */
  time: string;
  /** The lab node (`h1`, `h1/c1`) or, for a namespace the plan does not know, its name. */
  node: string;
  netns: string;
  kind: EventKind;
  action: "new" | "del";
  /** The interface, by name when known (`#12` otherwise). */
  ifname?: string;
  [field: string]: string | number | boolean | undefined;
}

/** Interface names by index in one namespace, kept current from link events. */
export type LinkNames = Map<number, string>;

/** Route tables by the names `ip route` gives them (iproute2's rt_tables). */
const TABLES: Record<number, string> = { 253: "default", 254: "main", 255: "local" };
function nudState(state: number): string {
  return nudStateNames(state).join(",") || "NONE";
}

/** One word, as `bridge fdb` says it: permanent, static (NOARP), stale, else reachable. */
function fdbState(state: number): string {
  if (state & Nud.PERMANENT) return "permanent";
  if (state & Nud.NOARP) return "static";
  if (state & Nud.STALE) return "stale";
  return "reachable";
}

function nameOf(names: LinkNames, index: number | undefined): string | undefined {
  if (index === undefined || index === 0) return undefined;
  return names.get(index) ?? `#${index}`;
}

/** What an event says besides where and when. */
export type EventFields = Pick<LabEvent, "kind" | "action"> & Record<string, string | number | boolean>;

/** Drops undefined fields so JSON lines carry only what the change has. */
function compact(
  fields: Pick<LabEvent, "kind" | "action"> & Record<string, string | number | boolean | undefined>,
): EventFields {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as EventFields;
}

/** The change's own fields; `names` must already know a new link's name (see trackLinkNames). */
export function eventFields(change: RtnlChange, names: LinkNames): EventFields {
  switch (change.kind) {
    case "link": {
      const { link } = change;
      return compact({
        kind: "link",
        action: change.action,
        ifname: link.name,
        index: link.index,
        type: link.kind,
        mtu: link.mtu,
        up: link.up,
        operstate: link.operstate,
        address: link.mac || undefined,
        master: nameOf(names, link.masterIndex),
      });
    }
    case "addr": {
      const { addr } = change;
      return compact({
        kind: "addr",
        action: change.action,
        ifname: nameOf(names, addr.index),
        local: addr.cidr,
        family: addr.family === 4 ? "inet" : "inet6",
        scope: scopeName(addr.scope),
      });
    }
    case "route": {
      const { route } = change;
      return compact({
        kind: "route",
        action: change.action,
        type: routeTypeName(route.type),
        dst: route.dst,
        gateway: route.gw,
        ifname: nameOf(names, route.oif),
        table: TABLES[route.table] ?? String(route.table),
        protocol: protocolName(route.protocol),
        // Like `ip route`, the universe scope (0) goes without saying.
        scope: route.scope === 0 ? undefined : scopeName(route.scope),
        prefsrc: route.prefsrc,
      });
    }
    case "neigh": {
      const { neigh } = change;
      if (neigh.family === "bridge") {
        return compact({
          kind: "fdb",
          action: change.action,
          ifname: nameOf(names, neigh.index),
          mac: neigh.lladdr,
          dst: neigh.dst,
          vni: neigh.vni,
          vlan: neigh.vlan,
          master: nameOf(names, neigh.master),
          self: (neigh.flags & Ntf.SELF) !== 0 || undefined,
          state: fdbState(neigh.state),
        });
      }
      return compact({
        kind: "neigh",
        action: change.action,
        ifname: nameOf(names, neigh.index),
        dst: neigh.dst,
        lladdr: neigh.lladdr,
        state: nudState(neigh.state),
      });
    }
  }
}

/**
 * Keeps the index -> name map current; call before eventFields. A removed link keeps its
 * entry: the FDB and route deletions that follow it still name it, and a namespace never
 * hands the same index to another link (indexes only grow).
 */
export function trackLinkNames(change: RtnlChange, names: LinkNames): void {
  if (change.kind === "link" && change.link.name !== "") names.set(change.link.index, change.link.name);
}
