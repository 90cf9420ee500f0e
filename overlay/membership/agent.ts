// The overlay agent: one long-lived process per host. It leases the host's subnet from
// the network's pool in etcd, publishes the host, watches the other hosts, and keeps
// the peersFile, the subnetFile and (through `onMembers`) the kernel equal to the live
// set. When etcd is unreachable it keeps the last known set and resynchronises on
// reconnect; when its lease expired meanwhile it claims the same subnet again.
import type { Etcd3, IKeyValue, Lease, Watcher } from "etcd3";
import { claimMembership, readPoolConfig } from "./claim";
import { createEtcdClient, parseEndpoints } from "./etcd-client";
import type { EtcdSecurity } from "./etcd-security";
import { type SubnetFile, peersFileContent, readSubnetFile, subnetFileContent, writeFileAtomic } from "./files";
import { type MemberChange, MemberSet, describeChange } from "./members";
import { type PoolConfig, parsePoolConfig, samePool, subnetsTakenAway } from "./pool";
import { type HostLease, OverlayKeys, describeHostLease, parseHostLease } from "./records";

export interface AgentOptions {
  endpoints: string | readonly string[];
  /** TLS and/or user auth towards etcd. */
  security?: EtcdSecurity;
  network: string;
  keyPrefix: string;
  /** Lease TTL in seconds; etcd3 renews it every third of that. */
  ttlSeconds: number;
  peersFile: string;
  subnetFile: string;
  /** Default: the address this host reaches etcd from. */
  underlayAddress?: string;
  /** Default: the underlay address. */
  hostId?: string;
  /** Published with the lease; a function gets the underlay address (the MAC derives from it). */
  vtepMac?: string | ((underlayAddress: string) => string | undefined);
  /** Default: the underlay interface's MTU minus the VXLAN overhead. */
  mtu?: number;
  /** Revoke the lease on stop (the host leaves now) instead of letting it run out. */
  revokeOnExit: boolean;
  log: (line: string) => void;
  /** Called after every change of the live set (kernel reconciliation). Errors are logged, not fatal. */
  onMembers?: (members: readonly HostLease[], self: HostLease) => void | Promise<void>;
  /** Files and kernel are also re-checked this often (ms), repairing entries someone removed by hand. Default 30 s. */
  reconcileIntervalMs?: number;
  /** Resolved when not given; injectable for tests. */
  resolveUnderlayAddress?: (endpoint: URL) => Promise<string>;
  resolveMtu?: (underlayAddress: string) => number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class OverlayAgent {
  private readonly options: AgentOptions;
  private readonly keys: OverlayKeys;
  private readonly members = new MemberSet();
  private client: Etcd3 | undefined;
  private lease: Lease | undefined;
  private watcher: Watcher | undefined;
  /** The network's config key: a changed pool is used without a restart. */
  private poolWatcher: Watcher | undefined;
  private self: HostLease | undefined;
  private pool: PoolConfig | undefined;
  private underlayAddress = "";
  private hostId = "";
  private stopping = false;
  private reclaiming = false;
  private connected = true;
  private flushTimer: NodeJS.Timeout | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;

  constructor(options: AgentOptions) {
    this.options = options;
    this.keys = new OverlayKeys(options.keyPrefix, options.network);
  }

  /** Our membership once claimed. */
  get membership(): HostLease | undefined {
    return this.self;
  }

  async start(): Promise<void> {
    const client = createEtcdClient({
      endpoints: this.options.endpoints,
      ...(this.options.security && { security: this.options.security }),
    });
    this.client = client;
    const firstEndpoint = new URL(parseEndpoints(this.options.endpoints)[0] ?? "");
    this.underlayAddress =
      this.options.underlayAddress ??
      (await (this.options.resolveUnderlayAddress ?? defaultUnderlayAddress)(firstEndpoint));
    this.hostId = this.options.hostId ?? this.underlayAddress;
    this.pool = await this.waitForPool(client);
    // Set up beside the claim, not before it (awaiting it first made a join 100 -> 460 ms):
    // a claim waiting for room in a full pool retries, and reads the pool the watcher keeps
    // current, so a widened pool is used once the watcher is up; "connected" re-reads it.
    const poolWatching = client
      .watch()
      .key(this.keys.config)
      .create()
      .then((poolWatcher) => {
        this.poolWatcher = poolWatcher;
        poolWatcher.on("put", (kv) => this.onPoolChange(kv.value.toString()));
        poolWatcher.on("connected", () => void this.rereadPool());
        return this.rereadPool();
      });
    await Promise.all([this.claim("start"), poolWatching]);
    const watcher = await client.watch().prefix(this.keys.leasesPrefix).create();
    this.watcher = watcher;
    watcher.on("put", (kv) => this.onPut(kv));
    watcher.on("delete", (kv) => this.onDelete(kv));
    watcher.on("disconnected", () => this.onDisconnected());
    watcher.on("connected", () => void this.resync("reconnected"));
    watcher.on("error", (err) => this.options.log(`watch error: ${err.message}`));
    await this.resync("start");
    this.reconcileTimer = setInterval(() => this.scheduleFlush(), this.options.reconcileIntervalMs ?? 30_000);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    await this.watcher?.cancel().catch(() => undefined);
    await this.poolWatcher?.cancel().catch(() => undefined);
    const lease = this.lease;
    if (lease && this.options.revokeOnExit) {
      await Promise.race([
        lease.revoke().then(() => this.options.log("lease revoked: this host left the overlay")),
        sleep(3_000),
      ]).catch((err: Error) =>
        this.options.log(`could not revoke the lease (it runs out after ${this.options.ttlSeconds}s): ${err.message}`),
      );
    } else {
      // Kept on purpose: a restart within the TTL changes nothing on the other hosts.
      lease?.release();
    }
    this.client?.close();
  }

  private async waitForPool(client: Etcd3): Promise<PoolConfig> {
    let reported = "";
    for (;;) {
      if (this.stopping) throw new Error("stopped");
      let problem: string;
      try {
        const text = await readPoolConfig(client, this.keys);
        if (text !== undefined) return parsePoolConfig(text);
        problem = `no pool config at ${this.keys.config} yet`;
      } catch (err) {
        problem = `etcd: ${(err as Error).message}`;
      }
      if (problem !== reported) this.options.log(`waiting: ${problem}`);
      reported = problem;
      await sleep(1_000);
    }
  }

  private newLease(client: Etcd3): Lease {
    const lease = client.lease(this.options.ttlSeconds);
    lease.on("lost", (err) => {
      if (lease === this.lease && !this.stopping) void this.reclaim(`lease lost: ${err.message}`);
    });
    return lease;
  }

  private async claim(reason: string): Promise<void> {
    const client = this.client;
    const pool = this.pool;
    if (!client || !pool) throw new Error("agent not started");
    const previousFile = readSubnetFile(this.options.subnetFile);
    const previous = this.self ?? (previousFile?.hostId === this.hostId ? previousFile : undefined);
    let reported = false;
    const vtepMac =
      typeof this.options.vtepMac === "function" ? this.options.vtepMac(this.underlayAddress) : this.options.vtepMac;
    for (let delay = 200; ; delay = Math.min(delay * 2, 2_000)) {
      const lease = this.newLease(client);
      this.lease = lease;
      try {
        const claimed = await claimMembership({
          client,
          keys: this.keys,
          // Read on every attempt: the pool may have changed while we waited.
          pool: this.pool ?? pool,
          lease,
          hostId: this.hostId,
          underlayAddress: this.underlayAddress,
          ...(vtepMac && { vtepMac }),
          ...(previous && {
            previous: {
              ...(previous.subnet && { subnet: previous.subnet }),
              ...(previous.ipv6Subnet && { ipv6Subnet: previous.ipv6Subnet }),
            },
          }),
        });
        this.published(claimed, reason);
        return;
      } catch (err) {
        lease.release();
        if (this.stopping) return;
        // One line per outage, not one per attempt.
        if (!reported) this.options.log(`claim failed (${(err as Error).message}); retrying until etcd answers`);
        reported = true;
        await sleep(delay);
      }
    }
  }

  private published(claimed: HostLease, reason: string): void {
    const before = this.self;
    this.self = claimed;
    const subnets = `${claimed.subnet ?? ""}${claimed.ipv6Subnet ? ` ${claimed.ipv6Subnet}` : ""}`.trim();
    if (before && (before.subnet !== claimed.subnet || before.ipv6Subnet !== claimed.ipv6Subnet))
      this.options.log(
        `subnet CHANGED from ${before.subnet ?? before.ipv6Subnet} to ${subnets}: containers attached before keep old addresses`,
      );
    else
      this.options.log(
        `leased ${subnets} for ${describeHostLease(claimed)} (${reason}, ttl ${this.options.ttlSeconds}s)`,
      );
    this.writeSubnetFile(claimed);
  }

  private writeSubnetFile(claimed: HostLease): void {
    const pool = this.pool;
    const mtu = this.options.mtu ?? (this.options.resolveMtu ?? defaultMtu)(this.underlayAddress);
    const subnetFile: SubnetFile = {
      ...(pool?.ipv4 && { network: pool.ipv4.network }),
      ...(claimed.subnet && { subnet: claimed.subnet }),
      ...(pool?.ipv6 && { ipv6Network: pool.ipv6.network }),
      ...(claimed.ipv6Subnet && { ipv6Subnet: claimed.ipv6Subnet }),
      mtu,
      underlayAddress: this.underlayAddress,
      hostId: this.hostId,
    };
    writeFileAtomic(this.options.subnetFile, subnetFileContent(subnetFile));
  }

  /** A missed change (watch reconnected) is read again. */
  private async rereadPool(): Promise<void> {
    const client = this.client;
    if (!client || this.stopping) return;
    const text = await readPoolConfig(client, this.keys).catch(() => undefined);
    if (text !== undefined) this.onPoolChange(text);
  }

  /**
   * The pool changed: use it from now on. `overlay config` refuses a change that takes a
   * live host's subnet away; should ours be outside anyway (--force, or claimed while the
   * change was checked), claim again. Otherwise only the subnetFile's networks change.
   */
  private onPoolChange(text: string): void {
    let pool: PoolConfig;
    try {
      pool = parsePoolConfig(text);
    } catch (err) {
      this.options.log(`ignoring the new pool config: ${(err as Error).message}`);
      return;
    }
    if (this.pool && samePool(pool, this.pool)) return;
    this.pool = pool;
    this.options.log(`pool changed: ${[pool.ipv4?.network, pool.ipv6?.network].filter(Boolean).join(" ")}`);
    const self = this.self;
    if (!self) return;
    if (subnetsTakenAway(pool, [self]).length > 0) void this.reclaim(`our subnet is outside the new pool`);
    else this.writeSubnetFile(self);
  }

  private async reclaim(reason: string): Promise<void> {
    if (this.reclaiming || this.stopping) return;
    this.reclaiming = true;
    try {
      this.options.log(`${reason}; claiming the membership again`);
      this.lease?.release();
      await this.claim("re-claimed");
    } finally {
      this.reclaiming = false;
    }
  }

  private decode(kv: IKeyValue): { hostId: string; lease?: HostLease; revision: bigint } | undefined {
    const hostId = this.keys.hostIdOfLeaseKey(kv.key.toString());
    if (hostId === undefined) return undefined;
    const revision = BigInt(String(kv.mod_revision));
    if (kv.value.length === 0) return { hostId, revision };
    try {
      return { hostId, lease: parseHostLease(kv.value.toString()), revision };
    } catch (err) {
      this.options.log(`ignoring ${kv.key.toString()}: ${(err as Error).message}`);
      return undefined;
    }
  }

  private onPut(kv: IKeyValue): void {
    const decoded = this.decode(kv);
    if (decoded?.lease) this.apply(this.members.put(decoded.lease, decoded.revision));
  }

  private onDelete(kv: IKeyValue): void {
    const decoded = this.decode(kv);
    if (decoded) this.apply(this.members.delete(decoded.hostId, decoded.revision));
  }

  private onDisconnected(): void {
    if (this.stopping || !this.connected) return;
    this.connected = false;
    this.options.log(`etcd unreachable: keeping the last known ${this.members.size} host(s) until it is back`);
  }

  private async resync(reason: string): Promise<void> {
    const client = this.client;
    if (!client || this.stopping) return;
    try {
      const listing = await client.getAll().prefix(this.keys.leasesPrefix).exec();
      const items = listing.kvs.map((kv) => this.decode(kv)).filter((item) => item?.lease !== undefined) as {
        lease: HostLease;
        revision: bigint;
      }[];
      this.apply(this.members.replaceAll(items, BigInt(String(listing.header.revision))));
      if (!this.connected) this.options.log(`etcd reachable again: resynchronised, ${this.members.size} host(s) live`);
      this.connected = true;
    } catch (err) {
      this.options.log(`resync (${reason}) failed: ${(err as Error).message}`);
    }
  }

  private apply(changes: MemberChange[]): void {
    for (const change of changes) {
      this.options.log(describeChange(change));
      // Our own key gone while we run (expired in a partition, deleted by hand): publish again.
      if (change.kind === "left" && change.lease.hostId === this.hostId && !this.stopping)
        void this.reclaim("our lease key disappeared");
    }
    if (changes.length > 0) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.flushTimer && !this.stopping) this.flushTimer = setTimeout(() => void this.flush(), 10);
  }

  /** Writes what a batch of changes produced: one peersFile write and one kernel pass per batch. */
  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    if (this.stopping) return;
    const leases = this.members.leases();
    try {
      writeFileAtomic(this.options.peersFile, peersFileContent(leases));
    } catch (err) {
      this.options.log(`cannot write ${this.options.peersFile}: ${(err as Error).message}`);
    }
    if (this.options.onMembers && this.self) {
      try {
        await this.options.onMembers(leases, this.self);
      } catch (err) {
        this.options.log(`kernel reconciliation failed: ${(err as Error).message}`);
      }
    }
  }
}

async function defaultUnderlayAddress(endpoint: URL): Promise<string> {
  const { sourceAddressTowards } = require("./underlay") as typeof import("./underlay");
  return sourceAddressTowards(endpoint.hostname.replace(/^\[|\]$/g, ""), Number(endpoint.port || 2379));
}

function defaultMtu(underlayAddress: string): number {
  const { overlayMtu } = require("./underlay") as typeof import("./underlay");
  return overlayMtu(underlayAddress);
}
