// The peer list: `peers` from the config plus `peersFile`, which something else (the
// overlay agent, a config-management run) keeps current. The file is re-read on every
// call, so an ADD picks up a peer that joined or left since the last one. The file holds
// a JSON array of the same shape as `peers`: addresses, or {address, subnet} objects.
import { addressOf } from "../../src/ip/cidr";
import { MAX_OVERLAY_PEERS, type OverlayConfig, type OverlayPeer, invalid, mergePeers, parsePeer } from "./config";
import { parseJsonBounded } from "../../src/cni/json-bounds";
import { type FileRefusedError, readRegularFile } from "../../src/cni/safe-file";

/** Far more than any overlay's peers (10,000 peers with subnets are about 600 KB). */
export const PEERS_FILE_MAX_BYTES = 4 << 20;

function readPeersFile(config: OverlayConfig, file: string): OverlayPeer[] {
  let text: string;
  try {
    text = readRegularFile(file, PEERS_FILE_MAX_BYTES).toString("utf8");
  } catch (err) {
    throw invalid(`peersFile: cannot read ${JSON.stringify(file)}: ${(err as FileRefusedError).what}`);
  }
  let parsed: unknown;
  try {
    parsed = parseJsonBounded(text);
  } catch (err) {
    throw invalid(`peersFile: ${JSON.stringify(file)} is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed))
    throw invalid(`peersFile: ${JSON.stringify(file)} must hold a JSON array of peers, like "peers"`);
  // Counted before any entry is parsed: a list over the limit costs no more than its JSON.
  if (parsed.length > MAX_OVERLAY_PEERS)
    throw invalid(
      `peersFile ${file}: ${parsed.length} peers exceed the limit of ${MAX_OVERLAY_PEERS} hosts per overlay (peers and peersFile together)`,
    );
  return parsed.map((peer: unknown, index) => parsePeer(`peersFile ${file}[${index}]`, peer, config.mode));
}

/** Every peer of the config and the file, config first, duplicates removed. */
export function readPeers(config: OverlayConfig): OverlayPeer[] {
  const peers = mergePeers([], config.peers, "peers");
  if (config.peersFile !== undefined)
    mergePeers(peers, readPeersFile(config, config.peersFile), `peersFile ${config.peersFile}`);
  return peers;
}

/** The remote peers: our own address is left out, so one list can serve every host. */
export function remotePeers(peers: readonly OverlayPeer[], localAddress: string): OverlayPeer[] {
  // Peers are canonical (parsePeer): one parse of ours instead of one per peer.
  const local = addressOf(localAddress);
  return peers.filter((peer) => peer.address !== local);
}

export function addressesOf(peers: readonly OverlayPeer[]): string[] {
  return peers.map((peer) => peer.address);
}
