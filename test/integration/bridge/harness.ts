// Runs a bridge plugin (ours or the Go reference) the way a runtime does, but inside a
// throwaway "host" namespace (nsenter --net=), so its bridge is never made in the
// machine's own namespace. Also: network configs, and kernel/IPAM/nft views for assertions.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll } from "vitest";
import { type Netns, NetnsFixture, type NetnsRef, addrs, links, nsExec, routes } from "../../../netns-fixtures";
import type { IpLink } from "../../../netns-fixtures/inspect";
import { parseJsonOutput, runChild } from "../../helpers/child-run";
import { distBin } from "../../helpers/exec";

export const REFERENCE_DIR = "/usr/lib/cni";
export const haveReference = ["bridge", "host-local"].every((plugin) =>
  fs.existsSync(path.join(REFERENCE_DIR, plugin)),
);
export const ALL_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;

export type Command = "ADD" | "DEL" | "CHECK" | "STATUS" | "GC" | "VERSION";

export interface BridgeCall {
  /** The namespace the plugin runs in (where the bridge goes). */
  host: Netns;
  command: Command;
  config: unknown;
  /** CNI_NETNS; a container's path (may be a deleted one for DEL). */
  netns?: string;
  containerId?: string;
  ifName?: string;
  cniArgs?: string;
  /** Where `bridge` and its IPAM plugin are (CNI_PATH): ours by default. */
  binDir?: string;
}

export interface Exit {
  status: number | null;
  stdout: string;
  stderr: string;
  json: Record<string, unknown> | undefined;
}

function spawnArgs(call: BridgeCall): { argv: string[]; env: NodeJS.ProcessEnv; input: string } {
  const binDir = call.binDir ?? distBin;
  return {
    argv: [`--net=${call.host.path}`, path.join(binDir, "bridge")],
    env: {
      PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      CNI_COMMAND: call.command,
      CNI_CONTAINERID: call.containerId ?? "ctr1",
      CNI_NETNS: call.netns ?? "",
      CNI_IFNAME: call.ifName ?? "eth0",
      CNI_ARGS: call.cniArgs ?? "",
      CNI_PATH: binDir,
    },
    input: JSON.stringify(call.config),
  };
}

function toExit(status: number | null, stdout: string, stderr: string): Exit {
  return { status, stdout, stderr, json: parseJsonOutput(stdout) };
}

export function runBridge(call: BridgeCall): Exit {
  const { argv, env, input } = spawnArgs(call);
  const run = spawnSync("nsenter", argv, { env, input, encoding: "utf8", timeout: 60_000 });
  if (run.error) throw new Error(`nsenter ${argv.join(" ")}: ${run.error.message}`, { cause: run.error });
  return toExit(run.status, run.stdout, run.stderr);
}

/** The same, without blocking: many of these run at once in the parallel tests. */
export async function runBridgeAsync(call: BridgeCall): Promise<Exit> {
  const { argv, env, input } = spawnArgs(call);
  const { status, stdout, stderr } = await runChild({ file: "nsenter", args: argv, env, input });
  return toExit(status, stdout, stderr);
}

/** ADD that must succeed; returns the result. */
export function addOk(call: Omit<BridgeCall, "command">): AddResult {
  const exit = runBridge({ ...call, command: "ADD" });
  if (exit.status !== 0 || !exit.json)
    throw new Error(`ADD failed (exit ${String(exit.status)}): ${exit.stdout} ${exit.stderr}`);
  return exit.json as unknown as AddResult;
}

/**
 * ADD that must be refused: a non-zero exit with a CNI error of this code whose msg names
 * what was wrong (`names`: text it contains, or a pattern it matches). Returns the exit.
 */
export function addRefused(call: Omit<BridgeCall, "command">, code: number, names: string | RegExp): Exit {
  const exit = runBridge({ ...call, command: "ADD" });
  const msg = typeof exit.json?.msg === "string" ? exit.json.msg : "";
  const named = typeof names === "string" ? msg.includes(names) : names.test(msg);
  if (exit.status === 0 || exit.json?.code !== code || !named)
    throw new Error(
      `ADD: wanted code ${code} naming ${String(names)}, got exit ${String(exit.status)}: ${exit.stdout} ${exit.stderr}`,
    );
  return exit;
}

export interface AddResult {
  cniVersion: string;
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string; mtu?: number }>;
  ips?: Array<{ interface?: number; address: string; gateway?: string; version?: string }>;
  routes?: Array<{ dst: string; gw?: string }>;
  ip4?: { ip: string; gateway?: string; routes?: Array<{ dst: string; gw?: string }> };
  dns?: unknown;
}

export interface NetworkOptions {
  name: string;
  bridge: string;
  /** An IPv4 /24 or so in 10.0.0.0/8. */
  subnet: string;
  dataDir: string;
  cniVersion?: string;
  /** Any other plugin keys (isGateway, mtu, ...). */
  extra?: Record<string, unknown>;
  /** host-local keys beside ranges and dataDir (routes...). */
  ipam?: Record<string, unknown>;
  /** Keys of the one range beside subnet (rangeStart, rangeEnd, gateway). */
  range?: Record<string, unknown>;
}

