// CIDR helpers the plugins share, on src/ip/address (see there why not a library).
import { type Family, cidrContains as contains, formatCidr, formatIp, ipFamily, parseCidr, parseIp } from "./address";

export type { Family } from "./address";

function requireCidr(text: string): { address: NonNullable<ReturnType<typeof parseIp>>; prefix: number } {
  const slash = text.indexOf("/");
  const address = parseIp(slash < 0 ? text : text.slice(0, slash));
  const cidr = parseCidr(slash < 0 ? `${text}/${address?.family === 6 ? 128 : 32}` : text);
  if (!address || !cidr) throw new Error(`not an IP address or CIDR: ${JSON.stringify(text)}`);
  return { address, prefix: cidr.prefix };
}

export function familyOfAddress(address: string): Family {
  const slash = address.indexOf("/");
  const family = ipFamily(slash < 0 ? address : address.slice(0, slash));
  if (family === 0) throw new Error(`not an IP address: ${JSON.stringify(address)}`);
  return family;
}

/** "10.1.0.5/24" -> "10.1.0.0/24". */
export function networkOf(cidr: string): string {
  const parsed = parseCidr(cidr);
  if (!parsed) throw new Error(`not a CIDR: ${JSON.stringify(cidr)}`);
  return formatCidr(parsed);
}

/** The address part of a CIDR, in canonical form. */
export function addressOf(cidr: string): string {
  return formatIp(requireCidr(cidr).address);
}

export function prefixLengthOf(cidr: string): number {
  return requireCidr(cidr).prefix;
}

/** The first address after the network address: the reference plugins' default gateway. */
export function firstHostOf(cidr: string): string {
  const parsed = parseCidr(cidr);
  if (!parsed) throw new Error(`not a CIDR: ${JSON.stringify(cidr)}`);
  return formatIp({ family: parsed.network.family, value: parsed.network.value + 1n });
}

/** Whether two textual addresses are the same address (v6 spellings differ). */
export function sameAddress(left: string, right: string): boolean {
  const a = parseIp(left);
  const b = parseIp(right);
  return a !== undefined && b !== undefined && a.family === b.family && a.value === b.value;
}

/** Whether `address` lies inside `cidr` (false when the families differ or either is malformed). */
export function cidrContains(cidr: string, address: string): boolean {
  const network = parseCidr(cidr);
  const candidate = parseIp(address.split("/")[0] ?? address);
  return network !== undefined && candidate !== undefined && contains(network, candidate);
}

/** The address `offset` after the network address of `cidr` ("10.1.0.0/16", 258n -> "10.1.1.2"). */
export function addressAt(cidr: string, offset: bigint): string {
  const network = parseCidr(cidr)?.network;
  if (!network) throw new Error(`not a CIDR: ${JSON.stringify(cidr)}`);
  return formatIp({ family: network.family, value: network.value + offset });
}
