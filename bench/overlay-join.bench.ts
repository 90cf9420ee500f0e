// A host joining an overlay run by the etcd membership agents: time from the new host's
// `cnikit overlay agent` start to every other host having it in its peersFile and its
// VTEP (FDB, neighbour, route), for 3, 50 and 1,000 hosts. etcd (Debian's etcd-server)
// runs in a namespace of its own on the underlay. Hosts that only need to exist are
// lease records written straight to etcd; the hosts that are measured run real agents
// in their own namespaces, each behind a VTEP made by the compiled plugin's ADD.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { NetnsFixture, type UnderlayHost, fdb, ipJson, routes } from "../netns-fixtures";
import { AgentProcess } from "../overlay/membership/agent-process";
import { EtcdMember } from "../overlay/membership/etcd-member";
import { DEFAULT_KEY_PREFIX, type HostLease } from "../overlay/membership/records";
import { vtepMac } from "../overlay/kernel/peer-entries";
import type { PublishRequest, WatchFloorRequest } from "./lib/overlay-etcd-tool";
import { RouteMonitor } from "./lib/route-monitor";
import { median } from "./lib/stats";
import type { BenchContext, BenchSection, Benchmark, VariantResult } from "./lib/types";
import { pluginAdd } from "./lib/vxlan-plugin";

const MAX_RUNS = 10;
const JOIN_TIMEOUT_MS = 20_000;
const POLL_MS = 5;
const TTL_SECONDS = 10;

interface Scenario {
  totalHosts: number;
  /** Real agents already joined; the others (but the newcomer) are lease records. */
  observers: UnderlayHost[];
  newcomer: UnderlayHost;
  network: string;
  vni: number;
  /** The pool's network; its /24s are what agents claim. */
  pool: string;
  /** The lease records' underlay addresses and subnets, by record index. */
  recordAddress: (index: number) => string;
  recordSubnet: (index: number) => string;
}