export function bridgeNetwork(options: NetworkOptions): Record<string, unknown> {
  return {
    cniVersion: options.cniVersion ?? "1.0.0",
    name: options.name,
    type: "bridge",
    bridge: options.bridge,
    ...options.extra,
    ipam: {
      type: "host-local",
      dataDir: options.dataDir,
      ranges: [[{ subnet: options.subnet, ...options.range }]],
      ...options.ipam,
    },
  };
}

/** A config as the runtime sends it for CHECK/DEL: the network plus ADD's result. */
export function withPrevResult(config: Record<string, unknown>, prevResult: unknown): Record<string, unknown> {
  return { ...config, prevResult };
}

export function scratchDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cnikit-br-${tag}-`));
}

export interface Testbed {
  fixture: NetnsFixture;
  /** host-local's dataDir for this test file. */
  dataDir: string;
}

/** A fixture and an IPAM data directory for one test file, both removed after it, even on failure. */
export function useTestbed(tag: string): Testbed {
  const testbed = { fixture: new NetnsFixture(), dataDir: scratchDir(tag) };
  afterAll(() => {
    try {
      testbed.fixture.cleanup();
    } finally {
      fs.rmSync(testbed.dataDir, { recursive: true, force: true });
    }
  });
  return testbed;
}

/** host-local lease files of one network (file names that are addresses). */
export function leases(dataDir: string, network: string): string[] {
  const dir = path.join(dataDir, network);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => /^[0-9.]+$|:/.test(name))
    .sort();
}

export function linkNamed(netns: NetnsRef, name: string): IpLink | undefined {
  return links(netns).find((link) => link.ifname === name);
}

export function vethNames(netns: NetnsRef): string[] {
  return links(netns)
    .filter((link) => link.linkinfo?.info_kind === "veth")
    .map((link) => link.ifname);
}

/** Global IPv4/IPv6 addresses of a link as "a/len" (link-local left out). */
export function addressesOf(netns: NetnsRef, ifName: string): string[] {
  const entry = addrs(netns).find((link) => link.ifname === ifName);
  return (entry?.addr_info ?? [])
    .filter((info) => info.scope !== "link")
    .map((info) => `${info.local}/${info.prefixlen}`);
}

export function defaultRoute(netns: NetnsRef): { gateway?: string; dev?: string } | undefined {
  return routes(netns, 4).find((route) => route.dst === "default");
}

/** A /proc/sys/net value as seen from inside `netns`. */
export function sysctlIn(netns: NetnsRef, key: string): string {
  const run = nsExec(netns, ["cat", `/proc/sys/net/${key}`]);
  if (run.status !== 0) throw new Error(`cannot read ${key}: ${run.stderr}`);
  return run.stdout.trim();
}

export interface MasqRule {
  comment: string;
  /** The source address the rule masquerades. */
  saddr: string | undefined;
}

/** Rules of our masquerade table in `netns` (none when the table does not exist). */
export function masqRules(netns: NetnsRef): MasqRule[] {
  const run = nsExec(netns, ["nft", "-j", "list", "table", "inet", "cnikit_masq"]);
  if (run.status !== 0) return [];
  type Expr = { match?: { op: string; left: { payload?: { field: string } }; right: unknown } };
  const items = (JSON.parse(run.stdout) as { nftables: Array<{ rule?: { comment?: string; expr?: Expr[] } }> })
    .nftables;
  return items.flatMap((item) => {
    if (!item.rule) return [];
    const saddr = item.rule.expr?.find((expr) => expr.match?.left.payload?.field === "saddr" && expr.match.op === "==")
      ?.match?.right;
    return [{ comment: item.rule.comment ?? "", saddr: typeof saddr === "string" ? saddr : undefined }];
  });
}

/** Whether this kernel can make a VLAN-filtering bridge (CONFIG_BRIDGE_VLAN_FILTERING). */
export function kernelHasVlanFiltering(probeNs: Netns): boolean {
  const run = nsExec(probeNs, ["ip", "link", "add", "ckvlanprobe", "type", "bridge", "vlan_filtering", "1"]);
  if (run.status !== 0) return false;
  nsExec(probeNs, ["ip", "link", "del", "ckvlanprobe"]);
  return true;
}

/** The bridge port attributes of a link (`ip -j -d link`'s info_slave_data). */
export function portFlags(netns: NetnsRef, ifName: string): Record<string, unknown> {
  const linkinfo = linkNamed(netns, ifName)?.linkinfo as Record<string, unknown> | undefined;
  return (linkinfo?.info_slave_data ?? {}) as Record<string, unknown>;
}

/** What a failed ADD or a DEL must leave: no veth on the host, no lease, no masquerade rule. */
export function expectNothingLeft(where: { host: NetnsRef; dataDir: string; network: string }): void {
  const left = {
    veths: vethNames(where.host),
    leases: leases(where.dataDir, where.network),
    rules: masqRules(where.host),
  };
  if (left.veths.length + left.leases.length + left.rules.length > 0)
    throw new Error(`left behind: ${JSON.stringify(left)}`);
}
