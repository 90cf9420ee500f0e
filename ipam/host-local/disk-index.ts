// An index of a network's leases by attachment, so that DEL, CHECK and the duplicate
// check of ADD read one small file instead of every lease (the reference reads them all).
//
// It lives beside the network directories (`<dataDir>/.cnikit-index/<network>/`, a name
// no CNI network can have), so the Go reference never sees it. Attachments are spread
// over at most 64 bucket files by a hash of (containerID, ifname); a bucket maps each
// of its attachments to its addresses. Few files matter when the whole index has to be
// rebuilt after an outside change: that costs a listing of the lease files, a stat of
// each, and a read of only those that are new or changed (index-bucket.ts keeps each
// lease file's identity), plus a write of only the buckets whose content changed.
//
// The lease files stay the truth; the index is a cache. It is trusted only while its
// stamp records the network directory's current inode and mtime (nanoseconds) and the
// hash of every bucket's content. Any lease created or removed by anyone changes that
// mtime; after our own changes we set the mtime to a value 2 s in the past with random
// microseconds, which no later change by another process can produce, and record it.
// A different or missing stamp means: refresh from the lease files as above (every entry
// is checked against its file's identity). A bucket whose content is not the one a current
// stamp names (torn, replaced, left from a crash), buckets that cannot be read whole, or a
// lease file that contradicts the index mean a full rebuild: every lease file read. The
// stamp is written last, so a crash half-way through an update leaves it stale: every
// update changes a lease file (so the mtime) or a bucket (so its hash) before it.
// Buckets and stamp are overwritten in place (files.ts says why).
import * as fs from "node:fs";
import * as path from "node:path";
import { FileKindError, isErrno, overwriteDataFile, readDataFile, requireRealDirectory } from "./files";
import {
  BUCKET_NAME,
  type Bucket,
  type IndexEntry,
  StaleIndexError,
  bucketNameOf,
  contentHash,
  keyOf,
  parseBucket,
  serializeBucket,
} from "./index-bucket";
import type { Attachment, Lease } from "./store";

export { StaleIndexError } from "./index-bucket";

interface Stamp {
  ino: string;
  mtimeNs: string;
  /** Wall clock when it was written (ms): refresh() trusts only lease files older than that. */
  writtenAtMs: number;
  /** bucket name -> hash of its file's content; a bucket not named here has no file */
  buckets: Record<string, string>;
}

/** A lease file as a refresh sees it (its stat, not its content). */
export interface LeaseFile {
  identity: string;
  mtimeMs: number;
}

/** File times come from a coarse clock (a tick of a few ms) and clocks drift: a second's margin. */
const CLOCK_SLACK_MS = 1000;

/** A lease as a rebuild reads it: with its file's identity. */
export interface SeenLease extends Lease {
  file: string;
}

export const INDEX_DIR_NAME = ".cnikit-index";
/**
 * Names the layout: a version must never trust a stamp beside buckets it would read wrongly
 * (it finds no stamp of its own and rebuilds). So none of "stamp" (the per-attachment
 * index of earlier versions), "stamp.fnv64" (buckets unhashed), "stamp.v3" (no file
 * identities), and a new name whenever the bucket count, the hash or a file's shape changes.
 */
export const INDEX_STAMP_NAME = "stamp.v4";

function parseStamp(text: string | undefined): Stamp | undefined {
  if (text === undefined) return undefined;
  try {
    const stamp = JSON.parse(text) as Partial<Stamp>;
    if (typeof stamp.ino !== "string" || typeof stamp.mtimeNs !== "string") return undefined;
    if (typeof stamp.writtenAtMs !== "number") return undefined;
    if (typeof stamp.buckets !== "object" || stamp.buckets === null) return undefined;
    return stamp as Stamp;
  } catch {
    return undefined; // torn or planted: not ours
  }
}

/** Reads an index file; one that is not ours to read (symlink, FIFO, too big) is treated as torn. */
function readIndexFile(file: string): string | undefined {
  try {
    return readDataFile(file);
  } catch (err) {
    if (err instanceof FileKindError || isErrno(err, "EISDIR")) throw new StaleIndexError((err as Error).message);
    throw err;
  }
}

