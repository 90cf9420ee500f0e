// Layer 2 of the path walk (path.ts): leaving by an interface, crossing a veth, a
// bridge's forwarding decision (its FDB, flooding), a VTEP's remote for the destination
// MAC (its FDB: the MAC's own entry, else the all-zeros flood entries) and the far
// VTEP taking the inner frame out again.
import { Ntf, Nud } from "../../netlink/codec/constants";
import type { Link } from "../../netlink/link-decode";
import type { Carried, PathWalker } from "./path";
import type { PathStep } from "./types";
import { tool } from "./tool-commands";

const ZERO_MAC = "00:00:00:00:00:00";
const BROADCAST_MAC = "ff:ff:ff:ff:ff:ff";
/** Outer IP + UDP + VXLAN + inner Ethernet. */
const VXLAN_OVERHEAD = { 4: 50, 6: 70 } as const;
const DEFAULT_VXLAN_PORT = 8472;

function linkCommand(netns: string, ifName: string): string {
  return `${tool("ip", netns)} -d link show dev ${ifName}`;
}

/** Why a link cannot send: down, or no carrier (a veth whose other end is down). */
function linkFault(walker: PathWalker, netns: string, link: Link): string | undefined {
  if (!link.up) return `${link.name} is down`;
  if (link.operstate === "LOWERLAYERDOWN" || link.operstate === "DOWN") {
    const peer = walker.view.vethPeer(netns, link);
    if (peer && !peer.link.up)
      return `${link.name} has no carrier: its other end, ${walker.view.labelOf(peer.netns)}:${peer.link.name}, is down`;
    return `${link.name} has no carrier (operstate ${link.operstate})`;
  }
  return undefined;
}

/** The packet leaves `netns` by `link` towards `mac` (undefined: no link-layer address needed or known). */
export function egressLink(
  walker: PathWalker,
  netns: string,
  link: Link,
  mac: string | undefined,
  packet: Carried,
): void {
  if (!walker.going) return;
  const peer = link.kind === "veth" ? walker.view.vethPeer(netns, link) : undefined;
  const towards = peer ? ` -> ${walker.view.labelOf(peer.netns)}:${peer.link.name}` : "";
  const detail = `${link.name} ${link.kind ?? "device"} ${link.up ? "up" : "DOWN"} mtu ${link.mtu}${towards}`;
  const outer = packet.tunnel !== undefined;
  const base = {
    netns,
    kind: "egress" as const,
    ifName: link.name,
    detail,
    command: linkCommand(netns, link.name),
    outer,
  };
  const fault = linkFault(walker, netns, link);
  if (fault) {
    walker.add({ ...base, status: "break", fault: "link-down", reason: fault });
  } else if (packet.size > link.mtu) {
    const reason = packet.tunnel
      ? `the VXLAN packet (${packet.tunnel.inner.size} + ${packet.size - packet.tunnel.inner.size} bytes of headers) is larger than ${link.name}'s MTU ${link.mtu}; the inner packet has DF, so the VTEP answers "fragmentation needed" (mtu ${link.mtu - (packet.size - packet.tunnel.inner.size)}) and drops it`
      : `the ${packet.size}-byte packet is larger than ${link.name}'s MTU ${link.mtu} and has DF`;
    walker.add({ ...base, status: "break", fault: "mtu", reason });
  } else {
    walker.add({ ...base, status: "ok" });
  }
  if (link.kind === "veth") {
    if (!peer) {
      walker.add({
        netns,
        kind: "egress",
        ifName: link.name,
        detail: `${link.name}: the other end is in no namespace this trace can see`,
        status: "note",
        command: linkCommand(netns, link.name),
        outer,
      });
      return walker.stop();
    }
    return ingressLink(walker, peer.netns, peer.link, mac, packet);
  }
  if (link.kind === "vxlan") return vtepOut(walker, netns, link, mac, packet);
  if (link.kind === "bridge") return bridgeForward(walker, netns, link, mac, packet, undefined);
  walker.stop();
}

