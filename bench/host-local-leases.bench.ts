// host-local ADD and DEL as the number of existing leases grows. The reference reads
// every lease file on each ADD (duplicate check) and DEL (release by container); ours
// reads an index, so its latency should not depend on the lease count.
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { formatIp, parseIp } from "../src/ip/address";
import { leaseContent } from "../ipam/host-local/store";
import { type PluginCall, type PluginUnderTest, pluginEnv, scratchDataDir } from "./lib/cni-env";
import { median } from "./lib/stats";
import { type ProcessVariant, expectExitZero, timeProcesses } from "./lib/timing";
import type { BenchContext, BenchSection, Benchmark } from "./lib/types";

const LEASE_COUNTS = [10, 1_000, 10_000];
const NETWORK = "benchnet";
const SUBNET = "10.1.0.0/16";
const FIRST_LEASE = "10.1.0.2"; // after the gateway, where an allocator starts
/** ADDs on a stale index: few, each one rebuilds it (seconds at 10,000 leases). */
const STALE_RUNS = 3;

interface LeaseDir {
  plugin: PluginUnderTest;
  count: number;
  dataDir: string;
}

/**
 * Writes `count` leases the way the reference does, packed from the start of the range,
 * with last_reserved_ip.0 on the last one: the next ADD finds a free address at once, so
 * the rows measure the store's per-call cost rather than a search for a free address.
 */
function writeLeases(dataDir: string, count: number): void {
  const networkDir = path.join(dataDir, NETWORK);
  fs.mkdirSync(networkDir, { recursive: true });
  const first = parseIp(FIRST_LEASE);
  if (!first) throw new Error(`bad first lease ${FIRST_LEASE}`);
  let last = FIRST_LEASE;
  for (let index = 0; index < count; index++) {
    last = formatIp({ family: first.family, value: first.value + BigInt(index) });
    fs.writeFileSync(path.join(networkDir, last), leaseContent({ containerId: `lease-${index}`, ifName: "eth0" }));
  }
  fs.writeFileSync(path.join(networkDir, "last_reserved_ip.0"), last);
}

function hostLocalConfig(dataDir: string): string {
  return JSON.stringify({ cniVersion: "1.0.0", name: NETWORK, type: "bridge", ipam: { type: "host-local", subnet: SUBNET, dataDir } });
}

function variantsFor(dir: LeaseDir): { add: ProcessVariant; del: ProcessVariant } {
  const input = hostLocalConfig(dir.dataDir);
  const argv = [path.join(dir.plugin.pluginDir, dir.plugin.executable ?? "host-local")];
  // host-local never opens the netns: both implementations only require CNI_NETNS to be set.
  const call = (command: PluginCall["command"]): PluginCall => ({ plugin: dir.plugin, command, hostNetnsPath: "", containerNetnsPath: "/var/run/netns/unused", containerId: "benchcontainer" });
  const untimed = (command: PluginCall["command"]) => () => expectExitZero(spawnSync(argv[0] ?? "", [], { env: pluginEnv(call(command)), input, encoding: "utf8" }));
  const leases = `${dir.count.toLocaleString("en-US")} leases`;
  const common = { argv, input, baseline: dir.plugin.baseline };
  return {
    add: { ...common, label: `${dir.plugin.label}: ADD, ${leases}`, env: pluginEnv(call("ADD")), group: `ADD ${dir.count}`, after: untimed("DEL") },
    del: { ...common, label: `${dir.plugin.label}: DEL, ${leases}`, env: pluginEnv(call("DEL")), group: `DEL ${dir.count}`, before: untimed("ADD") },
  };
}

function run(context: BenchContext): BenchSection {
  const plugins: PluginUnderTest[] = [
    { label: "Go reference host-local", pluginDir: context.goPluginDir, executable: "host-local", baseline: true },
    { label: "cnikit compiled host-local", pluginDir: context.distBin, executable: "host-local" },
  ];
  // Separate data dirs: neither implementation sees the other's leases or our index.
  const dirs: LeaseDir[] = LEASE_COUNTS.flatMap((count) => plugins.map((plugin) => ({ plugin, count, dataDir: scratchDataDir() })));
  const notes: string[] = [];
  try {
    const ordered: ProcessVariant[] = [];
    for (const count of LEASE_COUNTS) {
      const pairs = dirs.filter((dir) => dir.count === count).map((dir) => {
        writeLeases(dir.dataDir, count);
        const variants = variantsFor(dir);
        // Another writer (the Go plugin, an operator) changing the network directory makes
        // our index stale; the next call rebuilds it from every lease file.
        const touch = (): void => fs.utimesSync(path.join(dir.dataDir, NETWORK), new Date(), new Date());
        const [stale] = timeProcesses([{ ...variants.add, before: touch }], { runs: STALE_RUNS, warmup: 0 });
        return { label: dir.plugin.label, staleMs: median(stale?.samplesMs ?? []), variants };
      });
      const times = pairs.map((pair) => `${pair.label} ${pair.staleMs.toFixed(1)} ms`).join(", ");
      notes.push(`ADD right after the network directory changed behind our back, ${count.toLocaleString("en-US")} leases (median of ${STALE_RUNS}, not in the table): ${times}.`);
      ordered.push(...pairs.map((pair) => pair.variants.add), ...pairs.map((pair) => pair.variants.del));
    }
    return {
      title: "host-local: ADD / DEL with existing leases",
      description:
        "host-local alone (`CNI_COMMAND` ADD or DEL, config on stdin, no namespace: it only touches its `dataDir`), " +
        `subnet ${SUBNET}, with 10, 1,000 or 10,000 leases already in a scratch \`dataDir\` per implementation and count, ` +
        "written directly in the reference's format and packed from the start of the range with `last_reserved_ip.0` on the last one. " +
        "A timed ADD is undone by an untimed DEL; a timed DEL releases an attachment made by an untimed ADD; all rows interleaved run by run. " +
        "Ours keeps an index beside the lease files, rebuilt when the directory changed behind its back (its first call here, and the notes below); " +
        "the table is the steady state, after those calls and the warm-up runs. " +
        "Each row's ratio is against the Go plugin's row for the same command and lease count.",
      variants: timeProcesses(ordered, context),
      notes,
    };
  } finally {
    for (const dir of dirs) fs.rmSync(dir.dataDir, { recursive: true, force: true });
  }
}

export const benchmark: Benchmark = { id: "host-local-leases", run };
