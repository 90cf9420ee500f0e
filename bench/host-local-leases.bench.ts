// host-local ADD and DEL as the number of existing leases grows. The reference reads
// every lease file on each ADD (duplicate check) and DEL (release by container); ours
// reads an index, so its steady-state latency should not depend on the lease count.
// The index goes stale whenever another writer changes the network directory: the
// "after an outside change" rows measure the call that then rebuilds it.
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { formatIp, parseIp } from "../src/ip/address";
import { leaseContent } from "../ipam/host-local/store";
import { type PluginCall, type PluginUnderTest, pluginEnv, scratchDataDir } from "./lib/cni-env";
import { type ProcessVariant, expectExitZero, timeProcesses } from "./lib/timing";
import type { BenchContext, BenchSection, Benchmark } from "./lib/types";
import { type Netns, NetnsFixture } from "../netns-fixtures";
import { cnikitModes, prepareHost } from "./lib/modes";

const LEASE_COUNTS = [10, 1_000, 10_000];
const NETWORK = "benchnet";
const SUBNET = "10.1.0.0/16";
const FIRST_LEASE = "10.1.0.2"; // after the gateway, where an allocator starts
/** The lease another writer toggles, far from where either allocator hands out addresses. */
const OUTSIDER_LEASE = "10.1.255.254";

interface LeaseDir {
  plugin: PluginUnderTest;
  count: number;
  dataDir: string;
  /** The host namespace the calls run in (its daemon serves the resident row). */
  host: Netns;
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
  return JSON.stringify({
    cniVersion: "1.0.0",
    name: NETWORK,
    type: "bridge",
    ipam: { type: "host-local", subnet: SUBNET, dataDir },
  });
}

/**
 * What another writer (the Go plugin on the same node, an operator) does between two of
 * our calls: one lease created or removed, alternately. It changes the directory's mtime,
 * so our next call finds its index stale.
 */
function changeFromOutside(dataDir: string): void {
  const lease = path.join(dataDir, NETWORK, OUTSIDER_LEASE);
  if (fs.existsSync(lease)) fs.rmSync(lease);
  else fs.writeFileSync(lease, leaseContent({ containerId: "outsider", ifName: "eth0" }));
}

interface LeaseVariants {
  add: ProcessVariant;
  del: ProcessVariant;
  staleAdd: ProcessVariant;
  staleDel: ProcessVariant;
}

function variantsFor(dir: LeaseDir): LeaseVariants {
  const input = hostLocalConfig(dir.dataDir);
  // Every row through nsenter into its host namespace (the same cost for all): the
  // resident row's daemon lives there, and no call of ours runs in the root namespace.
  const argv = [
    "nsenter",
    `--net=${dir.host.path}`,
    path.join(dir.plugin.pluginDir, dir.plugin.executable ?? "host-local"),
  ];
  // host-local never opens the netns: both implementations only require CNI_NETNS to be set.
  const call = (command: PluginCall["command"]): PluginCall => ({
    plugin: dir.plugin,
    command,
    hostNetnsPath: "",
    containerNetnsPath: "/var/run/netns/unused",
    containerId: "benchcontainer",
  });
  const untimed = (command: PluginCall["command"]) => () =>
    expectExitZero(spawnSync(argv[0] ?? "", argv.slice(1), { env: pluginEnv(call(command)), input, encoding: "utf8" }));
  const outside = () => changeFromOutside(dir.dataDir);
  const leases = `${dir.count.toLocaleString("en-US")} leases`;
  const common = { argv, input, baseline: dir.plugin.baseline };
  const add = { ...common, env: pluginEnv(call("ADD")), after: untimed("DEL") };
  const del = { ...common, env: pluginEnv(call("DEL")) };
  return {
    add: { ...add, label: `${dir.plugin.label}: ADD, ${leases}`, group: `ADD ${dir.count}` },
    del: { ...del, label: `${dir.plugin.label}: DEL, ${leases}`, group: `DEL ${dir.count}`, before: untimed("ADD") },
    staleAdd: {
      ...add,
      label: `${dir.plugin.label}: ADD after an outside change, ${leases}`,
      group: `stale ADD ${dir.count}`,
      before: outside,
    },
    staleDel: {
      ...del,
      label: `${dir.plugin.label}: DEL after an outside change, ${leases}`,
      group: `stale DEL ${dir.count}`,
      before: () => {
        untimed("ADD")();
        outside();
      },
    },
  };
}

function run(context: BenchContext): BenchSection {
  const plugins: PluginUnderTest[] = [
    { label: "Go reference host-local", pluginDir: context.goPluginDir, executable: "host-local", baseline: true },
    ...cnikitModes(context.distBin, "host-local", "host-local"),
  ];
  const fixture = new NetnsFixture();
  const hosts = plugins.map((plugin) => {
    const host = fixture.hostNetns();
    prepareHost(fixture, plugin, host);
    return host;
  });
  // Separate data dirs: neither implementation sees the other's leases or our index.
  const dirs: LeaseDir[] = LEASE_COUNTS.flatMap((count) =>
    plugins.map((plugin, index) => ({ plugin, count, dataDir: scratchDataDir(), host: hosts[index] as Netns })),
  );
  try {
    const ordered: ProcessVariant[] = [];
    for (const count of LEASE_COUNTS) {
      const variants = dirs
        .filter((dir) => dir.count === count)
        .map((dir) => {
          writeLeases(dir.dataDir, count);
          return variantsFor(dir);
        });
      for (const kind of ["add", "del", "staleAdd", "staleDel"] as const)
        ordered.push(...variants.map((variant) => variant[kind]));
    }
    return {
      title: "host-local: ADD / DEL with existing leases",
      description:
        "host-local alone (`CNI_COMMAND` ADD or DEL, config on stdin; it only touches its `dataDir`; every row runs through `nsenter` in a host namespace of its own, where the resident row's daemon is), " +
        `subnet ${SUBNET}, with 10, 1,000 or 10,000 leases already in a scratch \`dataDir\` per implementation and count, ` +
        "written directly in the reference's format and packed from the start of the range with `last_reserved_ip.0` on the last one. " +
        "A timed ADD is undone by an untimed DEL; a timed DEL releases an attachment made by an untimed ADD; all rows interleaved run by run. " +
        "Ours keeps an index beside the lease files. In the plain rows it is current (steady state: only our own calls in between). " +
        `In the "after an outside change" rows another writer created or removed one lease (${OUTSIDER_LEASE}, alternately) just before the timed call, ` +
        "as the Go plugin or an operator would: our index is then stale and that call rebuilds it from every lease file " +
        "(the Go plugin reads every lease file on every call anyway). " +
        "Each row's ratio is against the Go plugin's row for the same command, lease count and kind.",
      variants: timeProcesses(ordered, context),
    };
  } finally {
    fixture.cleanup();
    for (const dir of dirs) fs.rmSync(dir.dataDir, { recursive: true, force: true });
  }
}

export const benchmark: Benchmark = { id: "host-local-leases", run };
