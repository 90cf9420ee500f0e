// The disk store: exactly the reference's layout, so a node can switch between the Go
// plugin and ours in either direction without losing or duplicating a lease:
//   <dataDir>/<network>/<address>            "<containerID>\r\n<ifname>"
//   <dataDir>/<network>/last_reserved_ip.<n> the address last reserved from range set n
//   <dataDir>/<network>/lock                 flock'ed for the whole session
// A lease is claimed by creating its file with O_EXCL under the network's lock, as the
// reference does, and not synced (nor by the reference): a lease matters only while its
// container lives, and no container survives the power loss that could lose the write.
// Every file is opened through files.ts (no symlink followed, regular files only, bounded).
import * as fs from "node:fs";
import * as path from "node:path";
import { formatIp, parseIp } from "../../src/ip/address";
import { AttachmentIndex, StaleIndexError, markDirectoryOurs } from "./disk-index";
import { FileKindError, createDataFile, isErrno, overwriteDataFile, readDataFile, requireRealDirectory } from "./files";
import { lockNetworkDir } from "./lock";
import {
  type Attachment,
  type Lease,
  type StoreLocation,
  type StoreSession,
  leaseContent,
  ownedBy,
  parseLeaseContent,
} from "./store";

const LAST_RESERVED_PREFIX = "last_reserved_ip.";
/** Temporary lease files of versions before 0.1 (written, synced, then linked into place). */
const TEMP_PREFIX = ".cnikit-tmp.";

const DOTTED_QUAD_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
/** An IPv4 address as Go formats it (no leading zeros). */
const CANONICAL_IPV4 = new RegExp(`^${DOTTED_QUAD_OCTET}(?:\\.${DOTTED_QUAD_OCTET}){3}$`);

/** Lease files are named by the address exactly as Go formats it; anything else is not a lease. */
function isLeaseName(name: string): boolean {
  // The regular expression spares a rebuild of the index 10,000 parse-and-format round trips.
  if (!name.includes(":")) return CANONICAL_IPV4.test(name);
  const address = parseIp(name);
  return address !== undefined && formatIp(address) === name;
}

/** Names the network directory, refusing anything that would leave the data directory. */
export function networkDirOf(location: StoreLocation): string {
  const dataDir = path.resolve(location.dataDir);
  const networkDir = path.join(dataDir, location.network);
  if (path.dirname(networkDir) !== dataDir || location.network.startsWith(".")) {
    throw new Error(`network name ${JSON.stringify(location.network)} would leave the data directory ${dataDir}`);
  }
  return networkDir;
}

export class DiskStore implements StoreSession {
  private readonly index: AttachmentIndex;
  private readonly unlock: () => void;
  private indexChecked = false;
  private changed = false;

  constructor(
    private readonly networkDir: string,
    dataDir: string,
    network: string,
  ) {
    fs.mkdirSync(networkDir, { recursive: true, mode: 0o755 });
    requireRealDirectory(networkDir);
    this.index = AttachmentIndex.forNetwork(path.resolve(dataDir), network);
    this.unlock = lockNetworkDir(networkDir);
  }

  reserve(lease: Lease, rangeSetIndex: number): boolean {
    const exact = { containerId: lease.attachment.containerId.trim(), ifName: lease.attachment.ifName };
    const recorded = this.indexed(() => this.index.get(exact));
    const leaseFile = path.join(this.networkDir, lease.address);
    if (!createDataFile(leaseFile, leaseContent(lease.attachment))) return false;
    this.changed = true;
    try {
      overwriteDataFile(path.join(this.networkDir, LAST_RESERVED_PREFIX + rangeSetIndex), lease.address);
    } catch (err) {
      fs.rmSync(leaseFile, { force: true }); // a failed ADD leaves no lease
      throw err;
    }
    this.index.set(exact, [...recorded, lease.address]);
    return true;
  }

