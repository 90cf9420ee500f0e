// The plugin's part of the VTEP's stamp (overlay/kernel/stamp.ts `extra`): a key of every
// input the peer list's use in an ADD depends on, so that an ADD with the same inputs can
// skip reading, parsing, merging and checking the list (about 100 ms of JSON, per-peer
// parses and the merge at 10,000 peers) and only hash the kernel's entries.
// What is keyed: the build (a new build may check differently: each one keys anew), the
// limit, mode, VNI, the config's own peers, localAddress, subnet and ipv6Subnet, the
// peersFile's bytes, and what the list gave with them, which the stamp carries for the next
// ADD: the first peer (the underlay is found by the route to it), the local address found
// that way, and this host's subnets (l3). The same inputs give the same list and the same
// verdict on it: nothing a stamp lets through would have been refused. Everything else is
// done on every ADD as before: the underlay and the local address are found in the kernel,
// IPAM's range is checked against the subnets, and the kernel's entries are hashed and
// compared with the stamp's fingerprint (any difference: the whole list is read and the
// kernel reconciled).
import { contentDigest } from "../../src/ip/content-digest";
import { MAX_OVERLAY_PEERS, type OverlayConfig } from "./config";

declare const CNIKIT_BUILD_ID: string;
const BUILD: string = typeof CNIKIT_BUILD_ID === "string" ? CNIKIT_BUILD_ID : "dev";

/** What a plan took from the peer list besides the entries. */
export interface ListOutcome {
  /** The first peer other than config.localAddress (firstPeerOf), if any. */
  firstPeer: string | undefined;
  /** This host's underlay address, as found with firstPeer. */
  localAddress: string;
  /** l3: this host's subnets; l2: none. */
  subnets: readonly string[];
}

export interface InputsClaim extends ListOutcome {
  key: string;
}

/** The key of the inputs and what they gave. */
export function inputsKey(config: OverlayConfig, fileBytes: Buffer | undefined, outcome: ListOutcome): string {
  return contentDigest(
    [
      "inputs1",
      BUILD,
      MAX_OVERLAY_PEERS,
      config.mode,
      config.vni,
      JSON.stringify(config.peers),
      config.localAddress ?? "-",
      config.subnet ?? "-",
      config.ipv6Subnet ?? "-",
      fileBytes === undefined ? "-" : contentDigest(fileBytes),
      outcome.firstPeer ?? "-",
      outcome.localAddress,
      outcome.subnets.join(","),
    ].join("\n"),
  );
}

/** The stamp's extra: no spaces (the stamp's separator); at most about 120 characters (IPv6 everywhere). */
export function encodeClaim(config: OverlayConfig, fileBytes: Buffer | undefined, outcome: ListOutcome): string {
  const key = inputsKey(config, fileBytes, outcome);
  return [key, outcome.firstPeer ?? "", outcome.localAddress, outcome.subnets.join(",")].join(";");
}

/** A stamp's extra as a claim, or undefined (none, or another writer's). */
export function decodeClaim(extra: string | undefined): InputsClaim | undefined {
  const [key, firstPeer, localAddress, subnets, rest] = (extra ?? "").split(";");
  if (!key || !localAddress || subnets === undefined || rest !== undefined) return undefined;
  return { key, firstPeer: firstPeer || undefined, localAddress, subnets: subnets ? subnets.split(",") : [] };
}

/** Whether the claim holds for these inputs and the local address the kernel gives now. */
export function claimHolds(
  claim: InputsClaim,
  config: OverlayConfig,
  fileBytes: Buffer | undefined,
  localAddress: string,
): boolean {
  return localAddress === claim.localAddress && inputsKey(config, fileBytes, claim) === claim.key;
}
