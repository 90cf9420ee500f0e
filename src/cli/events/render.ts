// The text form of a lab event: time, node, kind, new/del, then the essentials in the
// order and words of `ip monitor` / `bridge monitor`.
import type { LabEvent } from "./event";

function words(...parts: (string | false | undefined)[]): string {
  return parts.filter((part): part is string => typeof part === "string" && part !== "").join(" ");
}

const opt = (label: string, value: string | number | boolean | undefined): string | undefined =>
  value === undefined ? undefined : `${label} ${value}`;

function details(event: LabEvent): string {
  switch (event.kind) {
    case "link":
      return words(
        event.ifname,
        event.type as string | undefined,
        opt("mtu", event.mtu),
        event.up ? "up" : "down",
        event.operstate as string | undefined,
        opt("master", event.master),
        opt("mac", event.address),
      );
    case "addr":
      return words(event.local as string, opt("dev", event.ifname), opt("scope", event.scope));
    case "route":
      return words(
        event.type !== "unicast" && (event.type as string),
        event.dst as string,
        opt("via", event.gateway),
        opt("dev", event.ifname),
        event.table !== "main" && opt("table", event.table),
        opt("proto", event.protocol),
        opt("scope", event.scope),
      );
    case "neigh":
      return words(
        event.dst as string | undefined,
        opt("dev", event.ifname),
        opt("lladdr", event.lladdr),
        event.state as string,
      );
    case "fdb":
      return words(
        event.mac as string | undefined,
        opt("dev", event.ifname),
        opt("dst", event.dst),
        opt("vni", event.vni),
        opt("vlan", event.vlan),
        opt("master", event.master),
        event.self === true && "self",
        event.state as string,
      );
    case "netns":
      return "";
  }
}

/** HH:MM:SS.mmm, local time. */
function clock(iso: string): string {
  const date = new Date(iso);
  const pad = (value: number, width = 2): string => String(value).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** One line; `nodeWidth` lines the node column up across a lab's names. */
export function renderEvent(event: LabEvent, nodeWidth: number): string {
  return words(
    clock(event.time),
    event.node.padEnd(nodeWidth),
    event.kind.padEnd(5),
    event.action.padEnd(3),
    details(event),
  ).trimEnd();
}
