// Decoding captured frames far enough for a one-line summary: Ethernet (with 802.1Q),
// ARP, IPv4, IPv6, UDP, TCP, ICMP, and VXLAN, whose inner frame is decoded the same way.
// Short or odd packets never throw: what cannot be read is marked `truncated`.
import { formatIp, formatMac } from "../../netlink/codec/ip-bytes";

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_IPV6 = 0x86dd;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
/** The I flag of the VXLAN header: the VNI field is valid (RFC 7348). */
const VXLAN_FLAG_VNI = 0x08;
const VXLAN_HEADER_LEN = 8;

export interface EthernetFrame {
  src: string;
  dst: string;
  vlan?: number;
  etherType: number;
  network?: NetworkPacket;
  truncated?: true;
}

export type NetworkPacket = IpPacket | ArpPacket;

export interface ArpPacket {
  kind: "arp";
  /** 1 request, 2 reply. */
  operation: number;
  senderMac: string;
  senderIp: string;
  targetIp: string;
}

export interface IpPacket {
  kind: "ipv4" | "ipv6";
  src: string;
  dst: string;
  /** IPv4 protocol or IPv6 next header. */
  protocol: number;
  ttl: number;
  /** Bytes of the IP packet, header included. */
  length: number;
  /** IPv4: a fragment after the first carries no transport header. */
  fragmentOffset?: number;
  moreFragments?: boolean;
  transport?: Transport;
  truncated?: true;
}

export type Transport = UdpDatagram | TcpSegment | IcmpMessage;

export interface UdpDatagram {
  kind: "udp";
  srcPort: number;
  dstPort: number;
  /** Payload bytes (the UDP length minus its header). */
  payloadLength: number;
  vxlan?: VxlanPacket;
}

export interface VxlanPacket {
  vni: number;
  inner: EthernetFrame;
}

export interface TcpSegment {
  kind: "tcp";
  srcPort: number;
  dstPort: number;
  /** SYN, ACK, FIN... as tcpdump abbreviates them: S, ., F, R, P, U. */
  flags: string;
}

export interface IcmpMessage {
  kind: "icmp" | "icmpv6";
  type: number;
  code: number;
}

export interface DecodeOptions {
  /** UDP destination ports that carry VXLAN. */
  vxlanPorts: ReadonlySet<number>;
}

export function decodeEthernet(bytes: Buffer, options: DecodeOptions): EthernetFrame {
  if (bytes.length < 14) return { src: "", dst: "", etherType: 0, truncated: true };
  const frame: EthernetFrame = {
    dst: formatMac(bytes.subarray(0, 6)),
    src: formatMac(bytes.subarray(6, 12)),
    etherType: bytes.readUInt16BE(12),
  };
  let offset = 14;
  if (frame.etherType === ETHERTYPE_VLAN) {
    if (bytes.length < 18) return { ...frame, truncated: true };
    frame.vlan = bytes.readUInt16BE(14) & 0x0fff;
    frame.etherType = bytes.readUInt16BE(16);
    offset = 18;
  }
  const network = decodeNetwork(frame.etherType, bytes.subarray(offset), options);
  if (network) frame.network = network;
  return frame;
}

/** A frame without a link-layer header (LINKTYPE_RAW): the version nibble says which IP. */
export function decodeRawIp(bytes: Buffer, options: DecodeOptions): NetworkPacket | undefined {
  const version = (bytes[0] ?? 0) >> 4;
  return decodeNetwork(version === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4, bytes, options);
}

function decodeNetwork(etherType: number, bytes: Buffer, options: DecodeOptions): NetworkPacket | undefined {
  switch (etherType) {
    case ETHERTYPE_IPV4:
      return decodeIpv4(bytes, options);
    case ETHERTYPE_IPV6:
      return decodeIpv6(bytes, options);
    case ETHERTYPE_ARP:
      return decodeArp(bytes);
    default:
      return undefined;
  }
}

function decodeArp(bytes: Buffer): ArpPacket | undefined {
  // Only Ethernet/IPv4 ARP (hardware length 6, protocol length 4), the only kind there is here.
  if (bytes.length < 28 || bytes[4] !== 6 || bytes[5] !== 4) return undefined;
  return {
    kind: "arp",
    operation: bytes.readUInt16BE(6),
    senderMac: formatMac(bytes.subarray(8, 14)),
    senderIp: formatIp(bytes.subarray(14, 18)),
    targetIp: formatIp(bytes.subarray(24, 28)),
  };
}

