// One line per captured packet, in the spirit of tcpdump's: link addresses, IP
// addresses and ports, the protocol; a VXLAN datagram is followed by `| vxlan vni N |`
// and its inner frame, so the overlay's traffic reads in one place.
import type { ArpPacket, EthernetFrame, IcmpMessage, IpPacket, NetworkPacket, Transport } from "./frames";

const ICMP_NAMES: Record<number, string> = {
  0: "echo reply",
  3: "unreachable",
  8: "echo request",
  11: "time exceeded",
};
const ICMPV6_NAMES: Record<number, string> = {
  1: "unreachable",
  2: "packet too big",
  3: "time exceeded",
  128: "echo request",
  129: "echo reply",
  133: "router solicitation",
  134: "router advertisement",
  135: "neighbor solicitation",
  136: "neighbor advertisement",
};
const PROTOCOL_NAMES: Record<number, string> = {
  1: "ICMP",
  2: "IGMP",
  6: "TCP",
  17: "UDP",
  47: "GRE",
  58: "ICMPv6",
  132: "SCTP",
};

/** HH:MM:SS.micro in local time, as tcpdump prints it. */
export function formatTime(timestamp: number): string {
  const date = new Date(Math.floor(timestamp * 1000));
  const micros = Math.round((timestamp % 1) * 1e6) % 1e6;
  const pad = (value: number, width = 2): string => String(value).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(micros, 6)}`;
}

export function describeFrame(frame: EthernetFrame): string {
  if (frame.truncated && !frame.network) return "[truncated frame]";
  const link = `${frame.src} > ${frame.dst}${frame.vlan === undefined ? "" : ` vlan ${frame.vlan}`}`;
  return `${link} ${frame.network ? describeNetwork(frame.network) : `ethertype 0x${frame.etherType.toString(16).padStart(4, "0")}`}`;
}

export function describeNetwork(packet: NetworkPacket): string {
  return packet.kind === "arp" ? describeArp(packet) : describeIp(packet);
}

function describeArp(arp: ArpPacket): string {
  if (arp.operation === 1) return `ARP who-has ${arp.targetIp} tell ${arp.senderIp}`;
  if (arp.operation === 2) return `ARP ${arp.senderIp} is-at ${arp.senderMac}`;
  return `ARP operation ${arp.operation}`;
}

function describeIp(packet: IpPacket): string {
  const family = packet.kind === "ipv4" ? "IPv4" : "IPv6";
  if (packet.truncated && !packet.src) return `${family} [truncated]`;
  const transport = packet.transport;
  const ports = transport?.kind === "udp" || transport?.kind === "tcp" ? transport : undefined;
  const from = ports ? `${packet.src}.${ports.srcPort}` : packet.src;
  const to = ports ? `${packet.dst}.${ports.dstPort}` : packet.dst;
  const protocol = transport
    ? describeTransport(transport)
    : (PROTOCOL_NAMES[packet.protocol] ?? `proto ${packet.protocol}`);
  const fragment =
    packet.fragmentOffset !== undefined || packet.moreFragments
      ? ` frag offset ${packet.fragmentOffset ?? 0}${packet.moreFragments ? "+" : ""}`
      : "";
  // UDP shows its payload's length as tcpdump does; anything else the IP packet's.
  const length = transport?.kind === "udp" ? transport.payloadLength : packet.length;
  return `${family} ${from} > ${to} ${protocol}${fragment} length ${length}${packet.truncated ? " [truncated]" : ""}${vxlanTail(transport)}`;
}

function describeTransport(transport: Transport): string {
  switch (transport.kind) {
    case "udp":
      return "UDP";
    case "tcp":
      return `TCP [${transport.flags}]`;
    default:
      return describeIcmp(transport);
  }
}

function describeIcmp(icmp: IcmpMessage): string {
  const names = icmp.kind === "icmp" ? ICMP_NAMES : ICMPV6_NAMES;
  const name = names[icmp.type] ?? `type ${icmp.type}`;
  return `${icmp.kind === "icmp" ? "ICMP" : "ICMPv6"} ${name}${icmp.code !== 0 ? ` code ${icmp.code}` : ""}`;
}

function vxlanTail(transport: Transport | undefined): string {
  if (transport?.kind !== "udp" || !transport.vxlan) return "";
  return ` | vxlan vni ${transport.vxlan.vni} | ${describeFrame(transport.vxlan.inner)}`;
}
