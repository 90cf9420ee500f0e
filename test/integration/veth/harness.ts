// Runs the veth plugin (ours, or the Go reference ptp for comparison) the way a
// runtime does, inside a throwaway "host" namespace through nsenter, so nothing it
// does lands in the machine's root namespace. Asynchronous, so calls can overlap.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll } from "vitest";
import {
  type IpAddr,
  type IpRoute,
  type Netns,
  NetnsFixture,
  addrs,
  links,
  nsExec,
  routes,
} from "../../../netns-fixtures";
import { distBin, runPluginAsync } from "../../helpers/exec";

export const REFERENCE_DIR = "/usr/lib/cni";
export const hasReference = ["ptp", "host-local"].every((plugin) => fs.existsSync(path.join(REFERENCE_DIR, plugin)));

export interface Implementation {
  /** The executable's name in `dir`. */
  plugin: "veth" | "ptp";
  /** Also CNI_PATH, where host-local is found. */
  dir: string;
}

export const ours: Implementation = { plugin: "veth", dir: distBin };
export const reference: Implementation = { plugin: "ptp", dir: REFERENCE_DIR };

export interface VethCall {
  impl?: Implementation;
  command: "ADD" | "DEL" | "CHECK" | "STATUS" | "GC" | "VERSION";
  host: Netns;
  /** CNI_NETNS; a path that need not exist (DEL after the container is gone). */
  netns?: string;
  containerId?: string;
  ifName?: string;
  config: Record<string, unknown>;
}

export interface VethExit {
  status: number | null;
  stdout: string;
  stderr: string;
  json: Record<string, unknown> | undefined;
}

export async function callVeth(call: VethCall): Promise<VethExit> {
  const impl = call.impl ?? ours;
  const run = await runPluginAsync({
    plugin: impl.plugin,
    binDir: impl.dir,
    command: call.command,
    netns: call.host.path,
    env: {
      CNI_CONTAINERID: call.containerId ?? "ctr0",
      CNI_NETNS: call.netns ?? "",
      CNI_IFNAME: call.ifName ?? "eth0",
    },
    config: { ...call.config, type: impl.plugin },
  });
  const json = typeof run.json === "object" && run.json !== null ? (run.json as Record<string, unknown>) : undefined;
  return { ...run, json };
}

/** Resolves to the result of a call that must succeed; a failure shows the plugin's output. */
export async function succeed(call: VethCall): Promise<Record<string, unknown>> {
  const exit = await callVeth(call);
  if (exit.status !== 0)
    throw new Error(
      `${call.impl?.plugin ?? "veth"} ${call.command} failed (${String(exit.status)}): ${exit.stdout} ${exit.stderr}`,
    );
  return exit.json ?? {};
}

export interface NetworkOptions {
  cniVersion?: string;
  name?: string;
  dataDir: string;
  /** Third octet of 10.66.x.0/24 and the group of fd66:x::/64; each test its own. */
  subnet: number;
  ipv6?: boolean;
  extra?: Record<string, unknown>;
  ipamExtra?: Record<string, unknown>;
}

/** A ptp-style config: host-local on 10.66.<n>.0/24 (and fd66:<n>::/64), default routes. */
export function network(options: NetworkOptions): Record<string, unknown> {
  const ranges: unknown[] = [[{ subnet: `10.66.${options.subnet}.0/24` }]];
  const routeList: unknown[] = [{ dst: "0.0.0.0/0" }];
  if (options.ipv6) {
    ranges.push([{ subnet: `fd66:${options.subnet}::/64` }]);
    routeList.push({ dst: "::/0" });
  }
  return {
    cniVersion: options.cniVersion ?? "1.0.0",
    name: options.name ?? `vnet${options.subnet}`,
    type: "veth",
    ipam: { type: "host-local", dataDir: options.dataDir, ranges, routes: routeList, ...options.ipamExtra },
    ...options.extra,
  };
}

/** The addresses of an ADD result, without prefix lengths. */
export function resultAddresses(result: Record<string, unknown>): string[] {
  const ips = (result.ips ?? []) as Array<{ address: string }>;
  return ips.map((ip) => ip.address.split("/")[0] ?? "");
}

/** Lease files (names that are addresses) under dataDir/<network>. */
export function leases(dataDir: string, networkName: string): string[] {
  const dir = path.join(dataDir, networkName);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((name) => /^[0-9.]+$|:/.test(name));
}

/**
 * A namespace's routes and addresses as `ip -j` shows them, with what differs between
 * two equal setups taken out: interface names of host veths (random in ptp, derived
 * in ours) become "<veth>", link-local addresses and address lifetimes and flags go.
 */
export function routingView(netns: Netns): { routes: string[]; addresses: string[] } {
  const name = (dev: string | undefined): string => (dev?.startsWith("veth") ? "<veth>" : (dev ?? ""));
  const routeLines = routes(netns).map((route: IpRoute) =>
    [
      route.dst,
      route.gateway && `via ${route.gateway}`,
      `dev ${name(route.dev)}`,
      route.protocol && `proto ${route.protocol}`,
      route.scope && `scope ${route.scope}`,
      route.prefsrc && `src ${route.prefsrc}`,
      route.metric !== undefined && `metric ${String(route.metric)}`,
    ]
      .filter(Boolean)
      .join(" "),
  );
  const addressLines = addrs(netns).flatMap((link: IpAddr) =>
    link.addr_info
      .filter((info) => info.scope !== "link")
      .map((info) => `${name(link.ifname)} ${info.local}/${info.prefixlen} scope ${info.scope}`),
  );
  return { routes: routeLines.sort(), addresses: addressLines.sort() };
}

/** A test file's namespaces and scratch directory, both removed after its last test (also on failure). */
export function testBed(tag: string): { fixture: NetnsFixture; workDir: string } {
  const fixture = new NetnsFixture();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `cnikit-veth-${tag}-`));
  afterAll(() => {
    try {
      fixture.cleanup();
    } finally {
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  });
  return { fixture, workDir };
}

/** Names of the veths in a host namespace. */
export function hostVeths(host: Netns): string[] {
  return links(host)
    .filter((link) => link.linkinfo?.info_kind === "veth")
    .map((link) => link.ifname);
}

/** Comments of the nftables rules in a namespace that mention `text` (ours carry the network name). */
export function nftRuleComments(netns: Netns, text: string): string[] {
  const listed = nsExec(netns, ["nft", "-j", "list", "ruleset"]);
  const items = (JSON.parse(listed.stdout || '{"nftables":[]}') as { nftables: Array<{ rule?: { comment?: string } }> })
    .nftables;
  return items.flatMap((item) => (item.rule?.comment?.includes(text) ? [item.rule.comment] : []));
}

/**
 * An ADD result with what legitimately differs between two equal runs masked: host
 * veth names, MACs, namespace paths. Go prints an empty `dns` object, we leave it out.
 */
export function maskedResult(result: Record<string, unknown>): unknown {
  const { dns, ...rest } = result;
  const comparable = dns !== undefined && Object.keys(dns as object).length > 0 ? result : rest;
  return JSON.parse(
    JSON.stringify(comparable)
      .replace(/"veth[0-9a-f]+"/g, '"<veth>"')
      .replace(/"[0-9a-f]{2}(:[0-9a-f]{2}){5}"/g, '"<mac>"')
      .replace(/"\/run\/netns\/[^"]+"/g, '"<netns>"'),
  );
}
