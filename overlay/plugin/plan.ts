// What an ADD or CHECK makes of the config, the peer list and the host's current state:
// the VTEP wanted and the entries it should hold. Made from the list (read, parsed, merged
// and checked), or, in an ADD whose inputs are those of the VTEP's stamp (inputs-key.ts),
// from the stamp: then the list is not read beyond its bytes, and the kernel's entries are
// held against the stamp's fingerprint instead (vtepHoldsStampedEntries).
import type { Handle } from "../../src/netlink/handle";
import { getLink, findLink } from "../../src/netlink/links";
import { kernelFingerprint, kernelFloodFingerprint } from "../kernel/fingerprint";
import { parseStamp } from "../kernel/stamp";
import type { VtepSpec } from "../kernel/vtep";
import type { OverlayConfig } from "./config";
import { type ListOutcome, claimHolds, decodeClaim, encodeClaim } from "./inputs-key";
import { type L3Plan, l3Vtep, planL3 } from "./l3";
import { addressesOf, readPeers, readPeersFileBytes, remotePeers } from "./peers";
import { type Underlay, firstPeerOf, overlayMtu, resolveUnderlay } from "./underlay";

/** The entries from the list: what the reconcile makes them, and the claim it stamps beside them. */
export interface ListedEntries {
  source: "list";
  /** l2: the remote peers' addresses (flood list). */
  floodPeers: string[];
  /** l3: our subnet and the remote peers with theirs. */
  l3: L3Plan | undefined;
  stampExtra: string;
}

/** The entries from the stamp: the VTEP holds the right ones exactly when they hash to `fingerprint`. */
export interface StampedEntries {
  source: "stamp";
  fingerprint: string;
}

export interface OverlayPlan {
  vtep: VtepSpec;
  /** l2: this host's bridge address ("10.20.0.1/16"), when the config gives it one. */
  hostAddress: string | undefined;
  entries: ListedEntries | StampedEntries;
}

type L3Vtep = Omit<L3Plan, "peers">;

function vtepSpec(config: OverlayConfig, underlay: Underlay, l3: L3Vtep | undefined): VtepSpec {
  return {
    name: config.vtepName,
    vni: config.vni,
    port: config.port,
    localAddress: underlay.localAddress,
    underlay: underlay.link,
    mtu: config.mtu ?? overlayMtu(underlay),
    bridgeName: config.bridgeName,
    bridged: !l3,
    // l3 knows every MAC in advance; learning would only let spoofed sources in.
    learning: !l3,
    ...(l3 && { mac: l3.vtepMac, addresses: l3.vtepAddresses }),
  };
}

/** `useStamp`: ADD's plans; CHECK compares every entry and reads the list. */
export function planOverlay(config: OverlayConfig, host: Handle, options: { useStamp: boolean }): OverlayPlan {
  const fileBytes = readPeersFileBytes(config);
  return (options.useStamp && planFromStamp(config, host, fileBytes)) || planFromList(config, host, fileBytes);
}

function planFromList(config: OverlayConfig, host: Handle, fileBytes: Buffer | undefined): OverlayPlan {
  const peers = readPeers(config, fileBytes);
  const addresses = addressesOf(peers);
  const underlay = resolveUnderlay({ host, config, peers: addresses });
  const l3 = config.mode === "l3" ? planL3(config, peers, underlay.localAddress) : undefined;
  const outcome: ListOutcome = {
    firstPeer: firstPeerOf(config, addresses),
    localAddress: underlay.localAddress,
    subnets: l3?.subnets ?? [],
  };
  return {
    vtep: vtepSpec(config, underlay, l3),
    hostAddress: config.hostAddresses.get(underlay.localAddress),
    entries: {
      source: "list",
      floodPeers: l3 ? [] : addressesOf(remotePeers(peers, underlay.localAddress)),
      l3,
      stampExtra: encodeClaim(config, fileBytes, outcome),
    },
  };
}

/** The plan the VTEP's stamp gives for these inputs, or undefined (no stamp, other inputs, anything amiss). */
function planFromStamp(config: OverlayConfig, host: Handle, fileBytes: Buffer | undefined): OverlayPlan | undefined {
  const stamp = parseStamp(findLink(host, config.vtepName)?.alias);
  const claim = decodeClaim(stamp?.extra);
  if (stamp === undefined || claim === undefined) return undefined;
  let underlay: Underlay;
  try {
    underlay = resolveUnderlay({ host, config, peers: claim.firstPeer === undefined ? [] : [claim.firstPeer] });
  } catch {
    return undefined; // the list's own plan says what is wrong
  }
  if (!claimHolds(claim, config, fileBytes, underlay.localAddress)) return undefined;
  const l3 = config.mode === "l3" ? l3Vtep(config, claim.subnets, underlay.localAddress) : undefined;
  return {
    vtep: vtepSpec(config, underlay, l3),
    hostAddress: config.hostAddresses.get(underlay.localAddress),
    entries: { source: "stamp", fingerprint: stamp.fingerprint },
  };
}

/** Whether the VTEP's entries hash to the stamp's fingerprint (l3: FDB, neighbours, routes; l2: the flood list). */
export function vtepHoldsStampedEntries(host: Handle, config: OverlayConfig, entries: StampedEntries): boolean {
  const link = getLink(host, config.vtepName).index;
  const fingerprint = config.mode === "l3" ? kernelFingerprint(host, link) : kernelFloodFingerprint(host, link);
  return fingerprint === entries.fingerprint;
}
