// Operator commands next to the agent: store a network's pool, list its live hosts.
import type { Etcd3 } from "etcd3";
import { createEtcdClient, parseEndpoints } from "./etcd-client";
import { type EtcdSecurityFlags, etcdSecurityFromFlags, probeEtcdTls } from "./etcd-security";
import { parsePoolConfig, subnetsTakenAway } from "./pool";
import { DEFAULT_KEY_PREFIX, type HostLease, OverlayKeys, parseHostLease } from "./records";

export interface AdminOptions extends EtcdSecurityFlags {
  etcd: string;
  network: string;
  keyPrefix?: string;
}

/**
 * Runs `work` with a client of the options' etcd, closed afterwards. A failed call over
 * TLS is explained by one handshake of our own: gRPC reports a refused certificate only
 * as "unavailable" (every call is bounded by the client's 5 s deadline).
 */
async function withEtcd<T>(options: AdminOptions, work: (client: Etcd3) => Promise<T>): Promise<T> {
  const endpoints = parseEndpoints(options.etcd);
  const security = etcdSecurityFromFlags(options, endpoints);
  const client = createEtcdClient({ endpoints, security });
  try {
    return await work(client);
  } catch (err) {
    const probe = security.tls && (await probeEtcdTls(endpoints[0] ?? "", security.tls));
    if (probe) throw new Error(`etcd: ${probe.message}`, { cause: err });
    throw err;
  } finally {
    client.close();
  }
}

/**
 * Stores the pool config after validating it. A change that keeps every live host's
 * subnet inside the pool (a widened network, a raised subnetMax) is stored at once and
 * the running agents follow it; one that would take a live host's subnet away is refused
 * naming them, unless `force`. A host claiming between the check and the write claims
 * from the pool it read; should that subnet be outside the new pool, its agent sees so
 * when the config changes and claims again (agent.ts, onPoolChange).
 */
export async function setPoolConfig(options: AdminOptions & { config: string; force?: boolean }): Promise<void> {
  const pool = parsePoolConfig(options.config);
  const keys = new OverlayKeys(options.keyPrefix ?? DEFAULT_KEY_PREFIX, options.network);
  await withEtcd(options, async (client) => {
    if (!options.force) {
      const leases = Object.values(await client.getAll().prefix(keys.leasesPrefix).strings());
      const lost = subnetsTakenAway(
        pool,
        leases.map((text) => parseHostLease(text)),
      );
      if (lost.length > 0)
        throw new Error(
          `network ${options.network}: the new pool would take away ${lost.join(", ")} (live hosts lease them; --force changes it anyway)`,
        );
    }
    await client.put(keys.config).value(options.config);
  });
}

export async function listLeases(options: AdminOptions): Promise<HostLease[]> {
  const keys = new OverlayKeys(options.keyPrefix ?? DEFAULT_KEY_PREFIX, options.network);
  return withEtcd(options, async (client) => {
    const values = await client.getAll().prefix(keys.leasesPrefix).strings();
    return Object.values(values)
      .map((text) => parseHostLease(text))
      .sort((a, b) => a.hostId.localeCompare(b.hostId));
  });
}
