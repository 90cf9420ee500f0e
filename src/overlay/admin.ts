// Operator commands next to the agent: store a network's pool, list its live hosts.
import { createEtcdClient } from "./etcd-client";
import { parsePoolConfig } from "./pool";
import { DEFAULT_KEY_PREFIX, type HostLease, OverlayKeys, parseHostLease } from "./records";

export interface AdminOptions {
  etcd: string;
  network: string;
  keyPrefix?: string;
}

/** Stores the pool config after validating it; refuses to change a pool hosts already lease from unless `force`. */
export async function setPoolConfig(options: AdminOptions & { config: string; force?: boolean }): Promise<void> {
  parsePoolConfig(options.config);
  const keys = new OverlayKeys(options.keyPrefix ?? DEFAULT_KEY_PREFIX, options.network);
  const client = createEtcdClient({ endpoints: options.etcd });
  try {
    const current = await client.get(keys.config).string();
    if (current !== null && current !== options.config && !options.force) {
      const leases = await client.getAll().prefix(keys.leasesPrefix).keys();
      if (leases.length > 0)
        throw new Error(
          `network ${options.network} already has a pool and ${leases.length} live host(s); changing it would strand their subnets (use --force)`,
        );
    }
    await client.put(keys.config).value(options.config);
  } finally {
    client.close();
  }
}

export async function listLeases(options: AdminOptions): Promise<HostLease[]> {
  const keys = new OverlayKeys(options.keyPrefix ?? DEFAULT_KEY_PREFIX, options.network);
  const client = createEtcdClient({ endpoints: options.etcd });
  try {
    const values = await client.getAll().prefix(keys.leasesPrefix).strings();
    return Object.values(values)
      .map((text) => parseHostLease(text))
      .sort((a, b) => a.hostId.localeCompare(b.hostId));
  } finally {
    client.close();
  }
}
