// What `cnikit trace` works with: the two ends, the packet, the path read from the
// kernel's state (one step per lookup the kernel makes), and what the live packet met.
export type TraceProto = "udp" | "tcp" | "icmp";

export interface TraceEndpoint {
  /** How it was named: a lab node (`h1/c1`) or the namespace. */
  label: string;
  /** Namespace name (under /run/netns) or path. */
  netns: string;
  netnsPath: string;
  address: string;
}

export interface TracePacket {
  proto: TraceProto;
  family: 4 | 6;
  /** Destination port (udp, tcp). */
  port: number;
  /** Bytes of the IP packet, headers included. DF is always set. */
  size: number;
}

export type StepFault =
  | "no-route"
  | "route-type"
  | "not-forwarding"
  | "mtu"
  | "neighbour"
  | "link-down"
  | "not-for-us"
  | "no-fdb-entry"
  | "no-vtep"
  | "hairpin"
  | "unknown-mac"
  | "wrong-node";

export type StepKind = "route" | "neighbour" | "egress" | "ingress" | "bridge" | "vtep" | "decap" | "deliver";

export interface PathStep {
  /** The node as the lab names it (`h1`, `h1/c1`, `underlay`), else the namespace. */
  node: string;
  netns: string;
  kind: StepKind;
  /** The interface the step is about: where a live packet is looked for, and impairments found. */
  ifName?: string;
  /** What the kernel holds here, in the words of `ip`/`bridge`. */
  detail: string;
  /** `break`: the kernel has nothing to go on with here; `note`: it goes on, but not from a settled entry. */
  status: "ok" | "note" | "break";
  /** Why the packet cannot go on (status break), or what is unusual (note). */
  reason?: string;
  /** What kind of break: for scripts and tests. */
  fault?: StepFault;
  /** The command that shows this state. */
  command: string;
  /** Reached only by guessing past an earlier break (the entry the kernel lacks, taken from where the destination is). */
  assumed?: boolean;
  /** The packet is the VXLAN-encapsulated one here (outer headers), not the one sent. */
  outer?: boolean;
}

/** One VXLAN crossing of the path: how the outer packet looks on the underlay. */
export interface TunnelLeg {
  local: string;
  remote: string;
  port: number;
  vni: number;
  /** Outer IP packet size. */
  size: number;
}

export interface TracePath {
  steps: PathStep[];
  /** Whether the walk reached the destination (possibly past a break, by assuming). */
  reachesDestination: boolean;
  tunnels: TunnelLeg[];
}

/** A live packet seen by a watcher (tcpdump `-i any` in one namespace). */
export interface Sighting {
  netns: string;
  ifName: string;
  direction: "in" | "out";
  /** Seconds since the epoch (the capture's clock). */
  time: number;
  /** Seen inside VXLAN (outer headers around it). */
  outer: boolean;
}

/** An ICMP error about our packet, seen by a watcher. */
export interface IcmpReport {
  netns: string;
  ifName: string;
  from: string;
  type: number;
  code: number;
  /** Fragmentation needed / packet too big: the MTU the sender is told. */
  mtu?: number;
  time: number;
}

/** The kernel's drop of our packet (skb:kfree_skb). */
export interface KernelDrop {
  reason: string;
  /** Function+offset where it was freed, e.g. `vxlan_xmit+0xdb0/0x1630`. */
  location: string;
  /** The last device our packet was seen on before (tracepoint net:*), when known. */
  lastDevice?: string;
  /** The node of that device, when only one namespace has a device of that name. */
  node?: string;
}

/** A rule or policy that dropped our packet, from `nft monitor trace`. */
export interface NftDrop {
  netns: string;
  family: string;
  table: string;
  chain: string;
  /** Absent for a chain policy. */
  handle?: number;
  rule: string;
  verdict: string;
}

/** A lab impairment on a link of the path. */
export interface PathImpairment {
  target: string;
  netns: string;
  ifName: string;
  /** e.g. "loss 100%", "link down". */
  what: string;
  /** How it is carried: "nftables ip cnikit_impair", "netem qdisc", ... */
  mechanism: string;
  /** Drops everything it carries (loss 100%, link down). */
  total: boolean;
  /** Drops some (loss > 0). */
  lossy: boolean;
}

export interface LiveResult {
  /** Not sent, and why (the kernel refused it at the source, a tool missing...). */
  notSent?: string;
  /** The sender's error from the kernel (EMSGSIZE, ENETUNREACH...). */
  sendError?: string;
  sentAt?: number;
  /** The destination's socket got it (udp, tcp) or its answer came back (icmp). */
  delivered: boolean;
  sightings: Sighting[];
  icmp: IcmpReport[];
  kernelDrops: KernelDrop[];
  nftDrops: NftDrop[];
  /** What could not be watched, and why (tracefs, nft). */
  notes: string[];
}
