// The network's address pool as stored in etcd, and the subnets it is cut into. A host
// leases one subnet per family; subnets are numbered from the start of the network, so
// "index" below is the subnet's position inside the network, not an address.
import { formatIp, parseCidr, parseIp } from "../../src/ip/address";
import { type Family, familyOfAddress } from "../../src/ip/cidr";

/** The JSON kept at <prefix>/<network>/config (flannel's naming, camel-cased). */
export interface PoolConfigJson {
  network?: string;
  subnetLen?: number;
  subnetMin?: string;
  subnetMax?: string;
  ipv6Network?: string;
  ipv6SubnetLen?: number;
  ipv6SubnetMin?: string;
  ipv6SubnetMax?: string;
}

/** One family's pool: subnets of `subnetLen` bits inside `network`, indexes min..max. */
export interface FamilyPool {
  family: Family;
  /** Canonical CIDR of the whole overlay network. */
  network: string;
  subnetLen: number;
  minIndex: bigint;
  maxIndex: bigint;
}

export interface PoolConfig {
  ipv4?: FamilyPool;
  ipv6?: FamilyPool;
}

const DEFAULT_SUBNET_LEN: Record<Family, number> = { 4: 24, 6: 64 };
const BITS: Record<Family, number> = { 4: 32, 6: 128 };

function toBigInt(address: string): bigint {
  const parsed = parseIp(address);
  if (!parsed) throw new Error(`not an IP address: ${JSON.stringify(address)}`);
  return parsed.value;
}

function fromBigInt(family: Family, value: bigint): string {
  return formatIp({ family, value });
}

function parseNetwork(field: string, cidr: unknown, family: Family): { start: bigint; prefixLength: number } {
  if (typeof cidr !== "string" || !cidr.includes("/"))
    throw new Error(`pool config: ${field} must be a CIDR string, got ${JSON.stringify(cidr)}`);
  const parsed = parseCidr(cidr);
  if (!parsed || parsed.network.family !== family)
    throw new Error(`pool config: ${field} ${JSON.stringify(cidr)} is not an IPv${family} CIDR`);
  return { start: parsed.network.value, prefixLength: parsed.prefix };
}

interface FamilyFields {
  network: string;
  subnetLen: string;
  subnetMin: string;
  subnetMax: string;
}

const FIELDS: Record<Family, FamilyFields> = {
  4: { network: "network", subnetLen: "subnetLen", subnetMin: "subnetMin", subnetMax: "subnetMax" },
  6: { network: "ipv6Network", subnetLen: "ipv6SubnetLen", subnetMin: "ipv6SubnetMin", subnetMax: "ipv6SubnetMax" },
};

function familyPool(json: Record<string, unknown>, family: Family): FamilyPool | undefined {
  const fields = FIELDS[family];
  if (json[fields.network] === undefined) return undefined;
  const { start, prefixLength } = parseNetwork(fields.network, json[fields.network], family);
  const subnetLen = json[fields.subnetLen] ?? Math.max(DEFAULT_SUBNET_LEN[family], prefixLength + 1);
  if (
    typeof subnetLen !== "number" ||
    !Number.isInteger(subnetLen) ||
    subnetLen <= prefixLength ||
    subnetLen > BITS[family] - 2
  )
    throw new Error(
      `pool config: ${fields.subnetLen} must be an integer in ${prefixLength + 1}..${BITS[family] - 2}, got ${JSON.stringify(subnetLen)}`,
    );
  const network = `${fromBigInt(family, start)}/${prefixLength}`;
  const lastIndex = (1n << BigInt(subnetLen - prefixLength)) - 1n;
  const indexOf = (field: string): bigint | undefined => {
    const value = json[field];
    if (value === undefined) return undefined;
    if (typeof value !== "string")
      throw new Error(`pool config: ${field} must be a subnet address string, got ${JSON.stringify(value)}`);
    const index = subnetIndexOf(
      { family, network, subnetLen, minIndex: 0n, maxIndex: lastIndex },
      value.split("/")[0] ?? value,
    );
    if (index === undefined)
      throw new Error(
        `pool config: ${field} ${JSON.stringify(value)} is not the start of a /${subnetLen} inside ${network}`,
      );
    return index;
  };
  // The all-zeros subnet is skipped by default, as flannel does: its first address is the network's own.
  const minIndex = indexOf(fields.subnetMin) ?? (lastIndex > 0n ? 1n : 0n);
  const maxIndex = indexOf(fields.subnetMax) ?? lastIndex;
  if (minIndex > maxIndex) throw new Error(`pool config: ${fields.subnetMin} is after ${fields.subnetMax}`);
  return { family, network, subnetLen, minIndex, maxIndex };
}

