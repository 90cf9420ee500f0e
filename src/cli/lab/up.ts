// `cnikit lab up`: plan, record the plan, then build: underlay, hosts, network configs,
// containers attached through the plugins, routes between hosts. Idempotent.
import * as fs from "node:fs";
import * as path from "node:path";
import { CliError } from "../errors";
import { formatTable, writeProgress, writeStdout } from "../output";
import { buildUnderlay, ensureNetns, routeSlicesBetweenHosts } from "./kernel";
import { hostNetworkConfig } from "./network-config";
import { planLab } from "./plan";
import { attachmentOf, hostRuntime } from "./runtime";
import { type LabState, readLabState, writeLabState } from "./state";
import { loadTopology } from "./topology";

export interface LabUpOptions {
  name?: string;
  quiet?: boolean;
  /** false (`--no-daemon`): plugin calls run standalone even if the topology wants daemons. */
  daemon?: boolean;
}

function sameTopology(state: LabState, topology: unknown): boolean {
  return JSON.stringify(state.topology) === JSON.stringify(topology);
}

async function attachContainers(state: LabState, progress: (line: string) => void): Promise<void> {
  const { plan } = state;
  for (const host of plan.hosts) {
    const { runtime, list } = hostRuntime(host);
    for (const container of plan.containers.filter((each) => each.host === host.name)) {
      ensureNetns(container.netns, "container", progress);
      const attachment = attachmentOf(container);
      const cached = runtime.cachedResult(list, attachment);
      const result = cached ?? (await runtime.addNetworkList(list, attachment));
      const addresses = result.ips?.map((ip) => ip.address) ?? [];
      state.addresses[container.label] = addresses;
      progress(
        `${cached ? "=" : "+"} ${container.label} attached with ${plan.plugin}: ${addresses.join(", ") || "no address"}`,
      );
      writeLabState(state);
    }
  }
}

export function renderLabTables(state: LabState): string {
  const { plan } = state;
  const hosts = formatTable(
    ["HOST", "NETNS", "UNDERLAY", "CONTAINER SLICE"],
    plan.hosts.map((host) => [
      host.name,
      host.netns,
      `${host.underlayAddress}/${plan.underlayPrefixLength}`,
      host.slice,
    ]),
  );
  const containers = formatTable(
    ["CONTAINER", "HOST", "NETNS", "ADDRESSES"],
    plan.containers.map((container) => [
      container.label,
      container.host,
      container.netns,
      (state.addresses[container.label] ?? []).join(", ") || "-",
    ]),
  );
  return `${hosts}\n\n${containers}`;
}

export async function labUp(topologyFile: string | undefined, options: LabUpOptions): Promise<void> {
  const topology = loadTopology(topologyFile, options.name);
  const plan = planLab(topology);
  const progress = options.quiet ? () => undefined : writeProgress;
  const previous = readLabState(plan.name);
  if (previous && !sameTopology(previous, topology)) {
    throw new CliError(`lab ${plan.name} is already up with another topology: cnikit lab down ${plan.name} first`);
  }
  const state: LabState = previous ?? {
    version: 1,
    createdAt: new Date().toISOString(),
    topology,
    plan,
    addresses: {},
  };
  writeLabState(state);
  progress(
    `lab ${plan.name}: ${plan.hosts.length} hosts, ${plan.containers.length} containers, ${plan.plugin} network ${topology.network.subnet}`,
  );
  try {
    buildUnderlay(plan, topology.underlay.mtu, progress);
    if (topology.daemon && options.daemon !== false) {
      (require("./daemons") as typeof import("./daemons")).startLabDaemons(state, progress);
      writeLabState(state);
    }
    if (plan.etcd && !state.membership) {
      state.membership = await (require("../overlay-lab") as typeof import("../overlay-lab")).startLabEtcd(
        state,
        progress,
      );
      writeLabState(state);
    }
    for (const host of plan.hosts) {
      fs.mkdirSync(path.dirname(host.configFile), { recursive: true });
      fs.writeFileSync(host.configFile, `${JSON.stringify(hostNetworkConfig(topology, plan, host), null, 2)}\n`);
    }
    await attachContainers(state, progress);
    if (plan.plugin !== "vxlan-overlay") routeSlicesBetweenHosts(plan, progress);
    await (require("./impair/lifecycle") as typeof import("./impair/lifecycle")).applyTopologyImpairments(
      state,
      progress,
    );
  } catch (err) {
    throw new CliError(
      `lab ${plan.name} is half built: ${(err as Error).message} (cnikit lab down ${plan.name} removes it)`,
      { cause: err },
    );
  }
  progress(`lab ${plan.name} is up`);
  writeStdout(renderLabTables(state));
}
