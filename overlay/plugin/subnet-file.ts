// `subnetFile`: this host's share of the overlay, written by `cnikit overlay agent` (the
// plugin itself never talks to etcd). When the config names one, the network config is
// completed from it by the config loader (config.ts), before anything reads it; IPAM is
// delegated the completed config's bytes (as flannel's CNI plugin writes its delegate's):
//   l3: `subnet` = the host's subnet (and `ipv6Subnet` for a dual-stack host); IPAM
//       host-local without ranges gets those subnets.
//   l2: the host's subnet is its slice of `network`; IPAM host-local without ranges
//       hands out the slice inside the whole network, and the bridge gets the slice's
//       first address (hostAddress) so the host reaches its containers.
//   both: `mtu` and `localAddress` when the config gives none.
// What the config states itself always wins. Without `subnetFile` nothing changes.
import { CniError, ErrorCode } from "../../src/cni/errors";
import { addressAt, familyOfAddress, prefixLengthOf } from "../../src/ip/cidr";
import { parseJsonBounded } from "../../src/cni/json-bounds";
import { FileRefusedError, readRegularFile } from "../../src/cni/safe-file";

/** What the agent writes (overlay/membership/files.ts). */
interface SubnetFileContent {
  network?: string;
  subnet?: string;
  ipv6Network?: string;
  ipv6Subnet?: string;
  mtu?: number;
  underlayAddress?: string;
}

type Json = Record<string, unknown>;

function invalid(message: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, message);
}

/** The agent writes a few hundred bytes. */
export const SUBNET_FILE_MAX_BYTES = 64 << 10;

function readSubnetFile(file: string): SubnetFileContent {
  let text: string;
  try {
    text = readRegularFile(file, SUBNET_FILE_MAX_BYTES).toString("utf8");
  } catch (err) {
    // A FIFO, a directory, a huge file: no agent wrote that, and retrying will not help.
    if (err instanceof FileRefusedError && err.errno === undefined)
      throw invalid(`subnetFile: cannot read ${JSON.stringify(file)}: ${err.what}`);
    // Usually the agent has not leased a subnet yet: worth retrying, not a config error.
    throw new CniError(
      ErrorCode.TryAgainLater,
      `subnetFile: cannot read ${JSON.stringify(file)} (is cnikit overlay agent running?): ${(err as FileRefusedError).what}`,
    );
  }
  try {
    const json: unknown = parseJsonBounded(text);
    if (typeof json !== "object" || json === null || Array.isArray(json)) throw new Error("not a JSON object");
    return json as SubnetFileContent;
  } catch (err) {
    throw invalid(`subnetFile: ${JSON.stringify(file)} is not the agent's JSON: ${(err as Error).message}`);
  }
}

/** The last address of `cidr` that is not IPv4's broadcast. */
function lastUsable(cidr: string): bigint {
  const size = 1n << BigInt((familyOfAddress(cidr) === 4 ? 32 : 128) - prefixLengthOf(cidr));
  return familyOfAddress(cidr) === 4 ? size - 2n : size - 1n;
}

function l2Range(network: string, slice: string): Json {
  return {
    subnet: network,
    rangeStart: addressAt(slice, 2n),
    rangeEnd: addressAt(slice, lastUsable(slice)),
    gateway: addressAt(slice, 1n),
  };
}

function completeIpam(netConf: Json, share: SubnetFileContent, mode: string): void {
  const ipam = netConf.ipam as Json | undefined;
  if (ipam?.type !== "host-local" || ipam.subnet !== undefined || ipam.ranges !== undefined) return;
  const ranges: Json[][] = [];
  const families: [string | undefined, string | undefined][] = [
    [share.network, share.subnet],
    [share.ipv6Network, share.ipv6Subnet],
  ];
  for (const [network, subnet] of families) {
    if (subnet === undefined) continue;
    if (mode === "l3") ranges.push([{ subnet }]);
    else if (network !== undefined) ranges.push([l2Range(network, subnet)]);
  }
  if (ranges.length > 0) netConf.ipam = { ...ipam, ranges };
}

/**
 * DEL and GC must work whatever state the agent's files are in (after a reboot /run is
 * empty until the agent is back). host-local still wants a range to parse, though it
 * releases by attachment: it gets a documentation range (RFC 5737), never allocated
 * from, since ADD refuses to run without the file.
 */
function withoutSubnetFile(netConf: Json): Json {
  const ipam = netConf.ipam as Json | undefined;
  if (ipam?.type !== "host-local" || ipam.subnet !== undefined || ipam.ranges !== undefined) return netConf;
  return { ...netConf, ipam: { ...ipam, ranges: [[{ subnet: "192.0.2.0/24" }]] } };
}

/**
 * The network config (parsed, not yet validated) completed from its subnetFile: a new
 * object, or `netConf` itself when it names none. `optional` (DEL, STATUS, GC): a file
 * that cannot be read is no error.
 */
export function applySubnetFile(netConf: Json, options: { optional?: boolean } = {}): Json {
  const file = netConf.subnetFile;
  if (typeof file !== "string" || file === "") return netConf;
  let share: SubnetFileContent;
  try {
    share = readSubnetFile(file);
  } catch (err) {
    if (!options.optional) throw err;
    return withoutSubnetFile(netConf);
  }
  const mode = netConf.mode === "l3" ? "l3" : "l2";
  const completed: Json = { ...netConf };
  const ownSubnet = share.subnet ?? share.ipv6Subnet;
  if (mode === "l3" && completed.subnet === undefined && ownSubnet !== undefined) {
    completed.subnet = ownSubnet;
    // Dual-stack: the IPv6 subnet routes beside the IPv4 one.
    if (share.subnet !== undefined && share.ipv6Subnet !== undefined && completed.ipv6Subnet === undefined)
      completed.ipv6Subnet = share.ipv6Subnet;
  }
  if (completed.mtu === undefined && typeof share.mtu === "number") completed.mtu = share.mtu;
  if (completed.localAddress === undefined && typeof share.underlayAddress === "string")
    completed.localAddress = share.underlayAddress;
  if (
    mode === "l2" &&
    completed.hostAddress === undefined &&
    share.underlayAddress !== undefined &&
    share.subnet !== undefined &&
    share.network !== undefined
  )
    completed.hostAddress = {
      [share.underlayAddress]: `${addressAt(share.subnet, 1n)}/${prefixLengthOf(share.network)}`,
    };
  completeIpam(completed, share, mode);
  return completed;
}