interface Shared {
  context: BenchContext;
  fixture: NetnsFixture;
  etcd: EtcdMember;
  etcdHost: UnderlayHost;
  stateDir: string;
  /** Everything started, stopped in the benchmark's `finally`. */
  agents: AgentProcess[];
  monitors: RouteMonitor[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the etcd tool (bench/lib/overlay-etcd-tool.ts) inside `host`, where etcd is reachable. */
function etcdTool(shared: Shared, host: UnderlayHost, request: PublishRequest | WatchFloorRequest): string {
  const bun = path.join(shared.context.root, "node_modules", ".bin", "bun");
  const tool = path.join(shared.context.root, "bench", "lib", "overlay-etcd-tool.ts");
  const run = spawnSync("nsenter", [`--net=${host.path}`, bun, tool, JSON.stringify(request)], {
    encoding: "utf8",
    timeout: 60_000,
  });
  if (run.status !== 0) throw new Error(`overlay-etcd-tool ${request.mode}: ${run.stderr.slice(-600)}`);
  return run.stdout;
}

async function waitUntil(what: string, condition: () => boolean, logs: () => string): Promise<void> {
  const deadline = performance.now() + JOIN_TIMEOUT_MS;
  while (!condition()) {
    if (performance.now() > deadline)
      throw new Error(`timed out waiting for ${what}; agent logs:\n${logs().slice(-2_000)}`);
    await sleep(POLL_MS);
  }
}

/** The simulated hosts: lease records as an l3 agent publishes them, on unused underlay addresses. */
function simulatedHosts(scenario: Scenario): HostLease[] {
  const count = scenario.totalHosts - scenario.observers.length - 1;
  return Array.from({ length: count }, (_, index) => {
    const underlayAddress = scenario.recordAddress(index);
    return {
      hostId: underlayAddress,
      underlayAddress,
      subnet: scenario.recordSubnet(index),
      vtepMac: vtepMac(scenario.vni, underlayAddress),
    };
  });
}

function startAgent(shared: Shared, scenario: Scenario, host: UnderlayHost, extraArgs: string[] = []): AgentProcess {
  const agent = new AgentProcess({
    cnikit: path.join(shared.context.distBin, "cnikit"),
    host,
    endpoint: shared.etcd.endpoint,
    network: scenario.network,
    stateDir: path.join(shared.stateDir, scenario.network),
    ttl: TTL_SECONDS,
    extraArgs: ["--vni", String(scenario.vni), "--mode", "l3", ...extraArgs],
  });
  shared.agents.push(agent);
  return agent;
}

/** N-1 hosts joined, the observers' VTEPs made by the plugin and programmed by their agents. */
async function joinExisting(
  shared: Shared,
  scenario: Scenario,
): Promise<{ observers: AgentProcess[]; monitors: RouteMonitor[] }> {
  const pool = { network: scenario.pool, subnetLen: 24 };
  const hosts = simulatedHosts(scenario);
  etcdTool(shared, shared.etcdHost, {
    mode: "publish",
    endpoint: shared.etcd.endpoint,
    network: scenario.network,
    keyPrefix: DEFAULT_KEY_PREFIX,
    pool,
    ttlSeconds: 3_600,
    hosts,
  });
  const observers = scenario.observers.map((host) => startAgent(shared, scenario, host));
  const logs = (): string => observers.map((agent) => agent.log).join("\n");
  const existing = scenario.totalHosts - 1;
  await waitUntil(
    `${existing} hosts in every observer's peersFile`,
    () => observers.every((agent) => agent.peers()?.length === existing),
    logs,
  );
  scenario.observers.forEach((host, index) => {
    const agent = observers[index] as AgentProcess;
    const config = {
      cniVersion: "1.0.0",
      name: scenario.network,
      type: "vxlan-overlay",
      vni: scenario.vni,
      mode: "l3",
      peersFile: agent.peersFile,
      subnetFile: agent.subnetFile,
    };
    const ipam = { type: "host-local", dataDir: path.join(shared.stateDir, scenario.network, host.name, "ipam") };
    pluginAdd(shared.context, host, shared.fixture.containerNetns(), { ...config, ipam });
  });
  const monitors = scenario.observers.map((host) => new RouteMonitor(host.name));
  shared.monitors.push(...monitors);
  // Let the monitors subscribe before the first join is timed.
  await sleep(300);
  return { observers, monitors };
}

/** What the newcomer's join left on `host`: FDB entry, permanent neighbour and route on the VTEP. */
function hasEntries(host: UnderlayHost, vtep: string, newcomer: string, subnet: string): boolean {
  const gateway = subnet.split("/")[0] ?? "";
  const fdbEntry = fdb(host, vtep).some((entry) => entry.dst === newcomer);
  const neighbour = ipJson<Array<{ dst: string; state: string[] }>>(host, ["neigh", "show", "dev", vtep]).some(
    (entry) => entry.dst === gateway && entry.state.includes("PERMANENT"),
  );
  const route = routes(host).some((entry) => entry.dst === subnet && entry.dev === vtep);
  return fdbEntry && neighbour && route;
}

interface JoinSample {
  /** Newcomer's agent start -> its subnetFile written (lease claimed in etcd). */
  leasedMs: number;
  /** -> the last observer's peersFile listing the newcomer (polled every POLL_MS). */
  peersFileMs: number;
  /** -> the last observer's route to the newcomer's subnet (the last entry the agent puts). */
  joinedMs: number;
}

async function timeOneJoin(
  shared: Shared,
  scenario: Scenario,
  observers: AgentProcess[],
  monitors: RouteMonitor[],
): Promise<JoinSample> {
  const address = scenario.newcomer.address;
  const vtep = `vx${scenario.vni}`;
  fs.rmSync(path.join(shared.stateDir, scenario.network, scenario.newcomer.name), { recursive: true, force: true });
  const peersFileAt = new Map<AgentProcess, number>();
  let leasedAt: number | undefined;
  let subnet: string | undefined;
  const startedAt = performance.now();
  const newcomer = startAgent(shared, scenario, scenario.newcomer, ["--revoke-on-exit"]);
  const logs = (): string => [newcomer, ...observers].map((agent) => agent.log).join("\n");
  let sample: JoinSample;
  try {
    await waitUntil(
      `${address} on every observer`,
      () => {
        const now = performance.now();
        subnet ??= newcomer.subnet()?.subnet;
        if (subnet !== undefined) leasedAt ??= now;
        for (const agent of observers)
          if (!peersFileAt.has(agent) && agent.peers()?.includes(address)) peersFileAt.set(agent, now);
        return (
          subnet !== undefined &&
          peersFileAt.size === observers.length &&
          monitors.every((monitor) => monitor.addedAt(subnet ?? "", startedAt) !== undefined)
        );
      },
      logs,
    );
    const routeTimes = monitors.map((monitor) => monitor.addedAt(subnet ?? "", startedAt) ?? Number.NaN);
    if (!scenario.observers.every((host) => hasEntries(host, vtep, address, subnet ?? "")))
      throw new Error(
        `a route appeared but the FDB/neighbour entries for ${address} are missing; logs:\n${logs().slice(-2_000)}`,
      );
    sample = {
      leasedMs: (leasedAt ?? Number.NaN) - startedAt,
      peersFileMs: Math.max(...peersFileAt.values()) - startedAt,
      joinedMs: Math.max(...routeTimes, ...peersFileAt.values()) - startedAt,
    };
  } finally {
    // Revoked on exit: the observers drop the host at once, so the next run joins afresh.
    await newcomer.stop("SIGTERM");
  }
  await waitUntil(
    `${address} gone from every observer`,
    () => observers.every((agent) => !agent.peers()?.includes(address)),
    logs,
  );
  const gone = subnet ?? "";
  await waitUntil(
    `the route to ${gone} removed`,
    () => scenario.observers.every((host) => !routes(host).some((entry) => entry.dst === gone)),
    logs,
  );
  for (const monitor of monitors) monitor.forget(performance.now());
  return sample;
}

/**
 * RSS and CPU time (since its start, all joins included) of the observer agents, read
 * from /proc: nsenter execs the agent, so the child's pid is the agent's.
 */
function observerUsage(observers: readonly AgentProcess[]): string {
  const figures = observers.map((agent) => {
    const pid = (agent as unknown as { child: { pid?: number } }).child.pid ?? 0;
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / 100;
    return { rssMb: rssKb / 1024, cpuSeconds };
  });
  const rss = figures.map((figure) => figure.rssMb.toFixed(0)).join("/");
  const cpu = figures.map((figure) => figure.cpuSeconds.toFixed(1)).join("/");
  return `RSS ${rss} MB, CPU ${cpu} s since start`;
}

async function measure(shared: Shared, scenario: Scenario): Promise<{ variants: VariantResult[]; summary: string }> {
  const { observers, monitors } = await joinExisting(shared, scenario);
  const runs = Math.min(shared.context.runs, MAX_RUNS);
  const samples: JoinSample[] = [];
  // One untimed join first: the executable and etcd's pages are cold on the very first.
  for (let run = 0; run < runs + 1; run++) {
    const sample = await timeOneJoin(shared, scenario, observers, monitors);
    if (run > 0) samples.push(sample);
  }
  const usage = observerUsage(observers);
  // Stopped without revoking: this scenario's agents must not load the next one's CPU.
  await Promise.all([...observers].map((agent) => agent.stop("SIGTERM")));
  for (const monitor of monitors) monitor.stop();
  const hosts = `${scenario.totalHosts} hosts (${scenario.observers.length} real agents measured${scenario.totalHosts > scenario.observers.length + 1 ? `, ${scenario.totalHosts - scenario.observers.length - 1} lease records` : ""})`;
  const group = `${scenario.totalHosts}`;
  const joined = samples.map((sample) => sample.joinedMs);
  return {
    variants: [
      {
        label: `${hosts}: new agent start → its lease claimed (own subnetFile written)`,
        samplesMs: samples.map((sample) => sample.leasedMs),
        group,
      },
      {
        label: `${hosts}: new agent start → in every other host's peersFile`,
        samplesMs: samples.map((sample) => sample.peersFileMs),
        group,
      },
      {
        label: `**${hosts}: new agent start → every other host has its peersFile entry and VTEP FDB/neighbour/route**`,
        samplesMs: joined,
        group,
      },
    ],
    summary:
      `${scenario.totalHosts} hosts ${median(joined).toFixed(0)} ms (${Math.min(...joined).toFixed(0)}–${Math.max(...joined).toFixed(0)}), ` +
      `of which ${median(samples.map((sample) => sample.joinedMs - sample.leasedMs)).toFixed(0)} ms from its subnetFile to the last route; ` +
      `an observer agent: ${usage}`,
  };
}

async function run(context: BenchContext): Promise<BenchSection> {
  const fixture = new NetnsFixture();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-bench-overlay-join-"));
  let etcd: EtcdMember | undefined;
  const agents: AgentProcess[] = [];
  const monitors: RouteMonitor[] = [];
  try {
    const [etcdHost, ...hosts] = fixture.underlay({ hosts: 1 + 3 + 4 + 4 });
    if (!etcdHost || hosts.length !== 11) throw new Error("underlay: expected 12 hosts");
    etcd = await EtcdMember.start({
      netnsPath: etcdHost.path,
      address: etcdHost.address,
      dataDir: path.join(stateDir, "etcd"),
      logFile: path.join(stateDir, "etcd.log"),
    });
    const shared: Shared = { context, fixture, etcd, etcdHost, stateDir, agents, monitors };
    const small: Scenario = {
      totalHosts: 3,
      observers: hosts.slice(0, 2),
      newcomer: hosts[2] as UnderlayHost,
      network: "join3",
      vni: 4103,
      pool: "10.41.0.0/16",
      recordAddress: (index) => `198.18.0.${100 + index}`,
      recordSubnet: (index) => `10.41.${100 + index}.0/24`,
    };
    const large: Scenario = {
      totalHosts: 50,
      observers: hosts.slice(3, 6),
      newcomer: hosts[6] as UnderlayHost,
      network: "join50",
      vni: 4150,
      pool: "10.42.0.0/16",
      recordAddress: (index) => `198.18.0.${100 + index}`,
      recordSubnet: (index) => `10.42.${100 + index}.0/24`,
    };
    // 1,000 hosts: a /14 of /24s; the records' underlay addresses are outside the real hosts' /24.
    const fleet: Scenario = {
      totalHosts: 1000,
      observers: hosts.slice(7, 10),
      newcomer: hosts[10] as UnderlayHost,
      network: "join1000",
      vni: 4199,
      pool: "10.44.0.0/14",
      recordAddress: (index) => `198.19.${(index >> 8) + 1}.${index & 255}`,
      recordSubnet: (index) => `10.${44 + ((100 + index) >> 8)}.${(100 + index) & 255}.0/24`,
    };
    const measured = [await measure(shared, small), await measure(shared, large), await measure(shared, fleet)];
    const variants = measured.flatMap((result) => result.variants);
    const floorRequest: WatchFloorRequest = {
      mode: "watch-floor",
      endpoint: etcd.endpoint,
      key: "/cnikit-bench/watch-floor",
      runs: context.runs,
    };
    const floor = (JSON.parse(etcdTool(shared, hosts[0] as UnderlayHost, floorRequest)) as { samplesMs: number[] })
      .samplesMs;
    variants.push({
      label: "floor: etcd put → watch event on the same key (the agent's etcd3 client, one process, no agent)",
      samplesMs: floor,
      group: "floor",
    });
    return {
      title: "Overlay membership on etcd: a host joining, seen by every other host",
      description:
        "etcd (Debian etcd-server, one member) in a namespace of its own on a veth underlay (198.18.0.0/24); the hosts already joined are real " +
        "`cnikit overlay agent --vni --mode l3` processes in their own namespaces, each with a VTEP made by one compiled-plugin ADD, plus (for 50 and 1000) " +
        "lease records written straight to etcd in the agent's format (`leases/`, `subnets/`, `hosts/` keys, as `claim.ts` writes them). A timed run " +
        "starts the new host's agent (`nsenter` + the compiled executable: process start, etcd connection, claim transaction, watch) and ends when every " +
        "real agent has the new host in its peersFile and its route on the VTEP (`ip monitor route`, stamped on arrival; the route is the last entry " +
        "an agent puts, and FDB entry + permanent neighbour are checked after each run). The new agent then exits revoking its lease and the others' " +
        `entries are awaited gone. One untimed join, then ${Math.min(context.runs, MAX_RUNS)} timed joins per size (capped: each one starts an agent process).`,
      variants,
      notes: [
        `No Go reference exists for this (the reference plugins have no membership), so there is no baseline and no ratio: the times are absolute. ` +
          `The floor row is etcd's own put → watch notification latency with the same client, in the same run: what every join pays at least once.`,
        `Agent start → every other host programmed, median (min–max): ${measured.map((result) => result.summary).join("; ")} ` +
          "(the rest is the new agent's own start: process, gRPC connection, claim transaction; its subnetFile is polled every 5 ms).",
      ],
    };
  } finally {
    for (const monitor of monitors) monitor.stop();
    await Promise.all(agents.map((agent) => agent.stop("SIGKILL")));
    await etcd?.stop({ removeData: true });
    fixture.cleanup();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

export const benchmark: Benchmark = { id: "overlay-join", run };
