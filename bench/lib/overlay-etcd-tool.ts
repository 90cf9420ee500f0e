// Run by the overlay-join benchmark inside a namespace on the underlay (etcd is only
// reachable there): `bun bench/lib/overlay-etcd-tool.ts '<json request>'`.
//   publish      stores the pool and the simulated hosts' lease records in the agent's own
//                format (records.ts, as claim.ts writes them), all bound to one long etcd lease
//   watch-floor  times put -> watch event on one key with the agent's etcd client, the
//                latency no agent can beat; prints {"samplesMs": [...]}
import type { Etcd3 } from "etcd3";
import { setPoolConfig } from "../../overlay/membership/admin";
import { createEtcdClient } from "../../overlay/membership/etcd-client";
import { type HostLease, OverlayKeys, serializeHostLease } from "../../overlay/membership/records";

export interface PublishRequest {
  mode: "publish";
  endpoint: string;
  network: string;
  keyPrefix: string;
  pool: object;
  /** Outlives the benchmark; etcd is deleted with its data afterwards anyway. */
  ttlSeconds: number;
  hosts: HostLease[];
}

export interface WatchFloorRequest {
  mode: "watch-floor";
  endpoint: string;
  key: string;
  runs: number;
}

async function publish(client: Etcd3, request: PublishRequest): Promise<void> {
  await setPoolConfig({
    etcd: request.endpoint,
    network: request.network,
    keyPrefix: request.keyPrefix,
    config: JSON.stringify(request.pool),
    force: true,
  });
  const keys = new OverlayKeys(request.keyPrefix, request.network);
  const lease = client.lease(request.ttlSeconds, { autoKeepAlive: false });
  await lease.grant();
  // One transaction per host, as the agent claims (etcd caps the operations per transaction).
  for (const host of request.hosts) {
    const reservation = { ...(host.subnet && { subnet: host.subnet }) };
    await client
      .if(keys.lease(host.hostId), "Create", "==", 0)
      .then(
        ...(host.subnet ? [lease.put(keys.subnet(host.subnet)).value(host.hostId)] : []),
        lease.put(keys.lease(host.hostId)).value(serializeHostLease(host)),
        client.put(keys.host(host.hostId)).value(JSON.stringify(reservation)),
      )
      .commit();
  }
}

async function watchFloor(client: Etcd3, request: WatchFloorRequest): Promise<number[]> {
  const watcher = await client.watch().key(request.key).create();
  const samplesMs: number[] = [];
  try {
    for (let run = 0; run < request.runs; run++) {
      const value = `run-${run}`;
      const seen = new Promise<void>((resolve) => {
        const onPut = (kv: { value: Buffer }): void => {
          if (kv.value.toString() !== value) return;
          watcher.off("put", onPut);
          resolve();
        };
        watcher.on("put", onPut);
      });
      const start = process.hrtime.bigint();
      await client.put(request.key).value(value);
      await seen;
      samplesMs.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  } finally {
    await watcher.cancel();
  }
  return samplesMs;
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? "{}") as PublishRequest | WatchFloorRequest;
  const client = createEtcdClient({ endpoints: request.endpoint });
  try {
    if (request.mode === "publish") {
      await publish(client, request);
      process.stdout.write("{}\n");
    } else {
      process.stdout.write(`${JSON.stringify({ samplesMs: await watchFloor(client, request) })}\n`);
    }
  } finally {
    client.close();
  }
}

// Only as a script: the benchmark imports this file's request types.
if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
