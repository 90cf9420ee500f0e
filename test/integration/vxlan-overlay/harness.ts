// Runs the built vxlan-overlay executable inside a host namespace (never in ours), as a
// runtime on that host would, and builds configs for a lab of hosts on one underlay.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runPluginAsync } from "../../helpers/exec";
import type { Netns, NetnsFixture, UnderlayHost } from "../../../netns-fixtures";
import { expect, it } from "vitest";
import { fdb, ipJson, links, nsExec, udpProbe } from "../../../netns-fixtures";
import { tcpEcho } from "./tcp";

export const OVERLAY_SUBNET = "10.77.0.0/16";

export interface OverlayCall {
  host: Netns;
  command: "ADD" | "DEL" | "CHECK" | "STATUS" | "GC";
  config: Record<string, unknown>;
  container?: Netns;
  containerId?: string;
  ifName?: string;
}

export interface OverlayExit {
  status: number | null;
  stdout: string;
  stderr: string;
  json: Record<string, unknown> | undefined;
}

/** `nsenter --net=<host> dist/bin/vxlan-overlay` with CNI_* set and the config on stdin. */
export async function runOverlay(call: OverlayCall): Promise<OverlayExit> {
  const run = await runPluginAsync({
    plugin: "vxlan-overlay",
    command: call.command,
    netns: call.host.path,
    config: call.config,
    env: {
      CNI_CONTAINERID: call.containerId ?? "",
      CNI_NETNS: call.container?.path ?? "",
      CNI_IFNAME: call.ifName ?? "eth0",
    },
  });
  const json = typeof run.json === "object" && run.json !== null ? (run.json as Record<string, unknown>) : undefined;
  return { ...run, json };
}

/** ADD that must succeed; returns the container's overlay address (no prefix length). */
export async function addContainer(
  call: Omit<OverlayCall, "command">,
): Promise<{ address: string; result: Record<string, unknown> }> {
  const exit = await runOverlay({ ...call, command: "ADD" });
  const ips = exit.json?.ips as Array<{ address: string }> | undefined;
  const address = ips?.[0]?.address;
  if (exit.status !== 0 || !address)
    throw new Error(`ADD on ${call.host.name} failed (${exit.status}): ${exit.stdout} ${exit.stderr}`);
  return { address: address.split("/")[0] ?? "", result: exit.json ?? {} };
}

export interface LabConfigOptions {
  vni: number;
  /** Host index: picks the host's slice of the overlay subnet (10.77.<index+1>.0/24). */
  hostIndex: number;
  /** Per-host temp dir for host-local's leases. */
  dataDir: string;
  [extra: string]: unknown;
}

/** A network config for one host of the lab: the shared overlay, this host's IPAM slice. */
export function labConfig(options: LabConfigOptions): Record<string, unknown> {
  const { vni, hostIndex, dataDir, ...extra } = options;
  const slice = hostIndex + 1;
  return {
    cniVersion: "1.0.0",
    name: `overlay${vni}`,
    type: "vxlan-overlay",
    vni,
    ipam: {
      type: "host-local",
      dataDir,
      ranges: [[{ subnet: OVERLAY_SUBNET, rangeStart: `10.77.${slice}.10`, rangeEnd: `10.77.${slice}.250` }]],
    },
    ...extra,
  };
}

