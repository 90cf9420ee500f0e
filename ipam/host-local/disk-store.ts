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
import { AttachmentIndex, type LeaseFile, type SeenLease, StaleIndexError, markDirectoryOurs } from "./disk-index";
import {
  FileKindError,
  createDataFile,
  isErrno,
  overwriteDataFile,
  readDataFile,
  readDataFileStat,
  requireRealDirectory,
} from "./files";
import { fileIdentity } from "./index-bucket";
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
    this.indexed(() => this.index.get(exact)); // the bucket is read (and trusted) before we change it
    const leaseFile = path.join(this.networkDir, lease.address);
    const created = createDataFile(leaseFile, leaseContent(lease.attachment));
    if (!created) return false;
    this.changed = true;
    try {
      overwriteDataFile(path.join(this.networkDir, LAST_RESERVED_PREFIX + rangeSetIndex), lease.address);
    } catch (err) {
      fs.rmSync(leaseFile, { force: true }); // a failed ADD leaves no lease
      throw err;
    }
    this.index.add(exact, { address: lease.address, file: fileIdentity(created) });
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
    this.index.remove({ containerId: id, ifName: attachment.ifName }, released);
    this.index.remove({ containerId: id, ifName: "" }, released);
    return released;
  }

  leases(): Lease[] {
    return this.readLeases().map(({ address, attachment }) => ({ address, attachment }));
  }

  /** Every lease file read, with its identity (a full rebuild). */
  private readLeases(): SeenLease[] {
    const leases: SeenLease[] = [];
    for (const name of this.leaseNames()) {
      const read = this.readLease(name);
      if (read && this.reclaimedIfOrphan(name, read.text.length))
        leases.push({ address: name, attachment: parseLeaseContent(read.text), file: fileIdentity(read.stats) });
    }
    return leases;
  }

  /**
   * False (and the file removed) for an empty lease file: a lease is created (O_EXCL) and
   * written under the network lock, which we hold, so an empty one was left by a process
   * killed between the two (seen with SIGKILL mid-burst); kept, its address would be taken
   * by nobody for good. The reference writes its leases under the same lock.
   */
  private reclaimedIfOrphan(name: string, size: number | bigint): boolean {
    if (Number(size) > 0) return true;
    fs.rmSync(path.join(this.networkDir, name), { force: true });
    this.changed = true;
    return false;
  }

  /** The names of the directory that are leases; a leftover temporary file of an old version is removed. */
  private leaseNames(): string[] {
    const names: string[] = [];
    for (const name of fs.readdirSync(this.networkDir)) {
      if (name.startsWith(TEMP_PREFIX)) {
        // Left by a process that died between writing and linking; never a lease.
        fs.rmSync(path.join(this.networkDir, name), { force: true });
      } else if (isLeaseName(name)) names.push(name);
    }
    return names;
  }

  private readLease(name: string): { text: string; stats: fs.BigIntStats } | undefined {
    try {
      return readDataFileStat(path.join(this.networkDir, name));
    } catch (err) {
      // Named like a lease but not a file of ours: its address stays taken (O_EXCL fails), owned by nobody.
      if (err instanceof FileKindError || isErrno(err, "EISDIR")) return undefined;
      throw err;
    }
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
      if (!this.index.isCurrent(fs.statSync(this.networkDir, { bigint: true })) && !this.refreshIndex())
        this.rebuildIndex();
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
    this.index.rebuild(this.readLeases());
    this.changed = true; // so that close() writes and stamps the rebuilt index
  }

  /**
   * After an outside change: a stat of every lease file, a read of only the new or changed
   * ones (measured at 10,000 leases: below). False when the buckets could not be used.
   */
  private refreshIndex(): boolean {
    const files = new Map<string, LeaseFile>();
    const prefix = `${this.networkDir}/`;
    for (const name of this.leaseNames()) {
      // Not bigint: at 10,000 leases BigInt stats cost 22 ms of a 45 ms refresh.
      const stats = fs.lstatSync(prefix + name, { throwIfNoEntry: false });
      if (stats?.isFile() && this.reclaimedIfOrphan(name, stats.size))
        files.set(name, { identity: fileIdentity(stats), mtimeMs: stats.mtimeMs });
    }
    const refreshed = this.index.refresh(files, (address) => {
      const read = this.readLease(address);
      return read && parseLeaseContent(read.text);
    });
    if (refreshed) this.changed = true;
    return refreshed;
  }
}

export function openDiskStore(location: StoreLocation): StoreSession {
  return new DiskStore(networkDirOf(location), location.dataDir, location.network);
}
