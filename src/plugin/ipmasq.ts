// IP masquerade for container addresses with nftables, shared by bridge and veth.
//
// All rules live in a table of ours (`inet cnikit_masq`) and each carries a comment
// derived from (network, containerID, ifname), so DEL removes exactly the rules ADD
// added, whether or not the container's addresses still exist. ADD installs the
// table, chain and rules in one `nft -f` transaction: all or nothing.
import type * as childProcess from "node:child_process";
import { CniError, ErrorCode } from "../cni/errors";
import { shortDigest } from "../ip/digest";

const TABLE = "cnikit_masq";
const CHAIN = "postrouting";

export interface MasqAttachment {
  network: string;
  containerId: string;
  ifName: string;
}

export interface MasqAddress {
  /** Container address without prefix, e.g. "10.1.0.5" or "fd00::5". */
  address: string;
  /** The subnet traffic stays un-masqueraded within, e.g. "10.1.0.0/24". */
  subnet: string;
}

/** The attachment a CNI call is about, as the masquerade rules are keyed. */
export function masqAttachmentOf(
  netConf: { name: string },
  args: { containerId: string; ifName: string },
): MasqAttachment {
  return { network: netConf.name, containerId: args.containerId, ifName: args.ifName };
}

/** The comment that identifies one attachment's rules; bounded to nft's 128-byte limit. */
export function masqComment(attachment: MasqAttachment): string {
  const digest = shortDigest(JSON.stringify([attachment.network, attachment.containerId, attachment.ifName]), 16);
  return `cnikit ${attachment.network.slice(0, 48)} ${attachment.containerId.slice(0, 12)} ${digest}`;
}

// node:child_process is loaded only by attachments that use ipMasq (about 0.6 ms at start-up).
export function spawnSync(...args: Parameters<typeof childProcess.spawnSync>): childProcess.SpawnSyncReturns<string> {
  return (require("node:child_process") as typeof childProcess).spawnSync(
    ...args,
  ) as childProcess.SpawnSyncReturns<string>;
}

/** Runs one `nft -j -f` transaction (all or nothing); code 105 when it fails. */
export function nft(commands: unknown[]): string {
  const run = spawnSync("nft", ["-j", "-f", "-"], { input: JSON.stringify({ nftables: commands }), encoding: "utf8" });
  if (run.error) throw new CniError(ErrorCode.NftablesFailure, `cannot run nft: ${run.error.message}`);
  if (run.status !== 0)
    throw new CniError(ErrorCode.NftablesFailure, `nftables transaction failed: ${run.stderr.trim()}`);
  return run.stdout;
}

function prefixMatch(family: "ip" | "ip6", field: "saddr" | "daddr", op: "==" | "!=", cidr: string): unknown {
  const [addr, len] = cidr.split("/");
  const right = len === undefined ? addr : { prefix: { addr, len: Number(len) } };
  return { match: { op, left: { payload: { protocol: family, field } }, right } };
}

function masqRule(comment: string, entry: MasqAddress): unknown {
  const family = entry.address.includes(":") ? "ip6" : "ip";
  const multicast = family === "ip" ? "224.0.0.0/4" : "ff00::/8";
  return {
    add: {
      rule: {
        family: "inet",
        table: TABLE,
        chain: CHAIN,
        comment,
        expr: [
          prefixMatch(family, "saddr", "==", entry.address),
          prefixMatch(family, "daddr", "!=", entry.subnet),
          prefixMatch(family, "daddr", "!=", multicast),
          { masquerade: null },
        ],
      },
    },
  };
}

/** Installs masquerade rules for the attachment's addresses, atomically. */
export function setupIpMasq(attachment: MasqAttachment, addresses: MasqAddress[]): void {
  if (addresses.length === 0) return;
  const comment = masqComment(attachment);
  nft([
    { add: { table: { family: "inet", name: TABLE } } },
    {
      add: {
        chain: {
          family: "inet",
          table: TABLE,
          name: CHAIN,
          type: "nat",
          hook: "postrouting",
          prio: 100,
          policy: "accept",
        },
      },
    },
    ...addresses.map((entry) => masqRule(comment, entry)),
  ]);
}

interface ListedRule {
  rule?: { handle?: number; comment?: string };
}

function ruleHandles(comment: string): number[] {
  const run = spawnSync("nft", ["-j", "list", "chain", "inet", TABLE, CHAIN], { encoding: "utf8" });
  if (run.status !== 0) return []; // no table or chain: nothing of ours to remove
  const listed = (JSON.parse(run.stdout) as { nftables: ListedRule[] }).nftables;
  return listed.flatMap((item) =>
    item.rule?.comment === comment && item.rule.handle !== undefined ? [item.rule.handle] : [],
  );
}

/** Removes the attachment's masquerade rules. Idempotent: no rules is success. */
export function teardownIpMasq(attachment: MasqAttachment): void {
  const comment = masqComment(attachment);
  // A parallel DEL of the same attachment may remove a rule between list and delete: list again once.
  for (let attempt = 0; attempt < 2; attempt++) {
    const handles = ruleHandles(comment);
    if (handles.length === 0) return;
    try {
      nft(handles.map((handle) => ({ delete: { rule: { family: "inet", table: TABLE, chain: CHAIN, handle } } })));
      return;
    } catch (err) {
      if (attempt === 1) throw err;
    }
  }
}
