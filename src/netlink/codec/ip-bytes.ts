// Addresses as the kernel carries them: 4 or 16 raw bytes, 6-byte MACs. Kept here
// (not on ip-address) because the codec only needs bytes <-> canonical text.
import { formatV6, ipFamily } from "../../ip/address";
import { AF_INET, AF_INET6 } from "./constants";
import { canonicalMac } from "../../ip/mac";

export interface IpBytes {
  family: typeof AF_INET | typeof AF_INET6;
  bytes: Buffer;
}

export interface CidrBytes extends IpBytes {
  prefixLen: number;
}

export function parseIp(text: string): IpBytes {
  if (ipFamily(text) === 4) return { family: AF_INET, bytes: Buffer.from(text.split(".").map(Number)) };
  if (ipFamily(text) === 6) return { family: AF_INET6, bytes: parseIpv6(text) };
  throw new Error(`not an IP address: ${JSON.stringify(text)}`);
}

/** "10.0.0.1/24" or a bare address (full-length prefix). */
export function parseCidr(text: string): CidrBytes {
  const slash = text.indexOf("/");
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  const max = ip.bytes.length * 8;
  if (slash < 0) return { ...ip, prefixLen: max };
  const prefixText = text.slice(slash + 1);
  const prefixLen = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefixLen > max) throw new Error(`bad prefix length in ${JSON.stringify(text)}`);
  return { ...ip, prefixLen };
}

function parseIpv6(text: string): Buffer {
  const out = Buffer.alloc(16);
  let body = text;
  // A trailing dotted quad ("::ffff:1.2.3.4") stands for the last two groups.
  const lastColon = body.lastIndexOf(":");
  const tail = body.slice(lastColon + 1);
  let tailBytes: Buffer | undefined;
  if (tail.includes(".")) {
    tailBytes = Buffer.from(tail.split(".").map(Number));
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const [head = "", rest] = body.split("::");
  const headGroups = head ? head.split(":") : [];
  const restGroups = rest === undefined ? [] : rest ? rest.split(":") : [];
  const groups =
    rest === undefined
      ? headGroups
      : [...headGroups, ...Array<string>(8 - headGroups.length - restGroups.length).fill("0"), ...restGroups];
  for (const [i, group] of groups.entries()) out.writeUInt16BE(parseInt(group, 16), i * 2);
  if (tailBytes) tailBytes.copy(out, 12);
  return out;
}

/** Canonical text: dotted quad, or IPv6 as src/ip's formatV6 writes it (RFC 5952, as iproute2). */
export function formatIp(bytes: Buffer): string {
  if (bytes.length === 4) return Array.from(bytes).join(".");
  if (bytes.length !== 16) throw new Error(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
  return formatV6(BigInt(`0x${bytes.toString("hex")}`));
}

export function parseMac(text: string): Buffer {
  const mac = canonicalMac(text);
  if (mac === undefined) throw new Error(`not a MAC address: ${JSON.stringify(text)}`);
  return Buffer.from(mac.split(":").map((part) => parseInt(part, 16)));
}

export function formatMac(bytes: Buffer): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join(":");
}

const HEX_BYTE = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/**
 * formatIp of the `length` bytes at `offset`, without a subarray: dumps of 10,000
 * entries format every address they keep, and Array.from + join cost microseconds each.
 */
export function formatIpAt(buf: Buffer, offset: number, length: number): string {
  if (length === 4) return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
  return formatIp(buf.subarray(offset, offset + length));
}

/** formatMac of the 6 bytes at `offset` (lowercase, as formatMac). */
export function formatMacAt(buf: Buffer, offset: number): string {
  const hex = (index: number) => HEX_BYTE[buf[offset + index] ?? 0];
  return `${hex(0)}:${hex(1)}:${hex(2)}:${hex(3)}:${hex(4)}:${hex(5)}`;
}