/** Validates the stored JSON; an error names the field and the value. */
export function parsePoolConfig(text: string): PoolConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`pool config is not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new Error("pool config must be a JSON object");
  const record = json as Record<string, unknown>;
  const ipv4 = familyPool(record, 4);
  const ipv6 = familyPool(record, 6);
  if (!ipv4 && !ipv6) throw new Error(`pool config: needs "network" (IPv4) and/or "ipv6Network"`);
  return { ...(ipv4 && { ipv4 }), ...(ipv6 && { ipv6 }) };
}

/** The CIDR of the subnet at `index`. */
export function subnetAt(pool: FamilyPool, index: bigint): string {
  const [networkAddress] = pool.network.split("/");
  const start = toBigInt(networkAddress ?? "") + (index << BigInt(BITS[pool.family] - pool.subnetLen));
  return `${fromBigInt(pool.family, start)}/${pool.subnetLen}`;
}

/** The index of the subnet starting at `address` (a CIDR is accepted), or undefined when it is not one of the pool's subnets. */
export function subnetIndexOf(pool: FamilyPool, address: string): bigint | undefined {
  const [bare, length] = address.split("/");
  if (length !== undefined && Number(length) !== pool.subnetLen) return undefined;
  let value: bigint;
  try {
    if (familyOfAddress(bare ?? "") !== pool.family) return undefined;
    value = toBigInt(bare ?? "");
  } catch {
    return undefined;
  }
  const [networkAddress, prefix] = pool.network.split("/");
  const offset = value - toBigInt(networkAddress ?? "");
  const hostBits = BigInt(BITS[pool.family] - pool.subnetLen);
  if (offset < 0n || offset >= 1n << BigInt(BITS[pool.family] - Number(prefix))) return undefined;
  if (offset & ((1n << hostBits) - 1n)) return undefined;
  const index = offset >> hostBits;
  return index >= pool.minIndex && index <= pool.maxIndex ? index : undefined;
}

export interface SubnetChoice {
  pool: FamilyPool;
  /** Subnets leased right now (any host), canonical CIDRs. */
  taken: ReadonlySet<string>;
  /** Subnets other hosts held before and may come back for: avoided while anything else is free. */
  reservedByOthers: ReadonlySet<string>;
  /** How many free subnets to choose among (spreads hosts joining at once). */
  spread?: number;
  random?: () => number;
}

/** A free subnet for a new host, or undefined when the pool is exhausted. */
export function chooseFreeSubnet(choice: SubnetChoice): string | undefined {
  const spread = choice.spread ?? 8;
  const fresh: string[] = [];
  let fallback: string | undefined;
  // Ends after at most |taken| + |reserved| + spread steps, however large the pool is.
  for (let index = choice.pool.minIndex; index <= choice.pool.maxIndex && fresh.length < spread; index++) {
    const subnet = subnetAt(choice.pool, index);
    if (choice.taken.has(subnet)) continue;
    if (choice.reservedByOthers.has(subnet)) {
      fallback ??= subnet;
      continue;
    }
    fresh.push(subnet);
  }
  if (fresh.length === 0) return fallback;
  const pick = Math.floor((choice.random ?? Math.random)() * fresh.length);
  return fresh[Math.min(pick, fresh.length - 1)];
}

/** Canonical CIDR form for keys and comparisons, or undefined when `cidr` is not in the pool. */
export function canonicalSubnet(pool: FamilyPool, cidr: string): string | undefined {
  const index = subnetIndexOf(pool, cidr);
  return index === undefined ? undefined : subnetAt(pool, index);
}

/**
 * The subnets of `leases` that `pool` would take away: outside it, of another length,
 * or of a family it no longer has. Empty when the change keeps every live host as it is.
 */
export function subnetsTakenAway(
  pool: PoolConfig,
  leases: ReadonlyArray<{ hostId: string; subnet?: string; ipv6Subnet?: string }>,
): string[] {
  const lost: string[] = [];
  for (const lease of leases) {
    for (const [subnet, family] of [
      [lease.subnet, pool.ipv4],
      [lease.ipv6Subnet, pool.ipv6],
    ] as const) {
      if (subnet === undefined) continue;
      if (family === undefined || canonicalSubnet(family, subnet) === undefined)
        lost.push(`${subnet} of host ${lease.hostId}`);
    }
  }
  return lost;
}

/** Whether two parsed pools cut the same subnets (their indexes are bigints, hence no plain JSON). */
export function samePool(left: PoolConfig, right: PoolConfig): boolean {
  const text = (pool: PoolConfig) =>
    JSON.stringify(pool, (_key, value) => (typeof value === "bigint" ? String(value) : value));
  return text(left) === text(right);
}
