// The VTEP's stamp (its alias, IFLA_IFALIAS): which fingerprint (fingerprint.ts) the
// entries of a peer list have, keyed by a digest of that list, so that an ADD or an agent
// pass with the same list hashes the kernel's dumps and compares instead of deriving and
// diffing every entry. The stamp is a pure function of the list, so it cannot go stale;
// the kernel is always read. Behind it a caller may keep an `extra` of its own (the
// plugin's key of the inputs the list came from, overlay/plugin/stamp.ts): it stays only
// while the stamp is for the list it was written with.
//   cnikit-peers2 <list digest> <fingerprint>[ <extra>]
import { contentDigest } from "../../src/ip/content-digest";
import type { Handle } from "../../src/netlink/handle";
import type { Link } from "../../src/netlink/link-decode";
import { setLink } from "../../src/netlink/links";

const STAMP_PREFIX = "cnikit-peers2 ";
/** IFALIASZ less its NUL. */
const ALIAS_MAX = 255;

export interface Stamp {
  digest: string;
  fingerprint: string;
  extra: string | undefined;
}

/** l3: the digest of the peers the entries are made from (their VTEP MACs come from the VNI). */
export function peerListDigest(vni: number, peers: readonly { underlayAddress: string; subnet: string }[]): string {
  return contentDigest(`l3 ${vni}\n${peers.map((peer) => `${peer.underlayAddress} ${peer.subnet}`).join("\n")}`);
}

/** l2: the digest of the flood list. */
export function floodListDigest(peers: readonly string[]): string {
  return contentDigest(`l2\n${peers.join("\n")}`);
}

export function parseStamp(alias: string | undefined): Stamp | undefined {
  if (alias === undefined || !alias.startsWith(STAMP_PREFIX)) return undefined;
  const [digest, fingerprint, extra] = alias.slice(STAMP_PREFIX.length).split(" ", 3);
  if (!digest || !fingerprint) return undefined;
  return { digest, fingerprint, extra: extra || undefined };
}

/** The stamp's text; an extra that would not fit the alias is left out (the stamp then serves the list only). */
export function stampText(stamp: Stamp): string {
  const text = `${STAMP_PREFIX}${stamp.digest} ${stamp.fingerprint}`;
  const extra = stamp.extra === undefined ? "" : ` ${stamp.extra}`;
  return text.length + extra.length <= ALIAS_MAX ? text + extra : text;
}

/** The fingerprint a stamp records for `digest`, or undefined (no stamp, another list). */
export function stampedFingerprint(alias: string | undefined, digest: string): string | undefined {
  const stamp = parseStamp(alias);
  return stamp?.digest === digest ? stamp.fingerprint : undefined;
}

/**
 * The alias after a reconcile to the list `digest`, whose entries hash to `fingerprint`.
 * Without an `extra` of the caller's (the agent), one already there stays when it was
 * written for this very list: it still says which inputs give it.
 */
export function nextStamp(alias: string | undefined, digest: string, fingerprint: string, extra?: string): string {
  const kept = extra ?? (stampedFingerprint(alias, digest) === fingerprint ? parseStamp(alias)?.extra : undefined);
  return stampText({ digest, fingerprint, extra: kept });
}

/** Sets the VTEP's alias to nextStamp(...) when it is not that already. */
export function writeStamp(
  host: Handle,
  vtep: Link,
  stamp: Omit<Stamp, "extra"> & { extra?: string | undefined },
): void {
  const text = nextStamp(vtep.alias, stamp.digest, stamp.fingerprint, stamp.extra);
  if (vtep.alias !== text) setLink(host, vtep.index, { alias: text });
}
