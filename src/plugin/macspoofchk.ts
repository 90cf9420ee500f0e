// macspoofchk (bridge): frames the container sends with a source MAC other than its
// interface's are dropped on the host end of its veth, before the bridge learns or
// forwards them. The layout follows the reference's idea (a bridge-family prerouting
// chain that jumps, per interface, to a chain letting one MAC through), in a table
// of ours: `bridge cnikit_spoofchk`, base chain `prerouting` (filter, priority -300),
// and per attachment a chain `port-<digest>` plus one jump rule carrying the comment.
// ADD installs it in one transaction; DEL removes exactly that attachment's pieces.
import { shortDigest } from "../ip/digest";
import { type MasqAttachment, nft, spawnSync } from "./ipmasq";

const TABLE = "cnikit_spoofchk";
const BASE_CHAIN = "prerouting";

function portChain(attachment: MasqAttachment): string {
  return `port-${shortDigest(JSON.stringify([attachment.network, attachment.containerId, attachment.ifName]), 16)}`;
}

function jumpComment(attachment: MasqAttachment): string {
  return `cnikit macspoofchk ${portChain(attachment)}`;
}

const table = { family: "bridge", name: TABLE };
const rule = (chain: string, expr: unknown[], comment?: string) => ({
  add: { rule: { family: "bridge", table: TABLE, chain, expr, ...(comment && { comment }) } },
});

interface ListedItem {
  chain?: { name: string };
  rule?: { chain: string; handle: number; comment?: string };
}

function listTable(): ListedItem[] {
  const run = spawnSync("nft", ["-j", "list", "table", "bridge", TABLE], { encoding: "utf8" });
  if (run.status !== 0) return []; // no table: nothing of ours there
  return (JSON.parse(run.stdout) as { nftables: ListedItem[] }).nftables;
}

function jumpHandles(items: ListedItem[], comment: string): number[] {
  return items.flatMap((item) =>
    item.rule?.chain === BASE_CHAIN && item.rule.comment === comment ? [item.rule.handle] : [],
  );
}

/** Lets only `mac` in from `hostIfName` (the container's veth, seen from the host). Idempotent for a retried ADD. */
export function setupMacSpoofCheck(attachment: MasqAttachment, hostIfName: string, mac: string): void {
  const chain = portChain(attachment);
  const comment = jumpComment(attachment);
  const hasJump = jumpHandles(listTable(), comment).length > 0;
  const base = { family: "bridge", table: TABLE, name: BASE_CHAIN, type: "filter", hook: "prerouting", prio: -300 };
  nft([
    { add: { table } },
    { add: { chain: { ...base, policy: "accept" } } },
    { add: { chain: { family: "bridge", table: TABLE, name: chain } } },
    { flush: { chain: { family: "bridge", table: TABLE, name: chain } } },
    rule(chain, [
      { match: { op: "==", left: { payload: { protocol: "ether", field: "saddr" } }, right: mac } },
      { return: null },
    ]),
    rule(chain, [{ drop: null }]),
    ...(hasJump
      ? []
      : [
          rule(
            BASE_CHAIN,
            [
              { match: { op: "==", left: { meta: { key: "iifname" } }, right: hostIfName } },
              { jump: { target: chain } },
            ],
            comment,
          ),
        ]),
  ]);
}

/** Removes the attachment's jump rule and chain. Idempotent: nothing there is success. */
export function teardownMacSpoofCheck(attachment: MasqAttachment): void {
  const chain = portChain(attachment);
  const items = listTable();
  const handles = jumpHandles(items, jumpComment(attachment));
  const hasChain = items.some((item) => item.chain?.name === chain);
  if (handles.length === 0 && !hasChain) return;
  const chainRef = { family: "bridge", table: TABLE, name: chain };
  nft([
    ...handles.map((handle) => ({ delete: { rule: { family: "bridge", table: TABLE, chain: BASE_CHAIN, handle } } })),
    ...(hasChain ? [{ flush: { chain: chainRef } }, { delete: { chain: chainRef } }] : []),
  ]);
}
