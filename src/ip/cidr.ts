// Address helpers the plugins share, on the ip-address package.
import * as net from "node:net";
import { Address4, Address6 } from "ip-address";

export type Family = 4 | 6;

export function familyOfAddress(address: string): Family {
  const bare = address.split("/")[0] ?? address;
  if (net.isIPv4(bare)) return 4;
  if (net.isIPv6(bare)) return 6;
  throw new Error(`not an IP address: ${JSON.stringify(address)}`);
}

function parse(cidr: string): Address4 | Address6 {
  return familyOfAddress(cidr) === 4 ? new Address4(cidr) : new Address6(cidr);
}

/** "10.1.0.5/24" -> "10.1.0.0/24". */
export function networkOf(cidr: string): string {
  const parsed = parse(cidr);
  const start = parsed.startAddress();
  return `${start.correctForm()}/${parsed.subnetMask}`;
}

/** The address part of a CIDR, in canonical form. */
export function addressOf(cidr: string): string {
  return parse(cidr).correctForm();
}

export function prefixLengthOf(cidr: string): number {
  return parse(cidr).subnetMask;
}

/** The first address after the network address: the reference plugins' default gateway. */
export function firstHostOf(cidr: string): string {
  const parsed = parse(cidr);
  const start = BigInt(parsed.startAddress().bigInt().toString()) + 1n;
  return parsed instanceof Address4 ? Address4.fromBigInt(start).correctForm() : Address6.fromBigInt(start).correctForm();
}

/** Whether two textual addresses are the same address (v6 spellings differ). */
export function sameAddress(left: string, right: string): boolean {
  try {
    return familyOfAddress(left) === familyOfAddress(right) && parse(left).correctForm() === parse(right).correctForm();
  } catch {
    return false;
  }
}

/** Whether `address` lies inside `cidr` (false when the families differ). */
export function cidrContains(cidr: string, address: string): boolean {
  try {
    if (familyOfAddress(cidr) !== familyOfAddress(address)) return false;
    return parse(address).isInSubnet(parse(cidr));
  } catch {
    return false;
  }
}
