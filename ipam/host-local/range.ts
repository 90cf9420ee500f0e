// Ranges and range sets: defaults filled in, checked, and turned into integer intervals.
// Defaults follow the reference: the gateway is the first address after the network
// address and is never handed out; neither are the network and IPv4 broadcast
// addresses. Unlike the reference (which refuses them), /31 and /127 hand out both
// addresses and /32 and /128 their single one, with no default gateway: they are
// point-to-point subnets that have no network or broadcast address to protect.
import { CniError, ErrorCode } from "../../src/cni/errors";
import {
  type Cidr,
  type IpAddress,
  familyBits,
  formatCidr,
  formatIp,
  lastAddressOf,
  parseCidr,
  parseIp,
  cidrContains,
} from "../../src/ip/address";

export interface RangeInput {
  subnet: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

export interface Range {
  /** Where the range came from, for messages: "ipam.ranges[0][1]", "runtimeConfig.ipRanges[0][0]"... */
  where: string;
  subnet: Cidr;
  /** First and last address handed out, inclusive. */
  start: bigint;
  end: bigint;
  gateway?: IpAddress;
  /** Addresses in [start, end] never handed out: gateway, network, broadcast. */
  reserved: ReadonlySet<bigint>;
}

export type RangeSet = Range[];

function configError(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

function parseMember(
  input: RangeInput,
  field: "rangeStart" | "rangeEnd" | "gateway",
  where: string,
  subnet: Cidr,
): IpAddress | undefined {
  const text = input[field];
  if (text === undefined) return undefined;
  const address = parseIp(text);
  if (!address) throw configError(`${where}.${field}: ${JSON.stringify(text)} is not an IP address`);
  if (!cidrContains(subnet, address))
    throw configError(`${where}.${field}: ${text} is not in subnet ${formatCidr(subnet)}`);
  return address;
}

export function canonicalizeRange(input: RangeInput, where: string): Range {
  const subnet = parseCidr(input.subnet);
  if (!subnet) throw configError(`${where}.subnet: ${JSON.stringify(input.subnet)} is not a CIDR`);
  const family = subnet.network.family;
  const hostBits = familyBits(family) - subnet.prefix;
  const first = subnet.network.value;
  const last = lastAddressOf(subnet);
  const explicitGateway = parseMember(input, "gateway", where, subnet);
  const reserved = new Set<bigint>();
  let gateway = explicitGateway;
  let defaultStart = first;
  let defaultEnd = last;
  if (hostBits >= 2) {
    gateway ??= { family, value: first + 1n };
    reserved.add(first);
    if (family === 4) reserved.add(last);
    defaultStart = first + 1n;
    defaultEnd = family === 4 ? last - 1n : last;
  }
  if (gateway) reserved.add(gateway.value);
  const start = parseMember(input, "rangeStart", where, subnet)?.value ?? defaultStart;
  const end = parseMember(input, "rangeEnd", where, subnet)?.value ?? defaultEnd;
  if (start > end) {
    throw configError(
      `${where}: rangeStart ${formatIp({ family, value: start })} is after rangeEnd ${formatIp({ family, value: end })}`,
    );
  }
  const range: Range = { where, subnet, start, end, reserved };
  if (gateway) range.gateway = gateway;
  if (capacityOf(range) === 0n) throw configError(`${where}: ${rangeLabel(range)} has no address to hand out`);
  return range;
}

/** "10.1.0.0/24 (10.1.0.2-10.1.0.254)". */
export function rangeLabel(range: Range): string {
  const family = range.subnet.network.family;
  return `${formatCidr(range.subnet)} (${formatIp({ family, value: range.start })}-${formatIp({ family, value: range.end })})`;
}

export function rangeSetLabel(set: RangeSet): string {
  return set.map(rangeLabel).join(", ");
}

export function familyOf(set: RangeSet): 4 | 6 {
  return set[0]?.subnet.network.family ?? 4;
}

/** How many addresses the range can hand out. */
export function capacityOf(range: Range): bigint {
  let count = range.end - range.start + 1n;
  for (const value of range.reserved) if (value >= range.start && value <= range.end) count--;
  return count;
}

export function rangeFor(set: RangeSet, address: IpAddress): Range | undefined {
  return set.find(
    (range) =>
      range.subnet.network.family === address.family && address.value >= range.start && address.value <= range.end,
  );
}

function overlaps(a: Range, b: Range): boolean {
  return a.subnet.network.family === b.subnet.network.family && a.start <= b.end && b.start <= a.end;
}

/** Checks families inside each set and that no two ranges anywhere overlap (code 7 naming both). */
export function checkRangeSets(sets: RangeSet[]): void {
  if (sets.length === 0) throw configError("ipam: no IP ranges specified (set ipam.ranges or ipam.subnet)");
  const all = sets.flat();
  for (const set of sets) {
    const family = familyOf(set);
    const mixed = set.find((range) => range.subnet.network.family !== family);
    if (mixed)
      throw configError(
        `${mixed.where}: ${rangeLabel(mixed)} mixes address families with ${set[0]?.where ?? "the set"}`,
      );
  }
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const a = all[i] as Range;
      const b = all[j] as Range;
      if (overlaps(a, b)) throw configError(`${a.where} ${rangeLabel(a)} overlaps ${b.where} ${rangeLabel(b)}`);
    }
  }
}
