// IP addresses as (family, bigint) so that ranges are plain integer intervals.
// Formatting must match Go's net.IP.String() exactly: host-local's lease files are
// named by it, and the reference plugin must find the files we write and the other
// way round. No node:net and no address library here: on the plugin start-up path
// `require("node:net")` costs about 2 ms and ip-address about 6 ms (measured in the
// compiled executable), more than the whole kernel work of an ADD.

export type Family = 4 | 6;

export interface IpAddress {
  family: Family;
  value: bigint;
}

export interface Cidr {
  /** The network address (host bits cleared). */
  network: IpAddress;
  prefix: number;
}

export function familyBits(family: Family): number {
  return family === 4 ? 32 : 128;
}

const V4_OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const V4 = new RegExp(`^${V4_OCTET}(\\.${V4_OCTET}){3}$`);
const V6_GROUP = /^[0-9A-Fa-f]{1,4}$/;
const V6_ZONE = /^[0-9A-Za-z.:-]+$/;

function isV6Text(text: string): boolean {
  const zone = text.indexOf("%");
  const bare = zone >= 0 ? text.slice(0, zone) : text;
  if (zone >= 0 && !V6_ZONE.test(text.slice(zone + 1))) return false;
  const halves = bare.split("::");
  if (halves.length > 2) return false;
  let groupCount = 0;
  const parts = halves.map((half) => (half === "" ? [] : half.split(":")));
  const last = parts[parts.length - 1] ?? [];
  const tail = last[last.length - 1];
  if (tail?.includes(".")) {
    if (!V4.test(tail)) return false;
    last.pop();
    groupCount += 2;
  }
  for (const group of parts.flat()) {
    if (!V6_GROUP.test(group)) return false;
    groupCount += 1;
  }
  return halves.length === 2 ? groupCount <= 7 : groupCount === 8;
}

/** 4 or 6 for a textual address, 0 otherwise: what node:net's isIP answers. */
export function ipFamily(text: string): 0 | Family {
  if (V4.test(text)) return 4;
  return isV6Text(text) ? 6 : 0;
}

function parseV4(text: string): bigint {
  return text.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function parseV6(text: string): bigint {
  let tail = text;
  let trailingV4: bigint | undefined;
  const lastColon = tail.lastIndexOf(":");
  if (tail.slice(lastColon + 1).includes(".")) {
    trailingV4 = parseV4(tail.slice(lastColon + 1));
    tail = `${tail.slice(0, lastColon + 1)}0:0`;
  }
  const [head = "", rest] = tail.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const restGroups = rest === undefined || rest === "" ? [] : rest.split(":");
  const zeroGroups = rest === undefined ? 0 : 8 - headGroups.length - restGroups.length;
  const groups = [...headGroups, ...Array<string>(zeroGroups).fill("0"), ...restGroups];
  let value = groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
  if (trailingV4 !== undefined) value = (value & ~0xffffffffn) | trailingV4;
  return value;
}

/** Parses an address the way Go's net.ParseIP does; IPv4-mapped IPv6 becomes IPv4. */
export function parseIp(text: string): IpAddress | undefined {
  const kind = ipFamily(text);
  if (kind === 4) return { family: 4, value: parseV4(text) };
  if (kind !== 6 || text.includes("%")) return undefined;
  const value = parseV6(text);
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

function formatV4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
}

/** Go's net.IP.String(): dotted quad (an IPv4-mapped IPv6 address too, as Go prints it), else formatV6. */
export function formatIp(address: IpAddress): string {
  if (address.family === 4) return formatV4(address.value);
  if (address.value >> 32n === 0xffffn) return formatV4(address.value & 0xffffffffn);
  return formatV6(address.value);
}

/**
 * An IPv6 address as RFC 5952 and inet_ntop (so iproute2) write it: lowercase, the longest
 * run of 2+ zero groups compressed, and an IPv4-mapped one as ::ffff:a.b.c.d (section 5).
 * The one formatter of IPv6 text: the netlink codec prints kernel addresses through it.
 */
export function formatV6(value: bigint): string {
  if (value >> 32n === 0xffffn) return `::ffff:${formatV4(value & 0xffffffffn)}`;
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > bestLength) {
      bestStart = start;
      bestLength = length;
    }
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestLength < 2) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/** Parses "a.b.c.d/n" or "x::/n"; the address part may have host bits set (they are cleared). */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const address = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!address || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const isMappedV6 = address.family === 4 && text.slice(0, slash).includes(":");
  const bits = familyBits(address.family);
  const prefix = Number(prefixText) - (isMappedV6 ? 96 : 0);
  if (prefix < 0 || prefix > bits) return undefined;
  return { network: { family: address.family, value: address.value & prefixMask(address.family, prefix) }, prefix };
}

export function prefixMask(family: Family, prefix: number): bigint {
  const bits = BigInt(familyBits(family));
  const all = (1n << bits) - 1n;
  return (all << (bits - BigInt(prefix))) & all;
}

/** The last address of the subnet (the IPv4 broadcast address). */
export function lastAddressOf(cidr: Cidr): bigint {
  return (
    cidr.network.value |
    (~prefixMask(cidr.network.family, cidr.prefix) & ((1n << BigInt(familyBits(cidr.network.family))) - 1n))
  );
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.network)}/${cidr.prefix}`;
}

export function cidrContains(cidr: Cidr, address: IpAddress): boolean {
  return (
    address.family === cidr.network.family &&
    (address.value & prefixMask(address.family, cidr.prefix)) === cidr.network.value
  );
}
