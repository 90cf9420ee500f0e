// A routed (flannel-style, "l3") VXLAN overlay: every host owns a subnet, and for every
// peer host the VTEP needs exactly three kernel entries:
//   FDB        peer VTEP MAC -> dst peer underlay address        (bridge fdb ... dev vx self permanent)
//   neighbour  peer VTEP overlay address -> peer VTEP MAC        (ip neigh ... dev vx nud permanent)
//   route      peer subnet via peer VTEP overlay address onlink  (ip route ... dev vx onlink)
// This file is the pure half: what those entries should be for a peer list, and how the
// kernel's current entries differ from them. reconcile.ts reads and writes them.
// No I/O here, so the plugin, the overlay agent and unit tests share one definition.
import { ipFamily } from "../../src/ip/address";
import { digestMac } from "../../src/ip/digest";
import { addressOf, familyOfAddress, networkOf, prefixLengthOf } from "../../src/ip/cidr";

export interface L3Peer {
  /** The peer host's underlay address: where its VXLAN packets go. */
  underlayAddress: string;
  /** The subnet the peer's containers live in, CIDR. */
  subnet: string;
}

/** The three entries one peer needs, with its derived VTEP MAC and overlay address. */
export interface PeerEntries {
  underlayAddress: string;
  /** Network form: "10.78.2.0/24". */
  subnet: string;
  vtepMac: string;
  vtepAddress: string;
}

export interface FdbEntry {
  mac: string;
  dst: string;
}

export interface NeighbourEntry {
  address: string;
  mac: string;
}

export interface RouteEntry {
  /** Network form CIDR. */
  dst: string;
  via: string;
}

/** What the kernel holds on the VTEP that this overlay manages (see readPeerEntries). */
export interface KernelPeerEntries {
  fdb: FdbEntry[];
  neighbours: NeighbourEntry[];
  routes: Array<RouteEntry & { onlink: boolean }>;
}

export interface EntryChanges {
  fdb: FdbEntry[];
  neighbours: NeighbourEntry[];
  routes: RouteEntry[];
}

/** `put` creates or corrects an entry (a wrong MAC, a missing onlink); `remove` deletes one. */
export interface PeerEntriesDiff {
  put: EntryChanges;
  remove: EntryChanges;
}

/**
 * The VTEP MAC of the host at `underlayAddress` on VNI `vni`: the first six bytes of a
 * SHA-256 of both, made locally administered (bit 1) and unicast (bit 0 clear). Every
 * host computes every other host's MAC with no exchange, and a VTEP re-created after a
 * reboot gets its old MAC back, so the peers' FDB and neighbour entries stay right.
 */
export function vtepMac(vni: number, underlayAddress: string): string {
  return digestMac(`cnikit-vxlan/${vni}/${addressKey(underlayAddress)}`);
}

/**
 * A host's VTEP overlay address: the network address of its subnet (as flannel does),
 * held on the VTEP as a host prefix (/32 or /128). The bridge keeps the subnet's first
 * address as the containers' gateway, so the two never collide.
 */
export function vtepAddress(subnet: string): string {
  return addressOf(networkOf(subnet));
}

/** The VTEP's own address with its host prefix: "10.78.1.0/32". */
export function vtepCidr(subnet: string): string {
  return `${vtepAddress(subnet)}/${familyOfAddress(subnet) === 4 ? 32 : 128}`;
}

/**
 * The metric of the route to a peer's subnet: 1000 plus 16 bits of a hash of the subnet.
 * The kernel files an IPv4 route's nexthop under a hash of its device and metric, not
 * its gateway, so 10,000 routes "via <peer> dev vx onlink" of one metric share one chain
 * and adding them is quadratic (2.4 s against 0.08 s spread). Only routes to the same
 * subnet compete on metric, and each peer subnet has one route, so the value is free.
 */
export function routeMetric(subnet: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < subnet.length; index++) hash = Math.imul(hash ^ subnet.charCodeAt(index), 0x01000193);
  return 1000 + ((hash >>> 0) & 0xffff);
}

/** Whether two subnets share any address (one contains the other's network address). */
export function subnetsOverlap(left: string, right: string): boolean {
  if (familyOfAddress(left) !== familyOfAddress(right)) return false;
  const [wide, narrow] = prefixLengthOf(left) <= prefixLengthOf(right) ? [left, right] : [right, left];
  return networkOf(`${addressOf(narrow)}/${prefixLengthOf(wide)}`) === networkOf(wide);
}

/** A canonical dotted quad's value (ipFamily said it is one): no split, no array. */
function ipv4Value(address: string): number {
  let value = 0;
  let octet = 0;
  for (let index = 0; index < address.length; index++) {
    const code = address.charCodeAt(index);
    if (code === 0x2e) {
      value = value * 256 + octet;
      octet = 0;
    } else octet = octet * 10 + code - 0x30;
  }
  return value * 256 + octet;
}

/** networkOf without a parse for IPv4, and a subnet already in network form returned as given: it runs for every peer on every ADD. */
export function subnetNetwork(cidr: string): string {
  const slash = cidr.indexOf("/");
  const address = slash < 0 ? cidr : cidr.slice(0, slash);
  if (ipFamily(address) !== 4) return networkOf(cidr);
  const prefix = slash < 0 ? "" : cidr.slice(slash + 1);
  const prefixLength = Number(prefix);
  const value = ipv4Value(address);
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  const network = (value & mask) >>> 0;
  if (network === value && String(prefixLength) === prefix) return cidr;
  return `${network >>> 24}.${(network >>> 16) & 0xff}.${(network >>> 8) & 0xff}.${network & 0xff}/${prefixLength}`;
}

