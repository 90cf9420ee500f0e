// The two files the agent keeps for the plugin, which never talks to etcd itself:
// the peersFile (the live hosts as vxlan-overlay's `peers` entries: underlay address
// and subnet) and the subnetFile (this host's subnet and MTU, like flannel's
// subnet.env but JSON). Both are replaced atomically: a plugin run in parallel reads
// either the old or the new content, never half of one.
import * as fs from "node:fs";
import * as path from "node:path";
import { readRegularFile } from "../../src/cni/safe-file";
import type { HostLease } from "./records";

/** What the subnetFile holds. */
export interface SubnetFile {
  /** The whole overlay network(s), CIDR. */
  network?: string;
  ipv6Network?: string;
  /** This host's share of it, CIDR. */
  subnet?: string;
  ipv6Subnet?: string;
  /** MTU for the VTEP, the bridge and the container interfaces. */
  mtu: number;
  underlayAddress: string;
  hostId: string;
}

/** The plugin's bounds on these files (overlay/plugin): nothing larger is worth comparing. */
const PEERS_FILE_MAX_BYTES = 4 << 20;
const SUBNET_FILE_MAX_BYTES = 64 << 10;

/** A temporary file of ours: made with O_EXCL|O_NOFOLLOW, so a name planted there (a symlink) is never written through. */
function createTemporary(file: string): { temporary: string; fd: number } {
  const temporary = `${file}.${process.pid}.tmp`;
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
  try {
    return { temporary, fd: fs.openSync(temporary, flags, 0o644) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    fs.rmSync(temporary, { force: true }); // a leftover of a pid before ours, or planted: unlink never follows it
    return { temporary, fd: fs.openSync(temporary, flags, 0o644) };
  }
}

/** Writes `content` to `file` through a temporary file and rename; false when the file already held it. */
export function writeFileAtomic(file: string, content: string): boolean {
  try {
    if (readRegularFile(file, PEERS_FILE_MAX_BYTES).toString("utf8") === content) return false;
  } catch {
    // Missing, not a regular file, or too large: replace it.
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const { temporary, fd } = createTemporary(file);
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, file);
  return true;
}

/**
 * The peersFile content: every live host (ours included; the plugin skips its own
 * address and, in l3, takes its own subnet from its entry) as vxlan-overlay's `peers`
 * objects, sorted by address. A dual-stack host is listed with its IPv4 `subnet` and
 * its `ipv6Subnet`; a single-stack one with its subnet of either family as `subnet`.
 */
export function peersFileContent(leases: readonly HostLease[]): string {
  const byAddress = new Map<string, { address: string; subnet?: string; ipv6Subnet?: string }>();
  for (const lease of leases) {
    const subnet = lease.subnet ?? lease.ipv6Subnet;
    const ipv6Subnet = lease.subnet !== undefined ? lease.ipv6Subnet : undefined;
    byAddress.set(lease.underlayAddress, {
      address: lease.underlayAddress,
      ...(subnet && { subnet }),
      ...(ipv6Subnet && { ipv6Subnet }),
    });
  }
  const peers = [...byAddress.values()].sort((a, b) => a.address.localeCompare(b.address, "en", { numeric: true }));
  return `${JSON.stringify(peers)}\n`;
}

export function subnetFileContent(subnetFile: SubnetFile): string {
  return `${JSON.stringify(subnetFile, null, 2)}\n`;
}

/** The subnetFile of an earlier run, for asking the same subnets back; undefined when absent or damaged. */
export function readSubnetFile(file: string): Partial<SubnetFile> | undefined {
  try {
    const json: unknown = JSON.parse(readRegularFile(file, SUBNET_FILE_MAX_BYTES).toString("utf8"));
    return typeof json === "object" && json !== null ? (json as Partial<SubnetFile>) : undefined;
  } catch {
    return undefined;
  }
}
