// The readable view of a snapshot: one table per kind of object, empty ones left out.
import { formatTable } from "../output";
import type { FdbView, LinkView, NetnsSnapshot } from "./snapshot";

export interface RenderOptions {
  /** Also show the multicast FDB entries of every port and NOARP neighbours (as `ip neigh show nud all`). */
  all?: boolean;
}

/** 33:33:* (IPv6) and 01:00:5e:* (IPv4) multicast MACs the kernel adds to every port. */
function isMulticastSelfEntry(entry: FdbView): boolean {
  return /^(33:33:|01:00:5e:)/.test(entry.mac) && entry.flags.includes("self") && entry.state.includes("PERMANENT");
}

function linkDetail(link: LinkView): string {
  const details: string[] = [];
  if (link.master) details.push(`master ${link.master}`);
  if (link.kind === "veth" && link.peerIndex !== undefined) {
    details.push(
      link.peerNetnsId === undefined
        ? `peer #${link.peerIndex}`
        : `peer #${link.peerIndex} in netns id ${link.peerNetnsId}`,
    );
  }
  if (link.vxlan) {
    const vxlan = link.vxlan;
    details.push(`vni ${vxlan.vni}`);
    if (vxlan.local) details.push(`local ${vxlan.local}`);
    if (vxlan.port !== undefined) details.push(`port ${vxlan.port}`);
    if (vxlan.learning === false) details.push("nolearning");
  }
  return details.join(", ");
}

function section(title: string, header: string[], rows: string[][], note?: string): string | undefined {
  if (rows.length === 0 && !note) return undefined;
  const body = rows.length > 0 ? formatTable(header, rows) : "";
  return [title, body, note].filter((part) => part).join("\n");
}

export function renderSnapshot(snapshot: NetnsSnapshot, options: RenderOptions = {}): string {
  const fdb = options.all ? snapshot.fdb : snapshot.fdb.filter((entry) => !isMulticastSelfEntry(entry));
  const hidden = snapshot.fdb.length - fdb.length;
  const neighbours = options.all
    ? snapshot.neighbours
    : snapshot.neighbours.filter((entry) => !entry.state.includes("NOARP"));
  const sections = [
    `netns ${snapshot.netns}`,
    section(
      "LINKS",
      ["INDEX", "NAME", "KIND", "STATE", "MTU", "MAC", "DETAILS"],
      snapshot.links.map((link) => [
        String(link.index),
        link.name,
        link.kind ?? "-",
        link.up ? link.operstate : "DOWN",
        String(link.mtu),
        link.mac || "-",
        linkDetail(link),
      ]),
    ),
    section(
      "ADDRESSES",
      ["DEV", "ADDRESS", "SCOPE"],
      snapshot.addresses.map((addr) => [addr.dev, `${addr.address}/${addr.prefixLen}`, addr.scope]),
    ),
    section(
      "ROUTES",
      ["DST", "VIA", "DEV", "PROTO", "SCOPE", "SRC", "METRIC"],
      snapshot.routes.map((route) => [
        route.type === "unicast" ? route.dst : `${route.type} ${route.dst}`,
        route.gateway ?? "-",
        route.dev ?? "-",
        route.protocol,
        route.scope,
        route.prefsrc ?? "-",
        route.metric === undefined ? "-" : String(route.metric),
      ]),
    ),
    section(
      "FDB",
      ["MAC", "DEV", "MASTER", "DST", "VNI", "VLAN", "FLAGS", "STATE"],
      fdb.map((entry) => [
        entry.mac,
        entry.dev,
        entry.master ?? "-",
        entry.dst ?? "-",
        entry.vni === undefined ? "-" : String(entry.vni),
        entry.vlan === undefined ? "-" : String(entry.vlan),
        entry.flags.join(",") || "-",
        entry.state.join(",").toLowerCase() || "-",
      ]),
      hidden > 0 ? `(${hidden} multicast entries of the ports' own tables not shown; --all shows them)` : undefined,
    ),
    section(
      "NEIGHBOURS",
      ["DST", "DEV", "LLADDR", "STATE"],
      neighbours.map((entry) => [entry.dst, entry.dev, entry.lladdr ?? "-", entry.state.join(",") || "NONE"]),
    ),
  ];
  return sections.filter((part): part is string => part !== undefined).join("\n\n");
}
