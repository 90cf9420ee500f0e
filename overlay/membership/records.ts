// What the agents keep in etcd, under <prefix>/<network>/:
//   config              the pool (PoolConfigJson), written by an operator or the lab
//   leases/<hostId>     a live host: HostLease JSON, bound to the host's etcd lease (TTL)
//   subnets/<subnet>    who holds a subnet: the hostId, bound to the same etcd lease, so a
//                       subnet can be claimed atomically with "create if absent"
//   hosts/<hostId>      the subnets a host held last (no TTL): its claim to get them back
//                       after its lease expired, e.g. after a reboot that outlived the TTL
import * as net from "node:net";

export const DEFAULT_KEY_PREFIX = "/cnikit/overlay";

export interface HostLease {
  hostId: string;
  /** The host's underlay address: the VXLAN destination for its VTEP. */
  underlayAddress: string;
  subnet?: string;
  ipv6Subnet?: string;
  vtepMac?: string;
}

/** The subnets a host held, as kept under hosts/<hostId>. */
export interface HostReservation {
  subnet?: string;
  ipv6Subnet?: string;
}

export class OverlayKeys {
  readonly root: string;

  constructor(prefix: string, network: string) {
    if (!/^[A-Za-z0-9_.-]+$/.test(network))
      throw new Error(`network name ${JSON.stringify(network)}: use letters, digits, '_', '.', '-'`);
    this.root = `${prefix.replace(/\/+$/, "")}/${network}/`;
  }

  get config(): string {
    return `${this.root}config`;
  }
  get leasesPrefix(): string {
    return `${this.root}leases/`;
  }
  get subnetsPrefix(): string {
    return `${this.root}subnets/`;
  }
  get hostsPrefix(): string {
    return `${this.root}hosts/`;
  }
  lease(hostId: string): string {
    return `${this.leasesPrefix}${hostId}`;
  }
  host(hostId: string): string {
    return `${this.hostsPrefix}${hostId}`;
  }
  /** "10.20.3.0/24" -> ".../subnets/10.20.3.0-24" (a '/' would read as another key level). */
  subnet(cidr: string): string {
    return `${this.subnetsPrefix}${cidr.replace("/", "-")}`;
  }
  hostIdOfLeaseKey(key: string): string | undefined {
    return key.startsWith(this.leasesPrefix) ? key.slice(this.leasesPrefix.length) : undefined;
  }
}

export function validHostId(hostId: string): boolean {
  return /^[A-Za-z0-9_.:-]{1,128}$/.test(hostId);
}

function optionalString(record: Record<string, unknown>, field: string): string | undefined {
  const value = record[field];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new Error(`${field} must be a string, got ${JSON.stringify(value)}`);
  return value;
}

/** Parses a leases/<hostId> value; throws naming the field when another writer put garbage there. */
export function parseHostLease(text: string): HostLease {
  const json: unknown = JSON.parse(text);
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new Error("a host lease must be a JSON object");
  const record = json as Record<string, unknown>;
  const hostId = optionalString(record, "hostId");
  const underlayAddress = optionalString(record, "underlayAddress");
  if (hostId === undefined || !validHostId(hostId))
    throw new Error(`hostId ${JSON.stringify(hostId)} is missing or invalid`);
  if (underlayAddress === undefined || net.isIP(underlayAddress) === 0)
    throw new Error(`underlayAddress ${JSON.stringify(underlayAddress)} is not an IP address`);
  const subnet = optionalString(record, "subnet");
  const ipv6Subnet = optionalString(record, "ipv6Subnet");
  const vtepMac = optionalString(record, "vtepMac");
  return {
    hostId,
    underlayAddress,
    ...(subnet && { subnet }),
    ...(ipv6Subnet && { ipv6Subnet }),
    ...(vtepMac && { vtepMac }),
  };
}

export function parseReservation(text: string): HostReservation {
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    const subnet = optionalString(json, "subnet");
    const ipv6Subnet = optionalString(json, "ipv6Subnet");
    return { ...(subnet && { subnet }), ...(ipv6Subnet && { ipv6Subnet }) };
  } catch {
    // A damaged reservation only costs the preference, never the lease.
    return {};
  }
}

/** Field order fixed, so equal leases serialise equally and a re-publish is recognisable. */
export function serializeHostLease(lease: HostLease): string {
  return JSON.stringify({
    hostId: lease.hostId,
    underlayAddress: lease.underlayAddress,
    subnet: lease.subnet,
    ipv6Subnet: lease.ipv6Subnet,
    vtepMac: lease.vtepMac,
  });
}

export function sameHostLease(left: HostLease, right: HostLease): boolean {
  return serializeHostLease(left) === serializeHostLease(right);
}

export function describeHostLease(lease: HostLease): string {
  const subnets = [lease.subnet, lease.ipv6Subnet].filter((subnet) => subnet !== undefined).join(" ");
  return `${lease.hostId} (underlay ${lease.underlayAddress}${subnets ? `, subnet ${subnets}` : ""}${lease.vtepMac ? `, vtep ${lease.vtepMac}` : ""})`;
}