/** Where each version's header keeps the fields both have (RFC 791, RFC 8200): byte offsets. */
const IP_HEADER = {
  ipv4: { src: 12, dst: 16, addressLength: 4, protocol: 9, ttl: 8 },
  ipv6: { src: 8, dst: 24, addressLength: 16, protocol: 6, ttl: 7 },
} as const;

/** The fields both versions have, read at the version's offsets; `length` is the whole packet's. */
function ipHeader(kind: IpPacket["kind"], bytes: Buffer, length: number): IpPacket {
  const at = IP_HEADER[kind];
  return {
    kind,
    src: formatIp(bytes.subarray(at.src, at.src + at.addressLength)),
    dst: formatIp(bytes.subarray(at.dst, at.dst + at.addressLength)),
    protocol: bytes[at.protocol] ?? 0,
    ttl: bytes[at.ttl] ?? 0,
    length,
  };
}

function truncatedIp(kind: IpPacket["kind"], length: number): IpPacket {
  return { kind, src: "", dst: "", protocol: 0, ttl: 0, length, truncated: true };
}

function decodeIpv4(bytes: Buffer, options: DecodeOptions): IpPacket {
  const headerLength = ((bytes[0] ?? 0) & 0x0f) * 4;
  if (bytes.length < 20 || headerLength < 20) return truncatedIp("ipv4", bytes.length);
  const fragment = bytes.readUInt16BE(6);
  const packet = ipHeader("ipv4", bytes, bytes.readUInt16BE(2));
  const fragmentOffset = (fragment & 0x1fff) * 8;
  if (fragmentOffset > 0) packet.fragmentOffset = fragmentOffset;
  if ((fragment & 0x2000) !== 0) packet.moreFragments = true;
  if (fragmentOffset > 0) return packet;
  // The IP length, not the capture, bounds the payload (Ethernet pads short frames).
  return withTransport(packet, bytes.subarray(headerLength, Math.max(headerLength, packet.length)), options);
}

function decodeIpv6(bytes: Buffer, options: DecodeOptions): IpPacket {
  if (bytes.length < 40) return truncatedIp("ipv6", bytes.length);
  const payloadLength = bytes.readUInt16BE(4);
  const packet = ipHeader("ipv6", bytes, 40 + payloadLength);
  return withTransport(packet, bytes.subarray(40, 40 + payloadLength), options);
}

function withTransport(packet: IpPacket, payload: Buffer, options: DecodeOptions): IpPacket {
  const transport = decodeTransport(packet.protocol, payload, options);
  if (transport === "truncated") packet.truncated = true;
  else if (transport) packet.transport = transport;
  return packet;
}

function decodeTransport(protocol: number, bytes: Buffer, options: DecodeOptions): Transport | "truncated" | undefined {
  switch (protocol) {
    case IPPROTO_UDP:
      return bytes.length < 8 ? "truncated" : decodeUdp(bytes, options);
    case IPPROTO_TCP:
      return bytes.length < 14
        ? "truncated"
        : {
            kind: "tcp",
            srcPort: bytes.readUInt16BE(0),
            dstPort: bytes.readUInt16BE(2),
            flags: tcpFlags(bytes[13] ?? 0),
          };
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      return bytes.length < 2
        ? "truncated"
        : { kind: protocol === IPPROTO_ICMP ? "icmp" : "icmpv6", type: bytes[0] ?? 0, code: bytes[1] ?? 0 };
    default:
      return undefined;
  }
}

function decodeUdp(bytes: Buffer, options: DecodeOptions): UdpDatagram {
  const udp: UdpDatagram = {
    kind: "udp",
    srcPort: bytes.readUInt16BE(0),
    dstPort: bytes.readUInt16BE(2),
    payloadLength: Math.max(0, bytes.readUInt16BE(4) - 8),
  };
  const payload = bytes.subarray(8);
  if (
    options.vxlanPorts.has(udp.dstPort) &&
    payload.length >= VXLAN_HEADER_LEN &&
    ((payload[0] ?? 0) & VXLAN_FLAG_VNI) !== 0
  ) {
    udp.vxlan = { vni: payload.readUIntBE(4, 3), inner: decodeEthernet(payload.subarray(VXLAN_HEADER_LEN), options) };
  }
  return udp;
}

function tcpFlags(bits: number): string {
  const names: [number, string][] = [
    [0x02, "S"],
    [0x01, "F"],
    [0x04, "R"],
    [0x08, "P"],
    [0x20, "U"],
    [0x10, "."],
  ];
  return (
    names
      .filter(([bit]) => (bits & bit) !== 0)
      .map(([, name]) => name)
      .join("") || "none"
  );
}