/** A frame arrives on `link`: into its bridge, or up to the IP layer if it is addressed here. */
function ingressLink(walker: PathWalker, netns: string, link: Link, mac: string | undefined, packet: Carried): void {
  if (!walker.going) return;
  const master = walker.linkByIndex(netns, link.masterIndex);
  const detail = `${link.name} ${link.kind ?? "device"} ${link.up ? "up" : "DOWN"} mtu ${link.mtu}${master ? `, port of ${master.name}` : ""}`;
  const base = {
    netns,
    kind: "ingress" as const,
    ifName: link.name,
    detail,
    command: linkCommand(netns, link.name),
    outer: packet.tunnel !== undefined,
  };
  const forUs = master !== undefined || mac === undefined || mac === link.mac || mac === BROADCAST_MAC;
  if (!link.up)
    walker.add({ ...base, status: "break", fault: "link-down", reason: `${link.name} is down: it takes nothing in` });
  else if (!forUs)
    walker.add({
      ...base,
      status: "break",
      fault: "not-for-us",
      reason: `the frame is for ${mac}, not ${link.name}'s ${link.mac}: the kernel drops it (OTHERHOST)`,
    });
  else walker.add({ ...base, status: "ok" });
  if (master) return bridgeForward(walker, netns, master, mac, packet, link);
  if (forUs) return walker.ipLayer(netns, packet, link);
  walker.stop();
}

/** A bridge forwards by its FDB: to the port the MAC is behind, to itself, or floods. */
function bridgeForward(
  walker: PathWalker,
  netns: string,
  bridge: Link,
  mac: string | undefined,
  packet: Carried,
  ingress: Link | undefined,
): void {
  if (!walker.going) return;
  const { fdb, links } = walker.view.state(netns);
  const command = `${tool("bridge", netns)} fdb show br ${bridge.name}`;
  const outer = packet.tunnel !== undefined;
  // Every step here is the bridge's; what differs is where it sent the frame and the verdict.
  const bridgeStep = (fields: Pick<PathStep, "detail" | "status" | "fault" | "reason">) =>
    walker.add({ netns, kind: "bridge", ifName: bridge.name, ...fields, command, outer });
  if (mac === undefined) {
    bridgeStep({
      detail: `${bridge.name}: destination MAC unknown`,
      status: "note",
      reason: "the destination's MAC address is not known, so its bridge port cannot be told",
    });
    return walker.stop();
  }
  const entry = fdb.find(
    (each) =>
      each.lladdr === mac &&
      (each.master === bridge.index || each.index === bridge.index) &&
      (each.flags & Ntf.SELF) === 0,
  );
  if (entry && (entry.state & Nud.PERMANENT) !== 0) {
    bridgeStep({
      detail: `${bridge.name} fdb ${mac}: its own address, up to ${walker.view.labelOf(netns)}`,
      status: "ok",
    });
    return walker.ipLayer(netns, packet, bridge);
  }
  const ports = links.filter((link) => link.masterIndex === bridge.index);
  const port = entry && links.find((link) => link.index === entry.index);
  if (port) {
    if (port === ingress) {
      bridgeStep({
        detail: `${bridge.name} fdb ${mac} -> ${port.name}`,
        status: "break",
        fault: "hairpin",
        reason: `${bridge.name} has ${mac} behind ${port.name}, where the frame came from: it is not sent back`,
      });
      return walker.stop();
    }
    bridgeStep({
      detail: `${bridge.name} fdb ${mac} -> ${port.name}`,
      status: "ok",
    });
    return egressLink(walker, netns, port, mac, packet);
  }
  const flooded = ports.filter((link) => link !== ingress);
  // Of the ports flooded to, the one the MAC is behind: a veth whose far end has it, else the VTEP.
  const target =
    flooded.find((link) => link.kind === "veth" && walker.view.vethPeer(netns, link)?.link.mac === mac) ??
    (ingress?.kind === "vxlan" ? undefined : flooded.find((link) => link.kind === "vxlan"));
  const detail = `${bridge.name} fdb ${mac}: none, flooded to ${flooded.map((link) => link.name).join(", ") || "no port"}`;
  if (!target) {
    bridgeStep({
      detail,
      status: "break",
      fault: "unknown-mac",
      reason: `${bridge.name} has no FDB entry for ${mac} and none of its ports leads to it`,
    });
    return walker.stop();
  }
  bridgeStep({
    detail,
    status: "note",
    reason: `no FDB entry for ${mac}: the bridge floods, the copy on ${target.name} goes on`,
  });
  egressLink(walker, netns, target, mac, packet);
}

