// The peer list: `peers` from the config plus `peersFile`, which something else (a
// controller, a config-management run) keeps current. The file is re-read on every call,
// so an ADD picks up a peer that joined or left since the last one.
import * as fs from "node:fs";
import { sameAddress } from "../../src/ip/cidr";
import { type OverlayConfig, addUnique, invalid, requireAddress } from "./config";

function readPeersFile(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw invalid(`peersFile: cannot read ${JSON.stringify(file)}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalid(`peersFile: ${JSON.stringify(file)} is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw invalid(`peersFile: ${JSON.stringify(file)} must hold a JSON array of peer addresses, like "peers"`);
  return parsed.map((peer: unknown, index) => {
    const field = `peersFile ${file}[${index}]`;
    if (typeof peer !== "string") throw invalid(`${field}: ${JSON.stringify(peer)} is not an IP address`);
    return requireAddress(field, peer);
  });
}

/** Every peer of the config and the file, config first, duplicates removed. */
export function readPeers(config: OverlayConfig): string[] {
  const peers = [...config.peers];
  if (config.peersFile !== undefined) addUnique(peers, readPeersFile(config.peersFile));
  return peers;
}

/** The remote peers: our own address is left out, so one list can serve every host. */
export function remotePeers(peers: readonly string[], localAddress: string): string[] {
  return peers.filter((peer) => !sameAddress(peer, localAddress));
}
