// What `cnikit lab graph` draws, as plain data: the lab's hosts and containers, each
// link with its addresses, MTU, state and impairments, and the last probe matrix. Built
// from the recorded state and what the kernel says now (passed in, so this stays pure
// and unit-testable); the HTML page, the live JSON endpoint and tests all read this.
import { cell } from "../../probe/report";
import { impairmentEntries } from "../impair/spec";
import type { ImpairStore } from "../impair/store";
import { CONTAINER_IF, LAB_BRIDGE, UNDERLAY_IF } from "../plan";
import type { LabProbeRecord } from "../probe-record";
import type { LabState } from "../state";
import { labVxlanPort } from "../topology";

/** What the kernel says about one interface now; undefined when it (or its namespace) is gone. */
export interface ObservedLink {
  mtu: number;
  /** Administratively up and with carrier (a veth whose peer is down is not). */
  running: boolean;
}

export type ObserveLink = (netns: string, ifName: string) => ObservedLink | undefined;

export type LinkState = "up" | "down" | "missing";

export interface GraphLink {
  /** The `lab netem` / `lab link` target: `h1` (its underlay link), `h1/c1`, `h1:lab0`. */
  target: string;
  netns: string;
  ifName: string;
  addresses: string[];
  mtu?: number;
  state: LinkState;
  /** In tc's words: `delay 20ms`, `loss 100%`. */
  impairments: string[];
}

export interface GraphHost {
  name: string;
  netns: string;
  slice: string;
  gateway: string;
  link: GraphLink;
}

export type NodeHealth = "ok" | "failed" | "partial" | "unprobed";

export interface GraphContainer {
  label: string;
  name: string;
  host: string;
  netns: string;
  link: GraphLink;
  /** From the last probe: every pair with this container ok, none, some, or no probe yet. */
  health: NodeHealth;
  /** Of the last probe's pairs from or to this container, how many were ok. */
  pairsOk: number;
  pairsProbed: number;
}

export interface GraphPair {
  from: string;
  to: string;
  verdict: string;
  /** The matrix cell's text: `ok 0.12ms`, `FAIL`, `MTU 1422`. */
  cell: string;
  explanation: string;
}

export interface GraphModel {
  lab: string;
  plugin: string;
  underlay: { subnet: string; netns: string; mtu: number };
  /** vxlan-overlay labs: the VTEPs' VNI and UDP port. */
  overlay?: { vni: number; port: number };
  bridge?: string;
  hosts: GraphHost[];
  containers: GraphContainer[];
  /** Impaired interfaces that are neither a host's underlay link nor a container's link. */
  otherLinks: GraphLink[];
  probe?: { probedAt: string; pairs: GraphPair[]; failed: number };
}

export interface GraphSources {
  state: LabState;
  impairments?: ImpairStore;
  probe?: LabProbeRecord;
  observe: ObserveLink;
}

function healthOf(
  label: string,
  pairs: readonly GraphPair[] | undefined,
): Pick<GraphContainer, "health" | "pairsOk" | "pairsProbed"> {
  const mine = (pairs ?? []).filter((pair) => pair.from === label || pair.to === label);
  const ok = mine.filter((pair) => pair.verdict === "ok").length;
  const health: NodeHealth =
    mine.length === 0 ? "unprobed" : ok === mine.length ? "ok" : ok === 0 ? "failed" : "partial";
  return { health, pairsOk: ok, pairsProbed: mine.length };
}

export function buildGraphModel(sources: GraphSources): GraphModel {
  const { state, impairments, observe } = sources;
  const { plan, topology } = state;
  const records = impairments?.links ?? {};
  const linkOf = (target: string, netns: string, ifName: string, addresses: string[]): GraphLink => {
    const observed = observe(netns, ifName);
    const record = records[target];
    // `lab link down` sets the far end down; the near end then has no carrier, but say so
    // from the record too, since that is what the user did.
    const state: LinkState = !observed ? "missing" : record?.down || !observed.running ? "down" : "up";
    return {
      target,
      netns,
      ifName,
      addresses,
      ...(observed && { mtu: observed.mtu }),
      state,
      impairments: record ? impairmentEntries(record.impairment).map(([key, value]) => `${key} ${value}`) : [],
    };
  };
  const pairs = sources.probe?.reports.map(
    (report): GraphPair => ({
      from: report.from,
      to: report.to,
      verdict: report.verdict,
      cell: cell(report),
      explanation: report.explanation,
    }),
  );
  const hosts = plan.hosts.map(
    (host): GraphHost => ({
      name: host.name,
      netns: host.netns,
      slice: host.slice,
      gateway: host.gateway,
      link: linkOf(host.name, host.netns, UNDERLAY_IF, [`${host.underlayAddress}/${plan.underlayPrefixLength}`]),
    }),
  );
  const containers = plan.containers.map(
    (container): GraphContainer => ({
      label: container.label,
      name: container.name,
      host: container.host,
      netns: container.netns,
      link: linkOf(
        container.label,
        container.netns,
        container.ifName || CONTAINER_IF,
        state.addresses[container.label] ?? [],
      ),
      ...healthOf(container.label, pairs),
    }),
  );
  const drawn = new Set([...hosts.map((host) => host.name), ...containers.map((container) => container.label)]);
  const otherLinks = Object.values(records)
    .filter((record) => !drawn.has(record.target))
    .sort((a, b) => a.target.localeCompare(b.target))
    .map((record) => linkOf(record.target, record.netns, record.ifName, []));
  return {
    lab: plan.name,
    plugin: plan.plugin,
    underlay: { subnet: topology.underlay.subnet, netns: plan.switchNetns, mtu: topology.underlay.mtu },
    ...(plan.plugin === "vxlan-overlay" && { overlay: { vni: topology.network.vni, port: labVxlanPort(topology) } }),
    ...(plan.plugin !== "veth" && { bridge: LAB_BRIDGE }),
    hosts,
    containers,
    otherLinks,
    ...(sources.probe &&
      pairs && {
        probe: {
          probedAt: sources.probe.probedAt,
          pairs,
          failed: pairs.filter((pair) => pair.verdict !== "ok").length,
        },
      }),
  };
}