/** A VTEP's remote for the MAC: its own FDB entry, else the all-zeros (flood) entries, else the device's remote. */
function vtepOut(walker: PathWalker, netns: string, vtep: Link, mac: string | undefined, packet: Carried): void {
  if (!walker.going) return;
  const info = vtep.vxlan;
  if (!info) return walker.stop();
  const port = info.port ?? DEFAULT_VXLAN_PORT;
  const command = `${tool("bridge", netns)} fdb show dev ${vtep.name}`;
  const remotes = walker.view
    .state(netns)
    .fdb.filter((each) => each.index === vtep.index && each.dst !== undefined && (each.flags & Ntf.MASTER) === 0);
  const exact = mac === undefined ? undefined : remotes.find((each) => each.lladdr === mac);
  const floods = remotes.filter((each) => each.lladdr === ZERO_MAC);
  const serving = mac === undefined ? undefined : walker.view.vtepServing(info.vni, port, mac, netns);
  const base = { netns, kind: "vtep" as const, ifName: vtep.name, command };
  let remote: string | undefined;
  if (exact?.dst) {
    remote = exact.dst;
    walker.add({ ...base, detail: `${vtep.name} vni ${info.vni} port ${port}: ${mac} dst ${remote}`, status: "ok" });
  } else if (floods.length > 0) {
    remote = floods.find((each) => each.dst === serving)?.dst ?? floods[0]?.dst;
    const all = floods.map((each) => each.dst).join(", ");
    walker.add({
      ...base,
      detail: `${vtep.name} vni ${info.vni} port ${port}: ${mac ?? "?"} none, flood entries dst ${all}`,
      status: "ok",
    });
  } else if (info.group) {
    remote = info.group;
    walker.add({ ...base, detail: `${vtep.name} vni ${info.vni} port ${port}: remote ${remote}`, status: "ok" });
  } else {
    remote = serving;
    const reason = `${vtep.name} has no FDB entry for ${mac ?? "the destination MAC"} and no flood entry (${ZERO_MAC}): the kernel has no remote to send it to and drops it`;
    walker.add({
      ...base,
      detail: `${vtep.name} vni ${info.vni} port ${port}: ${mac ?? "?"} none, no flood entry`,
      status: "break",
      fault: "no-fdb-entry",
      reason,
    });
    if (!remote) return walker.stop();
  }
  if (!remote) return walker.stop();
  const family = remote.includes(":") ? 6 : 4;
  const local = info.local ?? "";
  const outerPacket: Carried = {
    src: local,
    dst: remote,
    size: packet.size + VXLAN_OVERHEAD[family],
    ...(info.underlayIndex !== undefined && { oif: info.underlayIndex }),
    tunnel: { vni: info.vni, port, inner: packet, innerMac: mac },
  };
  walker.tunnels.push({ local, remote, port, vni: info.vni, size: outerPacket.size });
  walker.ipLayer(netns, outerPacket);
}

/** VXLAN arrives at a local address: the VTEP of that vni and port takes the inner frame out. */
export function decapsulate(walker: PathWalker, netns: string, packet: Carried): void {
  const tunnel = packet.tunnel;
  if (!tunnel || !walker.going) return;
  const links = walker.view.state(netns).links;
  const vtep = links.find(
    (link) => link.vxlan?.vni === tunnel.vni && (link.vxlan.port ?? DEFAULT_VXLAN_PORT) === tunnel.port,
  );
  const command = `${tool("ip", netns)} -d link show type vxlan`;
  if (!vtep) {
    walker.add({
      netns,
      kind: "decap",
      detail: `no VTEP for vni ${tunnel.vni} port ${tunnel.port}`,
      status: "break",
      fault: "no-vtep",
      reason: `nothing here takes VXLAN vni ${tunnel.vni} on UDP port ${tunnel.port}: the datagram is dropped (no socket)`,
      command,
      outer: true,
    });
    return walker.stop();
  }
  const detail = `${vtep.name} vni ${tunnel.vni} from ${packet.src}: inner frame to ${tunnel.innerMac ?? "?"}`;
  const base = { netns, kind: "decap" as const, ifName: vtep.name, detail, command: linkCommand(netns, vtep.name) };
  const bridge = walker.linkByIndex(netns, vtep.masterIndex);
  // A standalone VTEP (l3) hands the inner packet up only if the frame is for its own MAC.
  const forUs = bridge !== undefined || tunnel.innerMac === undefined || tunnel.innerMac === vtep.mac;
  if (!vtep.up) walker.add({ ...base, status: "break", fault: "link-down", reason: `${vtep.name} is down` });
  else if (!forUs)
    walker.add({
      ...base,
      status: "break",
      fault: "not-for-us",
      reason: `the inner frame is for ${tunnel.innerMac}, not ${vtep.name}'s ${vtep.mac}: dropped`,
    });
  else walker.add({ ...base, status: "ok" });
  if (bridge) return bridgeForward(walker, netns, bridge, tunnel.innerMac, tunnel.inner, vtep);
  if (forUs) return walker.ipLayer(netns, tunnel.inner, vtep);
  walker.stop();
}
