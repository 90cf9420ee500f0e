// Interface addresses (RTM_NEWADDR/DELADDR/GETADDR), IPv4 and IPv6.
import { AttrReader, AttrWriter } from "./codec/attrs";
import { AF_INET, AF_INET6, AF_UNSPEC, Ifa, IfaF, NlmF, Rtm, RtScope } from "./codec/constants";
import { formatIp, parseCidr } from "./codec/ip-bytes";
import { IFADDRMSG_LEN, decodeIfAddr, encodeIfAddr } from "./codec/structs";
import type { Handle } from "./handle";
import { type LinkRef, describeLink, linkIndex } from "./links";

export type IpFamily = 4 | 6;

export interface Addr {
  index: number;
  family: IpFamily;
  address: string;
  prefixLen: number;
  /** "10.0.0.2/24" */
  cidr: string;
  /** RT_SCOPE_*: 0 global, 253 link, 254 host. */
  scope: number;
  /** IFA_F_* flags (full 32-bit set from IFA_FLAGS when present). */
  flags: number;
  /** IPv4 peer/destination address when it differs from the local one. */
  peer?: string;
  broadcast?: string;
  label?: string;
}

export interface AddrConfig {
  link: LinkRef;
  /** Address with prefix: "10.0.0.2/24", "fd00::2/64". */
  cidr: string;
  /** Skip IPv6 duplicate address detection (the address is usable at once). */
  nodad?: boolean;
  /** RT_SCOPE_* (default global). */
  scope?: number;
  /** IPv4 only: set the directed broadcast address computed from the prefix. */
  broadcast?: boolean;
  /** Do not add the prefix route the kernel otherwise adds. */
  noPrefixRoute?: boolean;
}

export function familyOf(af: number): IpFamily {
  return af === AF_INET6 ? 6 : 4;
}

export function afOf(family: IpFamily | undefined): number {
  return family === undefined ? AF_UNSPEC : family === 6 ? AF_INET6 : AF_INET;
}

function ipv4Broadcast(bytes: Buffer, prefixLen: number): Buffer {
  const hostBits = prefixLen >= 32 ? 0 : 0xffffffff >>> prefixLen;
  const out = Buffer.alloc(4);
  out.writeUInt32BE((bytes.readUInt32BE(0) | hostBits) >>> 0);
  return out;
}

function addrPayload(h: Handle, config: AddrConfig, withOptions: boolean): Buffer {
  const cidr = parseCidr(config.cidr);
  const flags = withOptions ? (config.nodad ? IfaF.NODAD : 0) | (config.noPrefixRoute ? IfaF.NOPREFIXROUTE : 0) : 0;
  const attrs = new AttrWriter();
  // IFA_LOCAL is the address itself and IFA_ADDRESS the peer (the same here); both
  // families, in this order, as `ip addr add` sends them.
  attrs.bytes(Ifa.LOCAL, cidr.bytes);
  attrs.bytes(Ifa.ADDRESS, cidr.bytes);
  if (withOptions && config.broadcast && cidr.family === AF_INET && cidr.prefixLen < 31)
    attrs.bytes(Ifa.BROADCAST, ipv4Broadcast(cidr.bytes, cidr.prefixLen));
  // IFA_FLAGS carries the full 32-bit set and wins over the 8-bit header field when present.
  if (flags !== 0) attrs.u32(Ifa.FLAGS, flags);
  const header = encodeIfAddr({
    family: cidr.family,
    prefixLen: cidr.prefixLen,
    flags: flags & 0xff,
    scope: withOptions ? (config.scope ?? RtScope.UNIVERSE) : 0,
    index: linkIndex(h, config.link),
  });
  return Buffer.concat([header, attrs.toBuffer()]);
}

function newAddr(h: Handle, config: AddrConfig, flags: number, op: string): void {
  h.request({ type: Rtm.NEWADDR, flags, payload: addrPayload(h, config, true), op });
}

/** Adds an address; EEXIST if the link already has it. */
export function addAddr(h: Handle, config: AddrConfig): void {
  newAddr(h, config, NlmF.CREATE | NlmF.EXCL, `add address ${config.cidr} to ${describeLink(config.link)}`);
}

/** Adds or updates an address (flags, scope) without failing when it exists. */
export function replaceAddr(h: Handle, config: AddrConfig): void {
  newAddr(h, config, NlmF.CREATE | NlmF.REPLACE, `replace address ${config.cidr} on ${describeLink(config.link)}`);
}

/** Deletes an address; NotFoundError when the link does not have it. */
export function deleteAddr(h: Handle, config: { link: LinkRef; cidr: string }): void {
  h.request({
    type: Rtm.DELADDR,
    payload: addrPayload(h, config, false),
    op: `delete address ${config.cidr} from ${describeLink(config.link)}`,
    deleting: true,
  });
}

export function decodeAddr(payload: Buffer): Addr {
  const header = decodeIfAddr(payload);
  const attrs = new AttrReader(payload.subarray(IFADDRMSG_LEN));
  const localBytes = attrs.get(Ifa.LOCAL);
  const addressBytes = attrs.get(Ifa.ADDRESS);
  const ownBytes = localBytes ?? addressBytes;
  if (!ownBytes) throw new Error(`address message for link #${header.index} has neither IFA_LOCAL nor IFA_ADDRESS`);
  const address = formatIp(ownBytes);
  const addr: Addr = {
    index: header.index,
    family: familyOf(header.family),
    address,
    prefixLen: header.prefixLen,
    cidr: `${address}/${header.prefixLen}`,
    scope: header.scope,
    flags: attrs.u32(Ifa.FLAGS) ?? header.flags,
  };
  if (localBytes && addressBytes && !localBytes.equals(addressBytes)) addr.peer = formatIp(addressBytes);
  const broadcast = attrs.get(Ifa.BROADCAST);
  if (broadcast) addr.broadcast = formatIp(broadcast);
  const label = attrs.str(Ifa.LABEL);
  if (label) addr.label = label;
  return addr;
}

/** Addresses in the handle's namespace, optionally of one link and/or one family. */
export function listAddrs(h: Handle, filter: { link?: LinkRef; family?: IpFamily } = {}): Addr[] {
  const index = filter.link === undefined ? undefined : linkIndex(h, filter.link);
  const replies = h.dump({
    type: Rtm.GETADDR,
    payload: encodeIfAddr({ family: afOf(filter.family) }),
    op: "list addresses",
  });
  return replies.map((msg) => decodeAddr(msg.payload)).filter((addr) => index === undefined || addr.index === index);
}
