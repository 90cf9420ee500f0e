// Which nftables rule dropped our packet: in every namespace of the path that has a
// ruleset, a table of ours (inet + bridge, chains hooked before anyone else's) sets
// `meta nftrace` on our packet (the inner one, and its VXLAN carrier by outer addresses
// and length), `nft -a monitor trace` reports every rule it then meets, and a drop
// verdict names the table, chain and handle. Our tables are removed afterwards.
import { spawnSync } from "node:child_process";
import { type TraceChild, startChild } from "./child";
import type { NftDrop } from "./types";
import { processAlive } from "../../process-alive";

export interface NftMatch {
  family: 4 | 6;
  src: string;
  dst: string;
  /** The IP packet's length (IPv6: the whole packet too; converted to payload length here). */
  length: number;
}

export interface NftNamespace {
  netns: string;
  netnsPath: string;
}

const MONITOR_SETTLE_MS = 250;
const NFT_TIMEOUT_MS = 10_000;

function nft(netnsPath: string, args: string[], input?: string): { ok: boolean; stdout: string; stderr: string } {
  const run = spawnSync("nsenter", [`--net=${netnsPath}`, "nft", ...args], {
    input: input ?? "",
    encoding: "utf8",
    timeout: NFT_TIMEOUT_MS,
  });
  return { ok: run.status === 0, stdout: run.stdout ?? "", stderr: (run.stderr ?? run.error?.message ?? "").trim() };
}

const TABLE_PREFIX = "cnikit_trace_";

/**
 * Whether a namespace has any nftables table besides trace tables: only then can a rule
 * there drop anything. Tables a killed trace left behind (its pid gone) are removed on the way.
 */
export function hasRuleset(netnsPath: string): boolean {
  const listed = nft(netnsPath, ["list", "tables"]);
  if (!listed.ok) return false;
  const tables = listed.stdout.split("\n").flatMap((line) => {
    const [, family, name] = /^table (\S+) (\S+)/.exec(line.trim()) ?? [];
    return family && name ? [{ family, name }] : [];
  });
  for (const { family, name } of tables) {
    const pid = Number(name.slice(TABLE_PREFIX.length));
    if (name.startsWith(TABLE_PREFIX) && Number.isInteger(pid) && pid > 0 && !processAlive(pid))
      nft(netnsPath, ["delete", "table", family, name]);
  }
  return tables.some(({ name }) => !name.startsWith(TABLE_PREFIX));
}

function matchExpr(match: NftMatch): string {
  return match.family === 6
    ? `ip6 saddr ${match.src} ip6 daddr ${match.dst} ip6 length ${match.length - 40}`
    : `ip saddr ${match.src} ip daddr ${match.dst} ip length ${match.length}`;
}

/** Our table's ruleset (nft syntax): prerouting and output in inet, prerouting and output in bridge. */
export function markerRuleset(table: string, matches: NftMatch[]): string {
  const rules = matches.map((match) => `    ${matchExpr(match)} meta nftrace set 1`).join("\n");
  const chain = (name: string, hook: string): string =>
    `  chain ${name} {\n    type filter hook ${hook} priority -500; policy accept;\n${rules}\n  }`;
  return [
    `table inet ${table} {`,
    chain("pre", "prerouting"),
    chain("out", "output"),
    "}",
    `table bridge ${table} {`,
    chain("pre", "prerouting"),
    chain("out", "output"),
    "}",
  ].join("\n");
}

const TRACE_RULE = /^trace id (\S+) (\S+) (\S+) (\S+) rule (.*?)(?: # handle (\d+))? \(verdict (\w+)/;
const TRACE_POLICY = /^trace id (\S+) (\S+) (\S+) (\S+) policy (drop)/;

/** Drop verdicts in `nft -a monitor trace` output (trace tables' own lines left out). */
export function parseTraceDrops(netns: string, text: string): NftDrop[] {
  const drops: NftDrop[] = [];
  for (const line of text.split("\n")) {
    const rule = TRACE_RULE.exec(line);
    if (rule && !rule[3]?.startsWith(TABLE_PREFIX) && (rule[7] === "drop" || rule[7] === "reject")) {
      drops.push({
        netns,
        family: rule[2] ?? "",
        table: rule[3] ?? "",
        chain: rule[4] ?? "",
        ...(rule[6] !== undefined && { handle: Number(rule[6]) }),
        rule: rule[5] ?? "",
        verdict: rule[7] ?? "",
      });
      continue;
    }
    const policy = TRACE_POLICY.exec(line);
    if (policy && !policy[3]?.startsWith(TABLE_PREFIX))
      drops.push({
        netns,
        family: policy[2] ?? "",
        table: policy[3] ?? "",
        chain: policy[4] ?? "",
        rule: "policy drop",
        verdict: "drop",
      });
  }
  return drops;
}

export interface NftTracer {
  /** Namespaces traced, and those where our table could not go in (with nft's words). */
  traced: string[];
  notes: string[];
  finish(): Promise<NftDrop[]>;
}

/** Installs the marker tables and monitors; every table is removed by finish(), also when a step fails. */
export async function startNftTrace(
  namespaces: NftNamespace[],
  matches: NftMatch[],
  limitMs: number,
): Promise<NftTracer> {
  const table = `${TABLE_PREFIX}${process.pid}`;
  const active: { target: NftNamespace; monitor: TraceChild }[] = [];
  const notes: string[] = [];
  const removeTables = (target: NftNamespace): void => {
    for (const family of ["inet", "bridge"]) nft(target.netnsPath, ["delete", "table", family, table]);
  };
  for (const target of namespaces) {
    if (!hasRuleset(target.netnsPath)) continue;
    const added = nft(target.netnsPath, ["-f", "-"], markerRuleset(table, matches));
    if (!added.ok) {
      removeTables(target);
      notes.push(`${target.netns}: cannot trace nftables (${added.stderr.split("\n")[0] ?? ""})`);
      continue;
    }
    // setpriv --pdeathsig: a monitor never outlives us (nsenter and setpriv exec in place).
    const monitor = startChild(
      `nft monitor ${target.netns}`,
      ["nsenter", `--net=${target.netnsPath}`, "setpriv", "--pdeathsig", "TERM", "--", "nft", "-a", "monitor", "trace"],
      limitMs,
    );
    active.push({ target, monitor });
  }
  // nft prints nothing once it listens: give it a moment to join the trace group.
  if (active.length > 0) await new Promise((resolve) => setTimeout(resolve, MONITOR_SETTLE_MS));
  return {
    traced: active.map(({ target }) => target.netns),
    notes,
    async finish() {
      const drops: NftDrop[] = [];
      for (const { target, monitor } of active) {
        await monitor.stop("SIGTERM", 1000);
        removeTables(target);
        drops.push(...parseTraceDrops(target.netns, monitor.stdoutText()));
      }
      return drops;
    },
  };
}
