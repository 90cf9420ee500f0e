// The path the kernel would give a packet, step by step, from its own state: in each
// namespace the route lookup (as `ip route get`), the neighbour entry, the interface it
// leaves by; then across veths, bridges (their FDB) and VXLAN (the VTEP's FDB, the
// underlay route), the same again on the far side, down to the receiving socket.
// A step with nothing to go on is a break; the walk then goes on where the rest of the
// path can be guessed (the destination's own addresses and VTEP), so the whole path is
// listed, the guessed part marked `assumed`. Layer 2 is in path-l2.ts.
import { Iff, Nud, RtnType } from "../../netlink/codec/constants";
import type { Link } from "../../netlink/link-decode";
import type { RouteQuery } from "../../netlink/route-get";
import { isRouteFailure, type KernelView } from "./kernel-view";
import { decapsulate, egressLink } from "./path-l2";
import { tool } from "./tool-commands";
import type { PathStep, TraceEndpoint, TracePacket, TracePath, TunnelLeg } from "./types";

/** The packet as it is at one point of the path. */
export interface Carried {
  src: string;
  dst: string;
  /** Bytes of the IP packet at this layer. */
  size: number;
  /** The underlay device a VTEP sends through (`dev ul0` on the vxlan), forcing the lookup's oif. */
  oif?: number;
  /** While inside VXLAN: what comes out at the far VTEP. */
  tunnel?: { vni: number; port: number; inner: Carried; innerMac: string | undefined };
}

const MAX_STEPS = 80;

const ROUTE_TYPES: Record<number, string> = {
  6: "blackhole",
  7: "unreachable",
  8: "prohibit",
  9: "throw",
  3: "broadcast",
  5: "multicast",
};

export function nudName(state: number): string {
  const names: [number, string][] = [
    [Nud.INCOMPLETE, "INCOMPLETE"],
    [Nud.REACHABLE, "REACHABLE"],
    [Nud.STALE, "STALE"],
    [0x08, "DELAY"],
    [0x10, "PROBE"],
    [0x20, "FAILED"],
    [0x40, "NOARP"],
    [0x80, "PERMANENT"],
  ];
  return (
    names
      .filter(([bit]) => (state & bit) !== 0)
      .map(([, name]) => name)
      .join(",") || "NONE"
  );
}

export class PathWalker {
  readonly steps: PathStep[] = [];
  readonly tunnels: TunnelLeg[] = [];
  reached = false;
  /** Set by the first break: every later step is reached only by assuming. */
  private broken = false;
  private stopped = false;

  constructor(
    readonly view: KernelView,
    readonly to: TraceEndpoint,
    readonly packet: TracePacket,
  ) {}

  /** Whether the walk may go on (not stopped, not too long: a loop in the state would never end). */
  get going(): boolean {
    return !this.stopped && this.steps.length < MAX_STEPS;
  }

  add(step: Omit<PathStep, "node" | "assumed">): void {
    this.steps.push({ node: this.view.labelOf(step.netns), ...step, ...(this.broken && { assumed: true }) });
    if (step.status === "break") this.broken = true;
  }

  /** Ends the walk here: nothing, not even a guess, says where the packet would go. */
  stop(): void {
    this.stopped = true;
  }

  linkByIndex(netns: string, index: number | undefined): Link | undefined {
    return index === undefined ? undefined : this.view.state(netns).links.find((link) => link.index === index);
  }

  /** The IP layer of `netns`: a local packet (no iif) or one arriving on `iif`. */
  ipLayer(netns: string, packet: Carried, iif?: Link): void {
    if (!this.going) return;
    const state = this.view.state(netns);
    const query: RouteQuery = {
      dst: packet.dst,
      src: packet.src,
      ...(iif && { iif: iif.index }),
      ...(packet.oif !== undefined && { oif: packet.oif }),
    };
    const oifName = this.linkByIndex(netns, packet.oif)?.name;
    const command = `${tool("ip", netns)} route get ${packet.dst} from ${packet.src}${iif ? ` iif ${iif.name}` : ""}${oifName ? ` oif ${oifName}` : ""}`;
    const lookup = state.routeGet(query);
    const outer = packet.tunnel !== undefined;
    if (isRouteFailure(lookup)) {
      this.add({
        netns,
        kind: "route",
        detail: `no route to ${packet.dst}`,
        status: "break",
        fault: "no-route",
        reason: `no route to ${packet.dst}: ${lookup.message} (${lookup.code})`,
        command,
        outer,
      });
      return this.stop();
    }
    if (lookup.type === RtnType.LOCAL) {
      if (packet.tunnel) {
        this.add({
          netns,
          kind: "route",
          detail: `${packet.dst} is local: VXLAN from ${packet.src} port ${packet.tunnel.port}`,
          status: "ok",
          command,
          outer,
        });
        return decapsulate(this, netns, packet);
      }
      if (netns === this.to.netns) {
        const where =
          this.packet.proto === "icmp"
            ? "answered by the kernel (echo)"
            : `to the ${this.packet.proto} socket on port ${this.packet.port}`;
        this.add({ netns, kind: "deliver", detail: `${packet.dst} is local: ${where}`, status: "ok", command });
        this.reached = true;
        return this.stop();
      }
      this.add({
        netns,
        kind: "deliver",
        detail: `${packet.dst} is local here`,
        status: "break",
        fault: "wrong-node",
        reason: `${packet.dst} is an address of ${this.view.labelOf(netns)}, not of ${this.to.label}`,
        command,
      });
      return this.stop();
    }
    if (lookup.type !== RtnType.UNICAST) {
      const type = ROUTE_TYPES[lookup.type] ?? `type ${lookup.type}`;
      this.add({
        netns,
        kind: "route",
        detail: `${type} ${lookup.dst}`,
        status: "break",
        fault: "route-type",
        reason: `the route to ${packet.dst} is ${type}`,
        command,
        outer,
      });
      return this.stop();
    }
    const oif = this.linkByIndex(netns, lookup.oif);
    if (!oif) {
      this.add({
        netns,
        kind: "route",
        detail: `${packet.dst} dev #${lookup.oif}`,
        status: "break",
        fault: "no-route",
        reason: `the route's interface #${lookup.oif} is not there`,
        command,
        outer,
      });
      return this.stop();
    }
    const via = lookup.gw ? ` via ${lookup.gw}` : "";
    const learned =
      lookup.mtu !== undefined
        ? ` mtu ${lookup.mtu}${lookup.expiresSeconds !== undefined ? ` (learned, expires in ${lookup.expiresSeconds}s)` : ""}`
        : "";
    const detail = `${packet.dst}${via} dev ${oif.name}${lookup.prefsrc ? ` src ${lookup.prefsrc}` : ""}${learned}`;
    const family = this.packet.family;
    if (iif && !state.forwarding(family)) {
      const key = family === 6 ? "net.ipv6.conf.all.forwarding" : "net.ipv4.ip_forward";
      this.add({
        netns,
        kind: "route",
        detail,
        status: "break",
        fault: "not-forwarding",
        reason: `${this.view.labelOf(netns)} does not forward (${key} = 0)`,
        command: `${tool("ip", netns)} netconf show`,
        outer,
      });
    } else if (lookup.mtu !== undefined && packet.size > lookup.mtu) {
      const reason = `the route's MTU ${lookup.mtu}${lookup.expiresSeconds !== undefined ? " (a path MTU learned from ICMP)" : ""} is smaller than the ${packet.size}-byte packet, which has DF`;
      this.add({ netns, kind: "route", detail, status: "break", fault: "mtu", reason, command, outer });
    } else {
      this.add({ netns, kind: "route", detail, status: "ok", command, outer });
    }
    const mac = this.neighbourStep(netns, oif, lookup.gw ?? packet.dst, outer);
    egressLink(this, netns, oif, mac, packet);
  }

