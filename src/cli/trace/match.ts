// Telling our live packet among everything a watcher captures: Linux cooked v2 records
// (tcpdump -i any -y LINUX_SLL2: the interface index and direction with each packet),
// decoded by capture/frames.ts, matched by addresses, protocol, ports and length, also
// inside VXLAN; and ICMP errors that quote our packet (fragmentation needed...).
import { type IpPacket, type NetworkPacket, decodeRawIp } from "../capture/frames";
import { formatIp } from "../../netlink/codec/ip-bytes";
import type { TraceProto } from "./types";

const SLL2_HEADER_LEN = 20;
const SLL2_OUTGOING = 4;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const PROTO_NUMBER: Record<TraceProto, Record<4 | 6, number>> = {
  udp: { 4: 17, 6: 17 },
  tcp: { 4: 6, 6: 6 },
  icmp: { 4: 1, 6: 58 },
};
const ECHO_REQUEST: Record<4 | 6, number> = { 4: 8, 6: 128 };

export interface CookedRecord {
  ifIndex: number;
  direction: "in" | "out";
  /** The network-layer packet (IP), when the record carries one. */
  ip?: Buffer;
}

/** Splits a LINUX_SLL2 record: protocol, ifindex, packet type, then the network-layer bytes. */
export function decodeSll2(data: Buffer): CookedRecord | undefined {
  if (data.length < SLL2_HEADER_LEN) return undefined;
  const protocol = data.readUInt16BE(0);
  const record: CookedRecord = { ifIndex: data.readUInt32BE(4), direction: data[10] === SLL2_OUTGOING ? "out" : "in" };
  if (protocol === ETH_P_IP || protocol === ETH_P_IPV6) record.ip = data.subarray(SLL2_HEADER_LEN);
  return record;
}

export interface ProbeSignature {
  proto: TraceProto;
  family: 4 | 6;
  src: string;
  dst: string;
  /** Our source port (udp, tcp). */
  sourcePort?: number;
  port: number;
  /** The IP packet's length. */
  size: number;
  vxlanPorts: number[];
}

export type ProbeMatch =
  | { kind: "probe"; outer: boolean }
  | { kind: "icmp-error"; from: string; type: number; code: number; mtu?: number };

function isOurs(packet: NetworkPacket | undefined, signature: ProbeSignature): boolean {
  if (!packet || packet.kind === "arp" || packet.truncated) return false;
  if (
    packet.src !== signature.src ||
    packet.dst !== signature.dst ||
    packet.protocol !== PROTO_NUMBER[signature.proto][signature.family]
  )
    return false;
  const transport = packet.transport;
  if (signature.proto === "icmp")
    return (
      transport?.kind !== undefined &&
      (transport.kind === "icmp" || transport.kind === "icmpv6") &&
      transport.type === ECHO_REQUEST[signature.family] &&
      packet.length === signature.size
    );
  if (transport?.kind !== signature.proto) return false;
  if (
    transport.dstPort !== signature.port ||
    (signature.sourcePort !== undefined && transport.srcPort !== signature.sourcePort)
  )
    return false;
  // A TCP SYN's length depends on its options; a datagram's is ours exactly.
  return signature.proto === "tcp"
    ? transport.kind === "tcp" && transport.flags.includes("S")
    : packet.length === signature.size;
}

/** ICMP errors (v4 unreachable/time exceeded, v6 unreachable/too big/time exceeded) quoting our packet. */
function icmpErrorAbout(ip: Buffer, packet: IpPacket, signature: ProbeSignature): ProbeMatch | undefined {
  const transport = packet.transport;
  if (!transport || (transport.kind !== "icmp" && transport.kind !== "icmpv6")) return undefined;
  const v4 = transport.kind === "icmp";
  if (!(v4 ? [3, 11] : [1, 2, 3]).includes(transport.type)) return undefined;
  const icmpOffset = v4 ? ((ip[0] ?? 0) & 0x0f) * 4 : 40;
  const quoted = ip.subarray(icmpOffset + 8);
  const quotedHeader = v4 ? ((quoted[0] ?? 0) & 0x0f) * 4 : 40;
  if (quoted.length < quotedHeader + 4) return undefined;
  const [srcAt, dstAt, length] = v4 ? [12, 16, 4] : [8, 24, 16];
  const quotedSrc = formatIp(quoted.subarray(srcAt, srcAt + length));
  const quotedDst = formatIp(quoted.subarray(dstAt, dstAt + length));
  const quotedProto = v4 ? quoted[9] : quoted[6];
  if (
    quotedSrc !== signature.src ||
    quotedDst !== signature.dst ||
    quotedProto !== PROTO_NUMBER[signature.proto][signature.family]
  )
    return undefined;
  if (
    signature.proto !== "icmp" &&
    signature.sourcePort !== undefined &&
    quoted.readUInt16BE(quotedHeader) !== signature.sourcePort
  )
    return undefined;
  const tooBig = v4 ? transport.type === 3 && transport.code === 4 : transport.type === 2;
  const mtu = tooBig ? (v4 ? ip.readUInt16BE(icmpOffset + 6) : ip.readUInt32BE(icmpOffset + 4)) : undefined;
  return {
    kind: "icmp-error",
    from: packet.src,
    type: transport.type,
    code: transport.code,
    ...(mtu !== undefined && { mtu }),
  };
}

/** Whether an IP packet is our probe (bare or inside VXLAN) or an ICMP error about it. */
export function matchProbe(ip: Buffer, signature: ProbeSignature): ProbeMatch | undefined {
  const packet = decodeRawIp(ip, { vxlanPorts: new Set(signature.vxlanPorts) });
  if (!packet || packet.kind === "arp") return undefined;
  if (isOurs(packet, signature)) return { kind: "probe", outer: false };
  const vxlan = packet.transport?.kind === "udp" ? packet.transport.vxlan : undefined;
  if (vxlan && isOurs(vxlan.inner.network, signature)) return { kind: "probe", outer: true };
  return icmpErrorAbout(ip, packet, signature);
}
