// The nftables side of the fallback (kernels without netem), one table per lab namespace,
// `ip cnikit_impair`, with a postrouting chain holding, per impaired interface, in order:
//   oifname "ul0" numgen random mod 10000 < N drop                          (loss)
//   oifname "ul0" numgen random mod 10000 < N dup to rt ip nexthop device "ul0"  (duplicate)
//   oifname "ul0" queue num Q bypass                                        (delay, jitter, reorder, corrupt)
// The table is rebuilt whole on every change in its namespace (one `nft -j -f -`
// transaction), then the queue rules are appended through our own nfnetlink code
// (src/netlink/nft-queue-rule.ts) because nft cannot write the xtables NFQUEUE target.
// Family ip: nf_tables' dup and the compat target need it; labs are IPv4.
import { spawnSync } from "node:child_process";
import { appendQueueRule } from "../../../netlink/nft-queue-rule";
import { namedNetnsPath } from "../../../netns/netns";
import { CliError } from "../../errors";
import type { LinkRecord } from "./store";

export const IMPAIR_TABLE = "cnikit_impair";
const CHAIN = "postrouting";
/** After NAT (srcnat is 100): packets are seen as they leave. */
const CHAIN_PRIORITY = 300;
/** Loss and duplication are drawn per packet in steps of 0.01%. */
export const NUMGEN_MOD = 10_000;

export function ruleComment(ifName: string, what: "loss" | "duplicate" | "queue"): string {
  return `cnikit impair ${ifName} ${what}`;
}

/** Runs `nft` inside a lab namespace (nsenter --net: only the network namespace changes). */
export function nftIn(netns: string, args: string[], input?: string): string {
  const run = spawnSync("nsenter", [`--net=${namedNetnsPath(netns)}`, "nft", ...args], {
    input: input ?? "",
    encoding: "utf8",
    timeout: 15_000,
  });
  if (run.error) throw new CliError(`cannot run nft in ${netns}: ${run.error.message}`, { cause: run.error });
  if (run.status !== 0) throw new CliError(`nft in ${netns} failed: ${run.stderr.trim().split("\n")[0] ?? ""}`);
  return run.stdout;
}

function oifMatch(ifName: string): unknown {
  return { match: { op: "==", left: { meta: { key: "oifname" } }, right: ifName } };
}

/** `numgen random mod 10000 < N`, left out at 100%. */
function chance(percent: number): unknown[] {
  const threshold = Math.round(percent * (NUMGEN_MOD / 100));
  return threshold >= NUMGEN_MOD
    ? []
    : [{ match: { op: "<", left: { numgen: { mode: "random", mod: NUMGEN_MOD, offset: 0 } }, right: threshold } }];
}

function rule(ifName: string, what: "loss" | "duplicate", expr: unknown[]): unknown {
  return {
    add: {
      rule: {
        family: "ip",
        table: IMPAIR_TABLE,
        chain: CHAIN,
        comment: ruleComment(ifName, what),
        expr: [oifMatch(ifName), ...expr],
      },
    },
  };
}

/** The nft JSON rules of one link (loss, duplication); the queue rule is added separately. */
export function nftRulesOf(link: LinkRecord): unknown[] {
  const rules: unknown[] = [];
  const { lossPercent, duplicatePercent } = link.impairment;
  if (link.mechanisms.lossPercent === "nft-loss" && lossPercent)
    rules.push(rule(link.ifName, "loss", [...chance(lossPercent), { drop: null }]));
  if (link.mechanisms.duplicatePercent === "nft-duplicate" && duplicatePercent) {
    // To the route's next hop out of the same device: the copy goes where the packet goes.
    rules.push(
      rule(link.ifName, "duplicate", [
        ...chance(duplicatePercent),
        { dup: { addr: { rt: { key: "nexthop", family: "ip" } }, dev: link.ifName } },
      ]),
    );
  }
  return rules;
}

const TABLE = { family: "ip", name: IMPAIR_TABLE };

/** Makes the namespace's table hold exactly the rules of `links` (all in that namespace); no rules: no table. */
export function rebuildImpairTable(netns: string, links: LinkRecord[]): void {
  const rules = links.flatMap(nftRulesOf);
  const queued = links.filter((link) => link.queue !== undefined && Object.values(link.mechanisms).includes("nfqueue"));
  // "add" before "delete" makes the delete safe when the table is not there yet.
  const commands: unknown[] = [{ add: { table: TABLE } }, { delete: { table: TABLE } }];
  if (rules.length > 0 || queued.length > 0) {
    const chain = {
      family: "ip",
      table: IMPAIR_TABLE,
      name: CHAIN,
      type: "filter",
      hook: "postrouting",
      prio: CHAIN_PRIORITY,
      policy: "accept",
    };
    commands.push({ add: { table: TABLE } }, { add: { chain } }, ...rules);
  }
  nftIn(netns, ["-j", "-f", "-"], JSON.stringify({ nftables: commands }));
  for (const link of queued) {
    appendQueueRule({
      netns: namedNetnsPath(netns),
      table: IMPAIR_TABLE,
      chain: CHAIN,
      outInterface: link.ifName,
      queue: link.queue as number,
      bypass: true,
      comment: ruleComment(link.ifName, "queue"),
    });
  }
}

/** Removes the namespace's table (nothing there is fine). */
export function removeImpairTable(netns: string): void {
  nftIn(
    netns,
    ["-j", "-f", "-"],
    JSON.stringify({ nftables: [{ add: { table: TABLE } }, { delete: { table: TABLE } }] }),
  );
}

/** The comments of the rules in the namespace's table, or undefined when it has none. */
export function impairTableComments(netns: string): string[] | undefined {
  const run = spawnSync(
    "nsenter",
    [`--net=${namedNetnsPath(netns)}`, "nft", "-j", "list", "table", "ip", IMPAIR_TABLE],
    { encoding: "utf8", timeout: 15_000 },
  );
  if (run.status !== 0) return undefined;
  const listing = JSON.parse(run.stdout) as { nftables: { rule?: { comment?: string } }[] };
  return listing.nftables.flatMap((entry) => (entry.rule?.comment ? [entry.rule.comment] : []));
}
