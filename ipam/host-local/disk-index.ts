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
// The lease files stay the truth; the index is a cache. It is trusted only while its
// stamp records the network directory's current inode and mtime (nanoseconds) and the
// hash of every bucket's content. Any lease created or removed by anyone changes that
// mtime; after our own changes we set the mtime to a value 2 s in the past with random
// microseconds, which no later change by another process can produce, and record it.
// A missing or different stamp, or a bucket whose content is not the one the stamp
// names (torn, replaced, left from a crash), means: rebuild from the lease files. The
// stamp is written last, so a crash half-way through an update leaves it stale: every
// update changes a lease file (so the mtime) or a bucket (so its hash) before it.
// Buckets and stamp are overwritten in place (files.ts says why).
import * as fs from "node:fs";
import * as path from "node:path";
import { FileKindError, isErrno, overwriteDataFile, readDataFile, requireRealDirectory } from "./files";
import type { Attachment, Lease } from "./store";

/** attachment key ("<containerId>\n<ifName>") -> its addresses */
type Bucket = Map<string, string[]>;

interface Stamp {
  ino: string;
  mtimeNs: string;
  /** bucket name -> hash of its file's content; a bucket not named here has no file */
  buckets: Record<string, string>;
}

export const INDEX_DIR_NAME = ".cnikit-index";
/**
 * Names the layout: a version must never trust a stamp beside buckets it would read wrongly
 * (it finds no stamp of its own and rebuilds). So neither "stamp" (the per-attachment index
 * of earlier versions) nor "stamp.fnv64" (buckets unhashed), and a new name whenever the
 * bucket count, the hash or the stamp's content changes.
 */
export const INDEX_STAMP_NAME = "stamp.v3";

/** Thrown while reading the index when it cannot be trusted; the store rebuilds and retries. */
export class StaleIndexError extends Error {}

function keyOf(attachment: Attachment): string {
  return `${attachment.containerId}\n${attachment.ifName}`;
}

/** FNV-1a over the UTF-16 code units: stable, and cheap for 10,000 keys or a 6 KB bucket. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  return hash >>> 0;
}

/**
 * The low 6 bits of the key's hash as two hex digits. 64 buckets: a rebuild compares 64
 * files, and at 10,000 leases the bucket a steady-state call reads and rewrites is about 6 KB.
 */
function bucketNameOf(key: string): string {
  return (fnv1a(key) & 0x3f).toString(16).padStart(2, "0");
}

/** The content hash a stamp records: the text's FNV-1a and its length. */
function contentHash(text: string): string {
  return `${fnv1a(text).toString(16)}.${text.length}`;
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

/** A bucket's text, already matched against the stamp's hash. */
function parseBucket(text: string): Bucket {
  const bucket: Bucket = new Map();
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== "object" || parsed === null) throw new StaleIndexError("bucket is not an object");
  for (const [key, addresses] of Object.entries(parsed)) {
    if (!Array.isArray(addresses) || !addresses.every((address) => typeof address === "string"))
      throw new StaleIndexError(`bucket entry ${JSON.stringify(key)} is not a list of addresses`);
    bucket.set(key, addresses);
  }
  return bucket;
}

function parseStamp(text: string | undefined): Stamp | undefined {
  if (text === undefined) return undefined;
  try {
    const stamp = JSON.parse(text) as Partial<Stamp>;
    if (typeof stamp.ino !== "string" || typeof stamp.mtimeNs !== "string") return undefined;
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
  /** The hashes of the stamp read by isCurrent(), then of what this session wrote. */
  private hashes = new Map<string, string>();
  /** After rebuild(): flush() also removes the index files no bucket wants. */
  private rebuilt = false;
  /** After rebuild(): every bucket is in memory, and one not there is empty (its old file is not read). */
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
    if (stamp?.ino !== String(networkDir.ino) || stamp.mtimeNs !== String(networkDir.mtimeNs)) return false;
    this.hashes = new Map(Object.entries(stamp.buckets).filter(([, hash]) => typeof hash === "string"));
    return true;
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

  /** Makes the index (in memory) match these leases; `flush()` writes it. */
  rebuild(leases: readonly Lease[]): void {
    this.buckets.clear();
    this.dirty.clear();
    this.hashes.clear();
    for (const lease of leases) {
      const key = keyOf(lease.attachment);
      const name = bucketNameOf(key);
      const bucket = this.buckets.get(name) ?? new Map<string, string[]>();
      this.buckets.set(name, bucket);
      const addresses = bucket.get(key);
      if (addresses) addresses.push(lease.address);
      else bucket.set(key, [lease.address]);
    }
    for (const name of this.buckets.keys()) this.dirty.add(name);
    this.rebuilt = true;
    this.complete = true;
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
      buckets: Object.fromEntries([...this.hashes].sort()),
    };
    overwriteDataFile(path.join(this.dir, INDEX_STAMP_NAME), JSON.stringify(stamp));
  }

  /** Index files no bucket wants: an emptied bucket, an earlier version's files, anything planted. */
  private removeUnwanted(): void {
    for (const name of fs.readdirSync(this.dir)) {
      if (name === INDEX_STAMP_NAME || this.buckets.get(name)?.size) continue;
      fs.rmSync(path.join(this.dir, name), { recursive: true, force: true });
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
    try {
      return parseBucket(text);
    } catch (err) {
      throw err instanceof StaleIndexError ? err : new StaleIndexError(`index bucket ${name}: ${String(err)}`);
    }
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