export function desiredPeerEntries(vni: number, peers: readonly L3Peer[]): PeerEntries[] {
  return peers.map((peer) => {
    const subnet = subnetNetwork(peer.subnet);
    return {
      underlayAddress: addressKey(peer.underlayAddress),
      subnet,
      vtepMac: vtepMac(vni, peer.underlayAddress),
      vtepAddress: subnet.split("/")[0] ?? "",
    };
  });
}

/**
 * A comparable key for an address: IPv4 dotted quads from the kernel and from our config
 * are already canonical (only canonical ones pass config.ts), IPv6 has many spellings.
 * Parsing every address of a 1,000-peer list on every ADD costs milliseconds, so only IPv6 is parsed.
 */
export function addressKey(address: string): string {
  // Not even ipFamily's test: it runs for 30,000 entries per ADD, and only IPv6 has a colon.
  return address.includes(":") ? addressOf(address) : address;
}

const subnetKey = (cidr: string): string => {
  if (!cidr.includes(":")) return cidr; // canonical IPv4, as addressKey
  const [address = "", prefix = ""] = cidr.split("/");
  return `${addressKey(address)}/${prefix}`;
};

const fdbKey = (mac: string, dst: string): string => `${mac.toLowerCase()} ${addressKey(dst)}`;

/** Each desired entry's keys, made once: the diff looks every one up twice (10,000 peers per ADD). */
interface DesiredKeys {
  fdb: string;
  neighbour: string;
  route: string;
  mac: string;
}

/** Pure: what must be put and removed so that `actual` holds exactly the entries of `desired`. */
export function diffPeerEntries(desired: readonly PeerEntries[], actual: KernelPeerEntries): PeerEntriesDiff {
  const diff: PeerEntriesDiff = {
    put: { fdb: [], neighbours: [], routes: [] },
    remove: { fdb: [], neighbours: [], routes: [] },
  };
  const keys: DesiredKeys[] = desired.map((peer) => ({
    fdb: fdbKey(peer.vtepMac, peer.underlayAddress),
    neighbour: addressKey(peer.vtepAddress),
    route: subnetKey(peer.subnet),
    mac: peer.vtepMac.toLowerCase(),
  }));
  const wantedFdb = new Set<string>();
  const wantedNeighbours = new Map<string, string>();
  const wantedRoutes = new Map<string, string>();
  for (const key of keys) {
    wantedFdb.add(key.fdb);
    wantedNeighbours.set(key.neighbour, key.mac);
    wantedRoutes.set(key.route, key.neighbour);
  }
  const presentFdb = new Set<string>();
  const presentNeighbours = new Set<string>();
  const presentRoutes = new Set<string>();
  for (const entry of actual.fdb) {
    const key = fdbKey(entry.mac, entry.dst);
    if (wantedFdb.has(key)) presentFdb.add(key);
    else diff.remove.fdb.push(entry);
  }
  for (const entry of actual.neighbours) {
    const key = addressKey(entry.address);
    const wantedMac = wantedNeighbours.get(key);
    if (wantedMac === undefined) diff.remove.neighbours.push(entry);
    else if (wantedMac === entry.mac.toLowerCase()) presentNeighbours.add(key);
  }
  for (const entry of actual.routes) {
    const key = subnetKey(entry.dst);
    // A wrong one (via elsewhere, no onlink) goes too: it may have another metric than the one put below.
    if (entry.onlink && wantedRoutes.get(key) === addressKey(entry.via)) presentRoutes.add(key);
    else diff.remove.routes.push(entry);
  }
  desired.forEach((peer, index) => {
    const key = keys[index] as DesiredKeys;
    // A dual-stack peer is two desired entries with one FDB entry: added once.
    if (!presentFdb.has(key.fdb)) {
      presentFdb.add(key.fdb);
      diff.put.fdb.push({ mac: peer.vtepMac, dst: peer.underlayAddress });
    }
    if (!presentNeighbours.has(key.neighbour))
      diff.put.neighbours.push({ address: peer.vtepAddress, mac: peer.vtepMac });
    if (!presentRoutes.has(key.route)) diff.put.routes.push({ dst: peer.subnet, via: peer.vtepAddress });
  });
  return diff;
}

export function isEmptyDiff(diff: PeerEntriesDiff): boolean {
  return [diff.put, diff.remove].every(
    (changes) => changes.fdb.length + changes.neighbours.length + changes.routes.length === 0,
  );
}

/** One line per difference, for CHECK's error and the agent's log. */
export function describeDiff(diff: PeerEntriesDiff): string[] {
  const lines: string[] = [];
  for (const entry of diff.put.fdb) lines.push(`missing fdb ${entry.mac} dst ${entry.dst}`);
  for (const entry of diff.put.neighbours) lines.push(`missing neighbour ${entry.address} lladdr ${entry.mac}`);
  for (const entry of diff.put.routes) lines.push(`missing route ${entry.dst} via ${entry.via} onlink`);
  for (const entry of diff.remove.fdb) lines.push(`extra fdb ${entry.mac} dst ${entry.dst}`);
  for (const entry of diff.remove.neighbours) lines.push(`extra neighbour ${entry.address} lladdr ${entry.mac}`);
  for (const entry of diff.remove.routes) lines.push(`extra route ${entry.dst} via ${entry.via}`);
  return lines;
}