  /** Whether a VTEP can send a broadcast anywhere: an all-zeros FDB entry, or a remote/group of its own. */
  private vtepCanFlood(netns: string, vtep: Link): boolean {
    if (vtep.vxlan?.group) return true;
    return this.view
      .state(netns)
      .fdb.some((each) => each.index === vtep.index && each.lladdr === "00:00:00:00:00:00" && each.dst !== undefined);
  }

  /** The neighbour entry the kernel needs to send to `nextHop`; the MAC it gives (or a guess). */
  private neighbourStep(netns: string, oif: Link, nextHop: string, outer: boolean): string | undefined {
    if ((oif.flags & Iff.NOARP) !== 0 || oif.mac === "" || !this.going) return undefined;
    const entry = this.view.state(netns).neighbours.find((each) => each.index === oif.index && each.dst === nextHop);
    const command = `${tool("ip", netns)} neigh show ${nextHop} dev ${oif.name}`;
    const guess = (): string | undefined => this.view.ownerOfAddress(nextHop, { netns, link: oif })?.link.mac;
    if (!entry && oif.kind === "vxlan" && !this.vtepCanFlood(netns, oif)) {
      // l3 overlays: the plugin writes this entry; without it the request has nowhere to go.
      const reason = `no neighbour entry for ${nextHop} on ${oif.name}, and ${oif.name} has no flood entry (nor remote) to send the ${this.packet.family === 6 ? "solicitation" : "ARP request"} to: it can never be resolved`;
      this.add({
        netns,
        kind: "neighbour",
        ifName: oif.name,
        detail: `${nextHop} dev ${oif.name}: none`,
        status: "break",
        fault: "neighbour",
        reason,
        command,
        outer,
      });
      return guess();
    }
    if (!entry) {
      const reason = `no entry yet: the kernel asks (${this.packet.family === 6 ? "neighbour discovery" : "ARP"}) when the packet comes`;
      this.add({
        netns,
        kind: "neighbour",
        ifName: oif.name,
        detail: `${nextHop} dev ${oif.name}: none`,
        status: "note",
        reason,
        command,
        outer,
      });
      return guess();
    }
    const state = nudName(entry.state);
    const detail = `${nextHop} dev ${oif.name}${entry.lladdr ? ` lladdr ${entry.lladdr}` : ""} ${state}`;
    if ((entry.state & (Nud.INCOMPLETE | 0x20)) !== 0) {
      const reason = `the neighbour entry for ${nextHop} on ${oif.name} is ${state}: nobody answers ${this.packet.family === 6 ? "neighbour solicitations" : "ARP"} for it, so the packet waits in its queue and is dropped`;
      this.add({
        netns,
        kind: "neighbour",
        ifName: oif.name,
        detail,
        status: "break",
        fault: "neighbour",
        reason,
        command,
        outer,
      });
      return entry.lladdr ?? guess();
    }
    this.add({ netns, kind: "neighbour", ifName: oif.name, detail, status: "ok", command, outer });
    return entry.lladdr;
  }
}

/** The whole path from `from` to `to` for `packet`. */
export function tracePath(view: KernelView, from: TraceEndpoint, to: TraceEndpoint, packet: TracePacket): TracePath {
  const walker = new PathWalker(view, to, packet);
  walker.ipLayer(from.netns, { src: from.address, dst: to.address, size: packet.size });
  return { steps: walker.steps, reachesDestination: walker.reached, tunnels: walker.tunnels };
}