/**
 * One session's view of the index: buckets are read on first use, changed in memory and
 * written by `flush()`, so a GC releasing many leases writes each bucket once.
 */
export class AttachmentIndex {
  private readonly buckets = new Map<string, Bucket>();
  private readonly dirty = new Set<string>();
  /** The stamp isCurrent() read, current or not. */
  private lastStamp: Stamp | undefined;
  /** The hashes of the stamp read by isCurrent() or of the files loadAll() read, then of what this session wrote. */
  private hashes = new Map<string, string>();
  /** After a rebuild or refresh: flush() also removes the index files no bucket wants. */
  private rebuilt = false;
  /** Every bucket is in memory, and one not there is empty (its old file is not read). */
  private complete = false;

  constructor(private readonly dir: string) {}

  static forNetwork(dataDir: string, network: string): AttachmentIndex {
    return new AttachmentIndex(path.join(dataDir, INDEX_DIR_NAME, network));
  }

  /** True when the stamp describes the directory as it is now (and so the buckets may be read). */
  isCurrent(networkDir: fs.BigIntStats): boolean {
    let stamp: Stamp | undefined;
    try {
      stamp = parseStamp(readIndexFile(path.join(this.dir, INDEX_STAMP_NAME)));
    } catch (err) {
      if (err instanceof StaleIndexError) return false;
      throw err;
    }
    this.lastStamp = stamp;
    if (stamp?.ino !== String(networkDir.ino) || stamp.mtimeNs !== String(networkDir.mtimeNs)) return false;
    this.hashes = new Map(Object.entries(stamp.buckets).filter(([, hash]) => typeof hash === "string"));
    return true;
  }

  /** The addresses recorded for exactly this (containerId, ifName). */
  get(attachment: Attachment): string[] {
    const key = keyOf(attachment);
    return (this.bucket(bucketNameOf(key)).get(key) ?? []).map((entry) => entry.address);
  }

  add(attachment: Attachment, entry: IndexEntry): void {
    const key = keyOf(attachment);
    const name = bucketNameOf(key);
    const bucket = this.bucket(name);
    bucket.set(key, [...(bucket.get(key) ?? []).filter((kept) => kept.address !== entry.address), entry]);
    this.dirty.add(name);
  }

  remove(attachment: Attachment, addresses: readonly string[]): void {
    this.removeFromKey(keyOf(attachment), addresses);
  }

  private removeFromKey(key: string, addresses: readonly string[]): void {
    const name = bucketNameOf(key);
    const bucket = this.bucket(name);
    const entries = bucket.get(key);
    if (!entries) return;
    const kept = entries.filter((entry) => !addresses.includes(entry.address));
    if (kept.length === entries.length) return;
    if (kept.length === 0) bucket.delete(key);
    else bucket.set(key, kept);
    this.dirty.add(name);
  }

  /** Makes the index (in memory) match these leases; `flush()` writes it. */
  rebuild(leases: readonly SeenLease[]): void {
    this.buckets.clear();
    this.dirty.clear();
    this.hashes.clear();
    this.rebuilt = true;
    this.complete = true;
    for (const lease of leases) this.add(lease.attachment, { address: lease.address, file: lease.file });
  }

  /**
   * After an outside change (stamp stale, buckets intact): keeps every entry whose lease
   * file has the identity recorded and was last written well before our last stamp, drops
   * those whose file is gone, and asks `readOwner` for every other file. The age rule is
   * for a name removed and made again on the same inode within one tick of the coarse
   * file clock (same identity): such a file is newer than our stamp, so it is read again.
   * False when the buckets cannot be read as a whole (the caller reads every lease then).
   */
  refresh(files: ReadonlyMap<string, LeaseFile>, readOwner: (address: string) => Attachment | undefined): boolean {
    if (!this.loadAll()) return false;
    const recorded = new Map<string, { key: string; file: string }>();
    for (const bucket of this.buckets.values()) {
      for (const [key, entries] of bucket) {
        for (const entry of entries) {
          if (recorded.has(entry.address)) return false; // one address, two owners: not ours to trust
          recorded.set(entry.address, { key, file: entry.file });
        }
      }
    }
    const trustedBeforeMs = (this.lastStamp?.writtenAtMs ?? 0) - CLOCK_SLACK_MS;
    const trusted = (address: string, file: LeaseFile | undefined): boolean =>
      file !== undefined && file.mtimeMs < trustedBeforeMs && recorded.get(address)?.file === file.identity;
    for (const [address, seen] of recorded) {
      if (!trusted(address, files.get(address))) this.removeFromKey(seen.key, [address]);
    }
    for (const [address, file] of files) {
      if (trusted(address, file)) continue;
      const owner = readOwner(address);
      if (owner) this.add(owner, { address, file: file.identity });
    }
    this.rebuilt = true;
    return true;
  }

