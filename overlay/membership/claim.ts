// Leasing this host's subnets and publishing its membership, in one etcd transaction.
// Every subnet key is created only if absent (or re-bound only if still ours at the
// revision we read), so two hosts asking at once can never both get a subnet: the
// loser's transaction fails and it chooses again from a fresh read.
import type { Etcd3, IKeyValue, Lease } from "etcd3";
import { type FamilyPool, type PoolConfig, canonicalSubnet, chooseFreeSubnet } from "./pool";
import {
  type HostLease,
  type HostReservation,
  type OverlayKeys,
  parseHostLease,
  parseReservation,
  serializeHostLease,
} from "./records";

export interface ClaimRequest {
  client: Etcd3;
  keys: OverlayKeys;
  pool: PoolConfig;
  /** The etcd lease (TTL) every key of the membership is bound to. */
  lease: Lease;
  hostId: string;
  underlayAddress: string;
  vtepMac?: string;
  /** Subnets this host held in an earlier run (from its subnetFile): asked back first. */
  previous?: HostReservation;
  /** Attempts before giving up when other hosts keep winning the race. */
  attempts?: number;
}

type Field = "subnet" | "ipv6Subnet";

interface Snapshot {
  ownLease?: { lease: HostLease; modRevision: string };
  /** subnet CIDR ("10.20.3.0/24") -> holder hostId and the key's mod revision. */
  holders: Map<string, { hostId: string; modRevision: string }>;
  reservations: Map<string, HostReservation>;
}

function subnetOfKey(keys: OverlayKeys, key: string): string {
  return key.slice(keys.subnetsPrefix.length).replace(/-(\d+)$/, "/$1");
}

async function readSnapshot(request: ClaimRequest): Promise<Snapshot> {
  const { client, keys, hostId } = request;
  const [own, subnets, hosts] = await Promise.all([
    client.get(keys.lease(hostId)).exec(),
    client.getAll().prefix(keys.subnetsPrefix).exec(),
    client.getAll().prefix(keys.hostsPrefix).exec(),
  ]);
  const holders = new Map<string, { hostId: string; modRevision: string }>();
  for (const kv of subnets.kvs)
    holders.set(subnetOfKey(keys, kv.key.toString()), {
      hostId: kv.value.toString(),
      modRevision: String(kv.mod_revision),
    });
  const reservations = new Map<string, HostReservation>();
  for (const kv of hosts.kvs)
    reservations.set(kv.key.toString().slice(keys.hostsPrefix.length), parseReservation(kv.value.toString()));
  const ownKv: IKeyValue | undefined = own.kvs[0];
  let ownLease: Snapshot["ownLease"];
  if (ownKv) {
    try {
      ownLease = { lease: parseHostLease(ownKv.value.toString()), modRevision: String(ownKv.mod_revision) };
    } catch {
      // Unreadable: overwritten below like an absent one, but only at this revision.
      ownLease = {
        lease: { hostId, underlayAddress: request.underlayAddress },
        modRevision: String(ownKv.mod_revision),
      };
    }
  }
  return { ...(ownLease && { ownLease }), holders, reservations };
}

/** The subnet for one family: ours from before when still usable, else a free one. */
function pickSubnet(request: ClaimRequest, snapshot: Snapshot, pool: FamilyPool, field: Field): string {
  const { hostId } = request;
  const usable = (candidate: string | undefined): string | undefined => {
    if (candidate === undefined) return undefined;
    const subnet = canonicalSubnet(pool, candidate);
    if (subnet === undefined) return undefined;
    const holder = snapshot.holders.get(subnet);
    return holder === undefined || holder.hostId === hostId ? subnet : undefined;
  };
  const remembered =
    usable(snapshot.ownLease?.lease[field]) ??
    usable(snapshot.reservations.get(hostId)?.[field]) ??
    usable(request.previous?.[field]);
  if (remembered) return remembered;
  const reservedByOthers = new Set<string>();
  for (const [otherHost, reservation] of snapshot.reservations) {
    const subnet = reservation[field];
    if (otherHost !== hostId && subnet !== undefined) reservedByOthers.add(subnet);
  }
  const chosen = chooseFreeSubnet({ pool, taken: new Set(snapshot.holders.keys()), reservedByOthers });
  if (chosen === undefined)
    throw new Error(`the ${pool.network} pool has no free /${pool.subnetLen} left for host ${hostId}`);
  return chosen;
}

async function tryClaim(request: ClaimRequest, snapshot: Snapshot): Promise<HostLease | undefined> {
  const { client, keys, lease, hostId } = request;
  const published: HostLease = {
    hostId,
    underlayAddress: request.underlayAddress,
    ...(request.vtepMac && { vtepMac: request.vtepMac }),
  };
  if (request.pool.ipv4) published.subnet = pickSubnet(request, snapshot, request.pool.ipv4, "subnet");
  if (request.pool.ipv6) published.ipv6Subnet = pickSubnet(request, snapshot, request.pool.ipv6, "ipv6Subnet");
  const subnets = [published.subnet, published.ipv6Subnet].filter((subnet): subnet is string => subnet !== undefined);

  const leaseKey = keys.lease(hostId);
  const txn = snapshot.ownLease
    ? client.if(leaseKey, "Mod", "==", snapshot.ownLease.modRevision)
    : client.if(leaseKey, "Create", "==", 0);
  for (const subnet of subnets) {
    const holder = snapshot.holders.get(subnet);
    if (holder) txn.and(keys.subnet(subnet), "Mod", "==", holder.modRevision);
    else txn.and(keys.subnet(subnet), "Create", "==", 0);
  }
  const reservation: HostReservation = {
    ...(published.subnet && { subnet: published.subnet }),
    ...(published.ipv6Subnet && { ipv6Subnet: published.ipv6Subnet }),
  };
  txn.then(
    ...subnets.map((subnet) => lease.put(keys.subnet(subnet)).value(hostId)),
    lease.put(leaseKey).value(serializeHostLease(published)),
    client.put(keys.host(hostId)).value(JSON.stringify(reservation)),
  );
  const result = await txn.commit();
  return result.succeeded ? published : undefined;
}

/**
 * Leases this host's subnets and publishes its membership under `request.lease`.
 * Called at start and again whenever the etcd lease is lost (expired in a partition).
 */
export async function claimMembership(request: ClaimRequest): Promise<HostLease> {
  const attempts = request.attempts ?? 20;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const snapshot = await readSnapshot(request);
    const claimed = await tryClaim(request, snapshot);
    if (claimed) return claimed;
    // Another host won a subnet we chose; a short random pause keeps racers apart.
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
  }
  throw new Error(
    `host ${request.hostId}: could not claim a subnet after ${attempts} attempts (other hosts kept taking the ones chosen)`,
  );
}

/** The network's pool, from <prefix>/<network>/config. */
export async function readPoolConfig(client: Etcd3, keys: OverlayKeys): Promise<string | undefined> {
  const value = await client.get(keys.config).string();
  return value ?? undefined;
}
