// An index of a network's leases by attachment, so that DEL, CHECK and the duplicate
// check of ADD read one small file instead of every lease (the reference reads them all).
//
// It lives beside the network directories (`<dataDir>/.cnikit-index/<network>/`, a name
// no CNI network can have), so the Go reference never sees it. One file per attachment,
// named by a hash of (containerID, ifname), holding its addresses.
//
// The lease files stay the truth. The index is trusted only while its `stamp` records
// the network directory's current inode and mtime (nanoseconds). Any lease created or
// removed by anyone changes that mtime; after our own changes we set the mtime to a
// value 2 s in the past with random microseconds, which no later change by another
// process can produce, and record it. A missing or different stamp means: rebuild from
// the lease files. A crash half-way through an update leaves the stamp stale, because
// every update changes a lease file (and so the mtime) before it touches the index.
import { shortDigest } from "../../src/ip/digest";
import * as fs from "node:fs";
import * as path from "node:path";
import { type Attachment, type Lease } from "./store";

interface IndexEntry {
  containerId: string;
  ifName: string;
  addresses: string[];
}

interface Stamp {
  ino: string;
  mtimeNs: string;
}

export const INDEX_DIR_NAME = ".cnikit-index";

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch {
    return undefined; // missing or torn: the caller treats it as absent
  }
}

export class AttachmentIndex {
  constructor(private readonly dir: string) {}

  static forNetwork(dataDir: string, network: string): AttachmentIndex {
    return new AttachmentIndex(path.join(dataDir, INDEX_DIR_NAME, network));
  }

  private entryFile(attachment: Attachment): string {
    const key = shortDigest(`${attachment.containerId}\n${attachment.ifName}`, 32);
    return path.join(this.dir, key.slice(0, 40));
  }

  isCurrent(networkDir: fs.BigIntStats): boolean {
    const stamp = readJson<Stamp>(path.join(this.dir, "stamp"));
    return stamp?.ino === String(networkDir.ino) && stamp.mtimeNs === String(networkDir.mtimeNs);
  }

  /** The addresses recorded for exactly this (containerId, ifName). */
  get(attachment: Attachment): string[] {
    const entry = readJson<IndexEntry>(this.entryFile(attachment));
    if (!entry || entry.containerId !== attachment.containerId || entry.ifName !== attachment.ifName) return [];
    return Array.isArray(entry.addresses) ? entry.addresses.filter((address) => typeof address === "string") : [];
  }

  set(attachment: Attachment, addresses: readonly string[]): void {
    const file = this.entryFile(attachment);
    if (addresses.length === 0) {
      fs.rmSync(file, { force: true });
      return;
    }
    const entry: IndexEntry = { containerId: attachment.containerId, ifName: attachment.ifName, addresses: [...addresses] };
    fs.writeFileSync(file, JSON.stringify(entry), { mode: 0o644 });
  }

  /** Replaces the whole index with these leases; the stamp stays absent until `stamp()`. */
  rebuild(leases: readonly Lease[]): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    const byAttachment = new Map<string, { attachment: Attachment; addresses: string[] }>();
    for (const lease of leases) {
      const key = `${lease.attachment.containerId}\n${lease.attachment.ifName}`;
      const group = byAttachment.get(key) ?? { attachment: lease.attachment, addresses: [] };
      group.addresses.push(lease.address);
      byAttachment.set(key, group);
    }
    for (const { attachment, addresses } of byAttachment.values()) this.set(attachment, addresses);
  }

  stamp(networkDir: fs.BigIntStats): void {
    const stamp: Stamp = { ino: String(networkDir.ino), mtimeNs: String(networkDir.mtimeNs) };
    const file = path.join(this.dir, "stamp");
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(stamp), { mode: 0o644 });
    fs.renameSync(`${file}.tmp`, file);
  }
}

/**
 * Sets the directory's mtime to 2 s ago plus random microseconds: a value that a later
 * create or unlink by any process (which stamps "now") will not reproduce.
 */
export function markDirectoryOurs(networkDir: string): fs.BigIntStats {
  const seconds = Math.floor(Date.now() / 1000) - 2 + Math.floor(Math.random() * 1_000_000) / 1_000_000;
  fs.utimesSync(networkDir, Date.now() / 1000, seconds);
  return fs.statSync(networkDir, { bigint: true });
}