/** A temp directory per test file, removed by the returned function. */
export function tempDir(tag: string): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cnikit-${tag}-`));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function linkNamed(host: Netns | UnderlayHost, name: string) {
  return links(host).find((link) => link.ifname === name);
}

/** The VTEP's flood list (all-zeros MAC) as sorted remote addresses. */
export function floodDsts(entries: Array<{ mac: string; dst?: string }>): string[] {
  return entries
    .filter((entry) => entry.mac === "00:00:00:00:00:00" && entry.dst !== undefined)
    .map((entry) => entry.dst ?? "")
    .sort();
}

export interface L3LabPeer {
  address: string;
  subnet: string;
}

/**
 * An l3 VTEP's entries as `bridge -j fdb` and `ip -j` report them, as sorted lines:
 * FDB "mac dst state", neighbours "address lladdr" (permanent only), routes
 * "subnet via address onlink" of both families (the kernel's own routes left out).
 */
export function l3Entries(
  host: Netns | UnderlayHost,
  vtep: string,
): { fdb: string[]; neighbours: string[]; routes: string[] } {
  const fdbLines = fdb(host, vtep)
    .filter((entry) => entry.dst !== undefined)
    .map((entry) => `${entry.mac} ${entry.dst ?? ""} ${entry.state ?? ""}`);
  const neighbours = ipJson<Array<{ dst: string; lladdr?: string; state: string[] }>>(host, [
    "neigh",
    "show",
    "dev",
    vtep,
  ])
    .filter((entry) => entry.state.includes("PERMANENT"))
    .map((entry) => `${entry.dst} ${entry.lladdr ?? ""}`);
  type RouteJson = Array<{ dst: string; gateway?: string; protocol?: string; flags: string[] }>;
  const routeLines = [
    ...ipJson<RouteJson>(host, ["route", "show", "dev", vtep]),
    ...ipJson<RouteJson>(host, ["-6", "route", "show", "dev", vtep]),
  ]
    .filter((route) => route.protocol !== "kernel")
    .map((route) => `${route.dst} via ${route.gateway ?? "-"}${route.flags.includes("onlink") ? " onlink" : ""}`);
  return { fdb: fdbLines.sort(), neighbours: neighbours.sort(), routes: routeLines.sort() };
}

/** What l3Entries must show for `peers` (the remote ones), given each peer's VTEP MAC. */
export function expectedL3Entries(
  peers: readonly L3LabPeer[],
  macOf: (address: string) => string,
): ReturnType<typeof l3Entries> {
  const network = (subnet: string) => subnet.split("/")[0] ?? "";
  return {
    fdb: peers.map((peer) => `${macOf(peer.address)} ${peer.address} permanent`).sort(),
    neighbours: peers.map((peer) => `${network(peer.subnet)} ${macOf(peer.address)}`).sort(),
    routes: peers.map((peer) => `${peer.subnet} via ${network(peer.subnet)} onlink`).sort(),
  };
}

/** One container attached on a host of the lab. */
export interface Attached {
  host: UnderlayHost;
  hostIndex: number;
  container: Netns;
  containerId: string;
  /** Overlay address, no prefix length. */
  address: string;
  result: Record<string, unknown>;
}

/** ADDs `perHost` containers on every host, one after the other; ids are `<idPrefix>-<host>-<slot>`. */
export async function attachContainers(options: {
  fixture: NetnsFixture;
  hosts: readonly UnderlayHost[];
  perHost: number;
  idPrefix: string;
  configFor: (hostIndex: number) => Record<string, unknown>;
}): Promise<Attached[]> {
  const attached: Attached[] = [];
  for (const [hostIndex, host] of options.hosts.entries()) {
    for (let slot = 0; slot < options.perHost; slot++) {
      const container = options.fixture.containerNetns();
      const containerId = `${options.idPrefix}-${hostIndex}-${slot}`;
      const { address, result } = await addContainer({
        host,
        config: options.configFor(hostIndex),
        container,
        containerId,
      });
      attached.push({ host, hostIndex, container, containerId, address, result });
    }
  }
  return attached;
}

/** Runs `probe` from every container to every other one; returns the pairs that failed ("a -> b"). */
export async function failingPairs(
  attached: readonly Attached[],
  probe: (from: Attached, to: Attached) => Promise<boolean>,
): Promise<string[]> {
  const failures: string[] = [];
  for (const from of attached) {
    for (const to of attached) {
      if (from !== to && !(await probe(from, to))) failures.push(`${from.containerId} -> ${to.containerId}`);
    }
  }
  return failures;
}

/** An l3 network config for one host: its own IPAM subnet, the shared peers file. */
export function l3Config(options: {
  vni: number;
  ipamSubnet: string;
  dataDir: string;
  peersFile: string;
  [extra: string]: unknown;
}): Record<string, unknown> {
  const { vni, ipamSubnet, dataDir, peersFile, ...extra } = options;
  return {
    cniVersion: "1.0.0",
    name: `overlay${vni}`,
    type: "vxlan-overlay",
    vni,
    mode: "l3",
    peersFile,
    ipam: { type: "host-local", dataDir, ranges: [[{ subnet: ipamSubnet }]] },
    ...extra,
  };
}

/** Pings `address` from `container` with DF set: a datagram of exactly `mtu` bytes (twice), and one byte more. */
export function dfPings(
  container: Netns,
  address: string,
  mtu: number,
): { fitting: number | null; oneMore: { status: number | null; output: string } } {
  const icmpPayload = mtu - 20 - 8;
  const ping = (size: number, count: string, wait: string) =>
    nsExec(container, ["ping", "-n", "-c", count, "-W", wait, "-M", "do", "-s", String(size), address]);
  const over = ping(icmpPayload + 1, "1", "1");
  return {
    fitting: ping(icmpPayload, "2", "2").status,
    oneMore: { status: over.status, output: over.stdout + over.stderr },
  };
}

/** The traffic checks of every overlay lab: UDP and TCP from every container to every other one. */
export function itCarriesTrafficBetweenEveryPair(attached: () => Attached[]): void {
  it("carries UDP from every container to every other one", async () => {
    expect(
      await failingPairs(attached(), (from, to) =>
        udpProbe({ from: from.container, to: to.container, address: to.address }),
      ),
    ).toEqual([]);
  });

  it("carries TCP from every container to every other one", async () => {
    expect(
      await failingPairs(attached(), (from, to) =>
        tcpEcho({ from: from.container, to: to.container, address: to.address }),
      ),
    ).toEqual([]);
  });
}
