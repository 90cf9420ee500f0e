// An index of a network's leases by attachment, so that DEL, CHECK and the duplicate
// check of ADD read one small file instead of every lease (the reference reads them all).
//
// It lives beside the network directories (`<dataDir>/.cnikit-index/<network>/`, a name
// no CNI network can have), so the Go reference never sees it. Attachments are spread
// over at most 64 bucket files by a hash of (containerID, ifname); a bucket maps each
// of its attachments to its addresses. Few files matter when the whole index has to be
// rebuilt: that costs one pass over the lease files (what the reference pays on every
// call) plus a write of only the buckets whose content changed, usually one.
//
// The lease files stay the truth. The index is trusted only while its stamp records
// the network directory's current inode and mtime (nanoseconds). Any lease created or
// removed by anyone changes that mtime; after our own changes we set the mtime to a
// value 2 s in the past with random microseconds, which no later change by another
// process can produce, and record it. A missing or different stamp means: rebuild from
// the lease files. A crash half-way through an update leaves the stamp stale, because
// every update changes a lease file (and so the mtime) before the index is written,
// and a rebuild removes the stamp before it writes anything.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Attachment, Lease } from "./store";

/** attachment key ("<containerId>\n<ifName>") -> its addresses */
type Bucket = Map<string, string[]>;

interface Stamp {
  ino: string;
  mtimeNs: string;
}

export const INDEX_DIR_NAME = ".cnikit-index";
/**
 * Names the layout: a version must never trust a stamp beside buckets it would read wrongly
 * (it finds no stamp of its own and rebuilds). So not "stamp", which the per-attachment
 * index of earlier versions used, and a new name whenever the bucket count or hash changes.
 */
export const INDEX_STAMP_NAME = "stamp.fnv64";

function keyOf(attachment: Attachment): string {
  return `${attachment.containerId}\n${attachment.ifName}`;
}

/**
 * FNV-1a over the UTF-16 code units, low 6 bits as two hex digits: stable, and cheap for
 * 10,000 keys. 64 buckets: a rebuild compares 64 files, and at 10,000 leases the bucket
 * a steady-state call reads and rewrites is about 6 KB.
 */
function bucketNameOf(key: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index++) hash = Math.imul(hash ^ key.charCodeAt(index), 0x01000193);
  return (hash & 0x3f).toString(16).padStart(2, "0");
}

/** Sorted, so that equal content is an equal string and an unchanged bucket need not be written. */
function serializeBucket(bucket: Bucket): string {
  const sorted: Record<string, string[]> = {};
  for (const key of [...bucket.keys()].sort()) {
    const addresses = bucket.get(key) ?? [];
    sorted[key] = addresses.length > 1 ? [...addresses].sort() : addresses;
  }
  return JSON.stringify(sorted);
}

function parseBucket(text: string | undefined): Bucket {
  const bucket: Bucket = new Map();
  let parsed: unknown;
  try {
    parsed = text === undefined ? undefined : JSON.parse(text);
  } catch {
    return bucket; // torn: only after a crash, which left the stamp stale
  }
  if (typeof parsed !== "object" || parsed === null) return bucket;
  for (const [key, addresses] of Object.entries(parsed)) {
    if (Array.isArray(addresses))
      bucket.set(
        key,
        addresses.filter((address): address is string => typeof address === "string"),
      );
  }
  return bucket;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined; // missing: the caller treats it as empty
  }
}

/** Replaces `file` atomically (no reader ever sees half a bucket, even after a crash). */
function writeAtomically(file: string, content: string): void {
  fs.writeFileSync(`${file}.tmp`, content, { mode: 0o644 });
  fs.renameSync(`${file}.tmp`, file);
}

/**
 * One session's view of the index: buckets are read on first use, changed in memory and
 * written by `flush()`, so a GC releasing many leases writes each bucket once.
 */
export class AttachmentIndex {
  private readonly buckets = new Map<string, Bucket>();
  private readonly dirty = new Set<string>();

