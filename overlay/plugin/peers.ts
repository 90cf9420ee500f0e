// The peer list: `peers` from the config plus `peersFile`, which something else (the
// overlay agent, a config-management run) keeps current. The file is re-read on every
// call, so an ADD picks up a peer that joined or left since the last one. The file holds
// a JSON array of the same shape as `peers`: addresses, or {address, subnet} objects.
import { addressOf } from "../../src/ip/cidr";
import { MAX_OVERLAY_PEERS, type OverlayConfig, type OverlayPeer, invalid, mergePeers, parsePeer } from "./config";
import { parseJsonBounded } from "../../src/cni/json-bounds";
import { type FileRefusedError, readRegularFile } from "../../src/cni/safe-file";
import { normalJit } from "../../src/plugin/jit";

/** Far more than any overlay's peers (10,000 peers with subnets are about 600 KB). */
export const PEERS_FILE_MAX_BYTES = 4 << 20;

/** Past this size (about 500 l3 or 2,000 l2 peers) an ADD loops over tens of thousands of bytes, peers, kernel entries and keys. */
const LARGE_LIST_BYTES = 32 << 10;

function readFileBytes(file: string): Buffer {
  try {
    return readRegularFile(file, PEERS_FILE_MAX_BYTES);
  } catch (err) {
    throw invalid(`peersFile: cannot read ${JSON.stringify(file)}: ${(err as FileRefusedError).what}`);
  }
}

/** The peersFile's bytes as they are now (undefined when the config names none); code 7 when unreadable. */
export function readPeersFileBytes(config: OverlayConfig): Buffer | undefined {
  if (config.peersFile === undefined) return undefined;
  const bytes = readFileBytes(config.peersFile);
  // Before the parse: its depth check alone is a loop over every byte.
  if (bytes.length > LARGE_LIST_BYTES) normalJit();
  return bytes;
}

function parsePeersFile(config: OverlayConfig, file: string, bytes: Buffer): OverlayPeer[] {
  let parsed: unknown;
  try {
    parsed = parseJsonBounded(bytes.toString("utf8"));
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

/**
 * The last list read for a config, with the file bytes it came from. An ADD reads the
 * list twice (before anything is created, to refuse a bad one and size the MTU, and again
 * under the bridge lock, to use the newest); when the bytes are the same the second read
 * costs a compare, not a parse and merge (about 200 ms at 10,000 peers).
 */
const lastRead = new WeakMap<OverlayConfig, { bytes: Buffer; peers: readonly OverlayPeer[] }>();

/**
 * Every peer of the config and the file (`bytes`, as readPeersFileBytes read them), config
 * first, duplicates removed. Do not change the result: it may be shared.
 */
export function readPeers(config: OverlayConfig, bytes = readPeersFileBytes(config)): readonly OverlayPeer[] {
  if (config.peersFile === undefined || bytes === undefined) return mergePeers([], config.peers, "peers");
  const last = lastRead.get(config);
  if (last?.bytes.equals(bytes)) return last.peers;
  const peers = mergePeers([], config.peers, "peers");
  mergePeers(peers, parsePeersFile(config, config.peersFile, bytes), `peersFile ${config.peersFile}`);
  lastRead.set(config, { bytes, peers });
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