  /**
   * Writes the buckets changed since they were read (an emptied one is removed), skipping
   * any whose file already has that content; after a rebuild, removes every other file.
   */
  flush(): void {
    if (this.dirty.size === 0 && !this.rebuilt) return;
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    requireRealDirectory(path.dirname(this.dir));
    requireRealDirectory(this.dir);
    if (this.rebuilt) this.removeUnwanted();
    for (const name of this.dirty) {
      const bucket = this.buckets.get(name) ?? new Map();
      const file = path.join(this.dir, name);
      if (bucket.size === 0) {
        fs.rmSync(file, { force: true });
        this.hashes.delete(name);
        continue;
      }
      const content = serializeBucket(bucket);
      if (this.existingContent(file) !== content) overwriteDataFile(file, content);
      this.hashes.set(name, contentHash(content));
    }
    this.dirty.clear();
    this.rebuilt = false;
  }

  /** Records the directory's state and the buckets' hashes as what this index describes; only after `flush()`. */
  stamp(networkDir: fs.BigIntStats): void {
    const stamp: Stamp = {
      ino: String(networkDir.ino),
      mtimeNs: String(networkDir.mtimeNs),
      writtenAtMs: Date.now(),
      buckets: Object.fromEntries([...this.hashes].sort()),
    };
    overwriteDataFile(path.join(this.dir, INDEX_STAMP_NAME), JSON.stringify(stamp));
  }

  /** Reads every bucket file there is, whatever the stamp says; false when one is not ours or not whole. */
  private loadAll(): boolean {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir).filter((name) => BUCKET_NAME.test(name));
    } catch (err) {
      if (!isErrno(err, "ENOENT")) throw err;
      names = [];
    }
    this.buckets.clear();
    this.dirty.clear();
    this.hashes.clear();
    try {
      for (const name of names) {
        const text = readIndexFile(path.join(this.dir, name)) ?? "{}";
        this.buckets.set(name, parseBucket(name, text));
        this.hashes.set(name, contentHash(text));
      }
    } catch (err) {
      if (err instanceof StaleIndexError) return false;
      throw err;
    }
    this.complete = true;
    return true;
  }

  /** Index files no bucket wants: an emptied bucket, an earlier version's files, anything planted. */
  private removeUnwanted(): void {
    for (const name of fs.readdirSync(this.dir)) {
      if (name === INDEX_STAMP_NAME || this.buckets.get(name)?.size) continue;
      fs.rmSync(path.join(this.dir, name), { recursive: true, force: true });
      this.hashes.delete(name);
    }
  }

  /** A bucket file's content when it is a plain file of ours; otherwise it is removed so it can be written. */
  private existingContent(file: string): string | undefined {
    try {
      return readDataFile(file);
    } catch (err) {
      if (!(err instanceof FileKindError) && !isErrno(err, "EISDIR")) throw err;
      fs.rmSync(file, { recursive: true, force: true });
      return undefined;
    }
  }

  private bucket(name: string): Bucket {
    let bucket = this.buckets.get(name);
    if (!bucket) {
      bucket = this.complete ? new Map() : this.readBucket(name);
      this.buckets.set(name, bucket);
    }
    return bucket;
  }

  /** A bucket as the stamp describes it: its file's hash must be the stamp's (no file: no entry). */
  private readBucket(name: string): Bucket {
    const text = readIndexFile(path.join(this.dir, name));
    const expected = this.hashes.get(name);
    if (text === undefined && expected === undefined) return new Map();
    if (text === undefined || expected !== contentHash(text))
      throw new StaleIndexError(`index bucket ${name} is not the one its stamp names`);
    return parseBucket(name, text);
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