  constructor(private readonly dir: string) {}

  static forNetwork(dataDir: string, network: string): AttachmentIndex {
    return new AttachmentIndex(path.join(dataDir, INDEX_DIR_NAME, network));
  }

  isCurrent(networkDir: fs.BigIntStats): boolean {
    let stamp: Partial<Stamp> | undefined;
    try {
      stamp = JSON.parse(readText(path.join(this.dir, INDEX_STAMP_NAME)) ?? "null") as Partial<Stamp> | undefined;
    } catch {
      return false;
    }
    return stamp?.ino === String(networkDir.ino) && stamp.mtimeNs === String(networkDir.mtimeNs);
  }

  /** The addresses recorded for exactly this (containerId, ifName). */
  get(attachment: Attachment): string[] {
    const key = keyOf(attachment);
    return [...(this.bucket(bucketNameOf(key)).get(key) ?? [])];
  }

  set(attachment: Attachment, addresses: readonly string[]): void {
    const key = keyOf(attachment);
    const name = bucketNameOf(key);
    const bucket = this.bucket(name);
    if (addresses.length === 0 && !bucket.has(key)) return;
    if (addresses.length === 0) bucket.delete(key);
    else bucket.set(key, [...addresses]);
    this.dirty.add(name);
  }

  /**
   * Makes the index match these leases, touching only the buckets that differ. The stamp
   * goes first, so that a crash half-way leaves an index that the next call rebuilds again;
   * `stamp()` writes a new one.
   */
  rebuild(leases: readonly Lease[]): void {
    fs.rmSync(path.join(this.dir, INDEX_STAMP_NAME), { force: true });
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    this.buckets.clear();
    this.dirty.clear();
    for (const lease of leases) {
      const key = keyOf(lease.attachment);
      const name = bucketNameOf(key);
      const bucket = this.buckets.get(name) ?? new Map<string, string[]>();
      this.buckets.set(name, bucket);
      const addresses = bucket.get(key);
      if (addresses) addresses.push(lease.address);
      else bucket.set(key, [lease.address]);
    }
    const unwritten = new Set(this.buckets.keys());
    // Sorted: a deterministic order (buckets before the stamp names) keeps the crash test meaningful.
    for (const name of fs.readdirSync(this.dir).sort()) {
      const wanted = this.buckets.get(name);
      const file = path.join(this.dir, name);
      if (!wanted) {
        // An emptied bucket, a torn temporary file, an earlier version's entry or stamp.
        fs.rmSync(file, { recursive: true, force: true });
        continue;
      }
      unwritten.delete(name);
      const content = serializeBucket(wanted);
      if (readText(file) !== content) writeAtomically(file, content);
    }
    for (const name of unwritten)
      writeAtomically(path.join(this.dir, name), serializeBucket(this.buckets.get(name) ?? new Map()));
  }

  /** Writes the buckets changed since they were read (an emptied one is removed). */
  flush(): void {
    if (this.dirty.size === 0) return;
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    for (const name of this.dirty) {
      const bucket = this.bucket(name);
      const file = path.join(this.dir, name);
      if (bucket.size === 0) fs.rmSync(file, { force: true });
      else writeAtomically(file, serializeBucket(bucket));
    }
    this.dirty.clear();
  }

  /** Records the directory's state as the one this index describes; only after `flush()`. */
  stamp(networkDir: fs.BigIntStats): void {
    const stamp: Stamp = { ino: String(networkDir.ino), mtimeNs: String(networkDir.mtimeNs) };
    writeAtomically(path.join(this.dir, INDEX_STAMP_NAME), JSON.stringify(stamp));
  }

  private bucket(name: string): Bucket {
    let bucket = this.buckets.get(name);
    if (!bucket) {
      bucket = parseBucket(readText(path.join(this.dir, name)));
      this.buckets.set(name, bucket);
    }
    return bucket;
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
