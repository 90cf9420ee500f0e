// Watching the live packet at every hop: one tcpdump per namespace of the path, on all
// of its interfaces at once (`-i any`, Linux cooked v2 records say which interface and
// which direction), its pcap stream read and matched as it comes (match.ts).
import { PcapStreamReader } from "../capture/pcap";
import { type TcpdumpRun, startTcpdump } from "../capture/tcpdump";
import { decodeSll2, matchProbe, type ProbeSignature } from "./match";
import type { IcmpReport, Sighting } from "./types";

export interface WatchedNamespace {
  netns: string;
  netnsPath: string;
  /** ifindex -> name, read before the packet. */
  ifNames: Map<number, string>;
}

export interface Watch {
  /** Namespaces whose tcpdump did not come up (with its error). */
  failed: string[];
  sightings: Sighting[];
  icmp: IcmpReport[];
  stop(): Promise<void>;
}

const LISTEN_WAIT_MS = 4000;
const STOP_GRACE_MS = 2000;

function watchOne(
  target: WatchedNamespace,
  signature: ProbeSignature,
  sightings: Sighting[],
  icmp: IcmpReport[],
): TcpdumpRun {
  // Only IP: ARP and the rest cannot be our packet. The matching is ours, below.
  const run = startTcpdump({
    netnsPath: target.netnsPath,
    ifName: "any",
    dataLinkType: "LINUX_SLL2",
    stayRoot: true,
    filter: signature.family === 6 ? "ip6" : "ip",
  });
  const reader = new PcapStreamReader();
  run.child.stdout?.on("data", (chunk: Buffer) => {
    let records: ReturnType<PcapStreamReader["push"]>;
    try {
      records = reader.push(chunk);
    } catch {
      return;
    }
    for (const record of records) {
      const cooked = decodeSll2(record.data);
      if (!cooked?.ip) continue;
      const match = matchProbe(cooked.ip, signature);
      if (!match) continue;
      const ifName = target.ifNames.get(cooked.ifIndex) ?? `#${cooked.ifIndex}`;
      if (match.kind === "probe")
        sightings.push({
          netns: target.netns,
          ifName,
          direction: cooked.direction,
          time: record.timestamp,
          outer: match.outer,
        });
      else
        icmp.push({
          netns: target.netns,
          ifName,
          from: match.from,
          type: match.type,
          code: match.code,
          ...(match.mtu !== undefined && { mtu: match.mtu }),
          time: record.timestamp,
        });
    }
  });
  return run;
}

/** Starts a watcher per namespace and resolves once every one listens (or has failed). */
export async function startWatch(
  targets: WatchedNamespace[],
  signature: ProbeSignature,
  limitMs: number,
): Promise<Watch> {
  const sightings: Sighting[] = [];
  const icmp: IcmpReport[] = [];
  const failed: string[] = [];
  const runs = targets.flatMap((target) => {
    try {
      return [{ target, run: watchOne(target, signature, sightings, icmp) }];
    } catch (err) {
      // tcpdump missing: the trace goes on with what the kernel's state and tracepoints say.
      failed.push(`${target.netns}: ${(err as Error).message}`);
      return [];
    }
  });
  // The hard bound, whatever else happens (stop() ends them long before).
  for (const { run } of runs) {
    const limit = setTimeout(() => run.child.kill("SIGKILL"), limitMs);
    limit.unref();
    run.child.on("close", () => clearTimeout(limit));
  }
  await Promise.all(
    runs.map(async ({ target, run }) => {
      // A failed start ends the process: its error is kept for the report, never thrown from here.
      run.exited.catch((err: Error) => failed.push(`${target.netns}: ${err.message}`));
      const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), LISTEN_WAIT_MS).unref());
      if (!(await Promise.race([run.listening, timer])))
        failed.push(`${target.netns}: tcpdump did not start listening`);
    }),
  );
  return {
    failed,
    sightings,
    icmp,
    async stop() {
      await Promise.all(
        runs.map(async ({ run }) => {
          if (run.child.exitCode !== null || run.child.signalCode !== null) return;
          run.child.kill("SIGINT");
          const timer = setTimeout(() => run.child.kill("SIGKILL"), STOP_GRACE_MS);
          await run.exited.catch(() => undefined);
          clearTimeout(timer);
        }),
      );
    },
  };
}
