// The index's bucket files: which attachment holds which addresses, and for each address
// the identity of its lease file when we last saw it, so a rebuild after an outside
// change reads only the lease files that are new or changed (disk-index.ts).
import type * as fs from "node:fs";
import type { Attachment } from "./store";

export interface IndexEntry {
  address: string;
  /** The lease file's identity, "<inode>.<mtime ms>" (fileIdentity). */
  file: string;
}

/** attachment key ("<containerId>\n<ifName>") -> its entries */
export type Bucket = Map<string, IndexEntry[]>;

/** Thrown while reading the index when it cannot be trusted; the store rebuilds and retries. */
export class StaleIndexError extends Error {}

export function keyOf(attachment: Attachment): string {
  return `${attachment.containerId}\n${attachment.ifName}`;
}

/**
 * Inode and mtime in whole milliseconds, alike from a BigInt stat and a plain one. Enough:
 * refresh() reads every file written near or after our last stamp anyway, so the identity
 * only has to tell an older file put in place (a rename keeps its mtime, not its inode).
 */
export function fileIdentity(stats: fs.BigIntStats | fs.Stats): string {
  const ms = "mtimeNs" in stats ? stats.mtimeNs / 1_000_000n : Math.trunc(stats.mtimeMs);
  return `${stats.ino}.${ms}`;
}

/** FNV-1a over the UTF-16 code units: stable, and cheap for 10,000 keys or a 6 KB bucket. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  return hash >>> 0;
}

/**
 * The low 6 bits of the key's hash as two hex digits. 64 buckets: a rebuild compares 64
 * files, and at 10,000 leases the bucket a steady-state call reads and rewrites is about 12 KB.
 */
export function bucketNameOf(key: string): string {
  return (fnv1a(key) & 0x3f).toString(16).padStart(2, "0");
}

export const BUCKET_NAME = /^[0-9a-f]{2}$/;

/** The content hash a stamp records: the text's FNV-1a and its length. */
export function contentHash(text: string): string {
  return `${fnv1a(text).toString(16)}.${text.length}`;
}

/** Sorted, so that equal content is an equal string and an unchanged bucket need not be written. */
export function serializeBucket(bucket: Bucket): string {
  const sorted: Record<string, [string, string][]> = {};
  for (const key of [...bucket.keys()].sort()) {
    const entries = [...(bucket.get(key) ?? [])].sort((a, b) => (a.address < b.address ? -1 : 1));
    sorted[key] = entries.map((entry) => [entry.address, entry.file]);
  }
  return JSON.stringify(sorted);
}

function isPair(value: unknown): value is [string, string] {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === "string" && typeof value[1] === "string";
}

/** A bucket's text; anything but the shape serializeBucket writes is a StaleIndexError. */
export function parseBucket(name: string, text: string): Bucket {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new StaleIndexError(`index bucket ${name}: ${String(err)}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new StaleIndexError(`index bucket ${name} is not an object`);
  const bucket: Bucket = new Map();
  for (const [key, entries] of Object.entries(parsed)) {
    if (!Array.isArray(entries) || !entries.every(isPair))
      throw new StaleIndexError(`index bucket ${name}: entry ${JSON.stringify(key)} is not a list of [address, file]`);
    bucket.set(
      key,
      entries.map(([address, file]) => ({ address, file })),
    );
  }
  return bucket;
}