  lastReserved(rangeSetIndex: number): string | undefined {
    return readDataFile(path.join(this.networkDir, LAST_RESERVED_PREFIX + rangeSetIndex))?.trim();
  }

  addressesOf(attachment: Attachment): string[] {
    const verified = this.indexed(() => this.verifiedAddresses(attachment));
    if (verified) return verified;
    // The index disagrees with a lease file: trust the files and look again.
    this.rebuildIndex();
    return this.verifiedAddresses(attachment) ?? [];
  }

  release(attachment: Attachment, addresses?: readonly string[]): string[] {
    const released = this.addressesOf(attachment).filter((address) => !addresses || addresses.includes(address));
    if (released.length === 0) return [];
    // Unlinking needs no free space: a DEL releases also on a full filesystem.
    for (const address of released) fs.rmSync(path.join(this.networkDir, address), { force: true });
    this.changed = true;
    const id = attachment.containerId.trim();
    for (const key of [
      { containerId: id, ifName: attachment.ifName },
      { containerId: id, ifName: "" },
    ]) {
      const kept = this.index.get(key).filter((address) => !released.includes(address));
      this.index.set(key, kept);
    }
    return released;
  }

  leases(): Lease[] {
    const leases: Lease[] = [];
    for (const name of fs.readdirSync(this.networkDir)) {
      if (name.startsWith(TEMP_PREFIX)) {
        // Left by a process that died between writing and linking; never a lease.
        fs.rmSync(path.join(this.networkDir, name), { force: true });
        continue;
      }
      if (!isLeaseName(name)) continue;
      let content: string | undefined;
      try {
        content = readDataFile(path.join(this.networkDir, name));
      } catch (err) {
        // Named like a lease but not a file of ours: its address stays taken (O_EXCL fails), owned by nobody.
        if (err instanceof FileKindError || isErrno(err, "EISDIR")) continue;
        throw err;
      }
      if (content !== undefined) leases.push({ address: name, attachment: parseLeaseContent(content) });
    }
    return leases;
  }

  leasedAddresses(): string[] {
    return fs.readdirSync(this.networkDir).filter(isLeaseName);
  }

  close(): void {
    try {
      if (this.changed) {
        this.index.flush();
        this.index.stamp(markDirectoryOurs(this.networkDir));
      }
    } catch {
      // ENOSPC, EROFS...: the stamp stays stale, so the next call rebuilds the index: slower, never wrong.
    } finally {
      this.unlock();
    }
  }

  /** The index's addresses for the attachment, or undefined when a lease file contradicts it. */
  private verifiedAddresses(attachment: Attachment): string[] | undefined {
    const id = attachment.containerId.trim();
    const recorded = [
      ...this.index.get({ containerId: id, ifName: attachment.ifName }),
      ...this.index.get({ containerId: id, ifName: "" }),
    ];
    for (const address of recorded) {
      let content: string | undefined;
      try {
        content = readDataFile(path.join(this.networkDir, address));
      } catch {
        return undefined;
      }
      if (content === undefined || !ownedBy(parseLeaseContent(content), attachment)) return undefined;
    }
    return recorded;
  }

  /** Runs a read of the index, first checking its stamp; an index found untrustworthy is rebuilt and read again. */
  private indexed<T>(read: () => T): T {
    if (!this.indexChecked) {
      this.indexChecked = true;
      if (!this.index.isCurrent(fs.statSync(this.networkDir, { bigint: true }))) this.rebuildIndex();
    }
    try {
      return read();
    } catch (err) {
      if (!(err instanceof StaleIndexError)) throw err;
      this.rebuildIndex();
      return read();
    }
  }

  /** In memory; close() writes it, so a DEL on a full filesystem still releases. */
  private rebuildIndex(): void {
    this.index.rebuild(this.leases());
    this.changed = true; // so that close() writes and stamps the rebuilt index
  }
}

export function openDiskStore(location: StoreLocation): StoreSession {
  return new DiskStore(networkDirOf(location), location.dataDir, location.network);
}
