// Opening what a config or an operator names, safely: a planted FIFO must not hang the
// open or the read, a directory or a device must not pass for a file, /dev/zero or a
// growing file must not fill the memory, and a symlink must not be followed where we
// create a file. Every failure is a FileRefusedError naming the path and what it is;
// each caller gives it its CNI code (5 for our own files, 7 for a config's). Node
// built-ins only, so any folder may use it (host-local included).
import * as fs from "node:fs";

/** Why a path was refused; `path` and `what` go into the caller's message. */
export class FileRefusedError extends Error {
  readonly path: string;
  /** What is wrong with it, without the path: "is a FIFO, not a regular file". */
  readonly what: string;
  /** Set when a syscall failed (ENOENT...); undefined when the file is there but not acceptable. */
  readonly errno: string | undefined;

  constructor(file: string, what: string, errno?: string) {
    super(`${file}: ${what}`);
    this.name = "FileRefusedError";
    this.path = file;
    this.what = what;
    this.errno = errno;
  }
}

/** "a FIFO", "a directory"...: what a non-regular file is, for a message. */
export function fileKind(stat: fs.Stats | fs.BigIntStats): string {
  if (stat.isFile()) return "a regular file";
  if (stat.isDirectory()) return "a directory";
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isSocket()) return "a socket";
  if (stat.isCharacterDevice()) return "a character device";
  if (stat.isBlockDevice()) return "a block device";
  if (stat.isSymbolicLink()) return "a symbolic link";
  return "not a regular file";
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function sizeText(bytes: number): string {
  return bytes >= 1 << 20 ? `${bytes / (1 << 20)} MiB` : bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}

/** A file opened by openRegular, with its stat taken on that very fd. */
export interface OpenedFile {
  fd: number;
  /** Bigint: host-local compares inode and mtime stamps to the nanosecond. */
  stats: fs.BigIntStats;
}

/**
 * The open-and-check core every opener here builds on (host-local's data files too):
 * `file` opened with `flags` plus O_NONBLOCK, so a FIFO cannot hang the open, then
 * fstat'ed on the opened fd, so what is used is what was checked, and a regular file
 * required (else closed, FileRefusedError). A failing open throws the system's error as
 * it is: each caller names it in its own terms (and adds O_NOFOLLOW where it must).
 */
export function openRegular(file: string, flags: number, mode = 0o600): OpenedFile {
  const fd = fs.openSync(file, flags | fs.constants.O_NONBLOCK, mode);
  try {
    const stats = fs.fstatSync(fd, { bigint: true });
    if (!stats.isFile()) throw new FileRefusedError(file, `is ${fileKind(stats)}, not a regular file`);
    return { fd, stats };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** Reads fd from its current position: at most maxBytes, refused beyond (the size a stat gives can lie: /proc, a growing file). */
function readAtMost(fd: number, file: string, maxBytes: number): Buffer {
  const buffer = Buffer.alloc(Math.min(maxBytes + 1, 1 << 16));
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const count = fs.readSync(fd, buffer, 0, buffer.length, null);
    if (count === 0) return Buffer.concat(chunks, total);
    total += count;
    if (total > maxBytes) throw new FileRefusedError(file, `is larger than ${sizeText(maxBytes)}`);
    chunks.push(Buffer.from(buffer.subarray(0, count)));
  }
}

/**
 * The content of a regular file named by a config (symlinks followed: /etc/resolv.conf
 * is often one), at most maxBytes. Opened non-blocking, so a FIFO cannot hang the open,
 * and checked with fstat on the opened fd, so what is read is what was checked.
 */
export function readRegularFile(file: string, maxBytes: number): Buffer {
  let opened: OpenedFile;
  try {
    opened = openRegular(file, fs.constants.O_RDONLY | fs.constants.O_NOCTTY);
  } catch (err) {
    if (err instanceof FileRefusedError) throw err;
    throw new FileRefusedError(file, `cannot open: ${(err as Error).message}`, errnoOf(err));
  }
  const { fd, stats } = opened;
  try {
    if (stats.size > BigInt(maxBytes))
      throw new FileRefusedError(file, `is larger than ${sizeText(maxBytes)} (${stats.size} bytes)`);
    return readAtMost(fd, file, maxBytes);
  } catch (err) {
    if (err instanceof FileRefusedError) throw err;
    throw new FileRefusedError(file, `cannot read: ${(err as Error).message}`, errnoOf(err));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A directory we keep files in (lock files): created 0700 when missing; refused when
 * the path is a symlink or not a directory, since a planted link would send our files
 * wherever it points.
 */
export function ensureOwnDirectory(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = fs.lstatSync(dir);
  if (!stat.isDirectory()) throw new FileRefusedError(dir, `is ${fileKind(stat)}, not a directory`);
}

/**
 * Opens (creating it 0600 when missing) a file we own and never read, like a lock file:
 * O_NOFOLLOW, so a dangling symlink there is refused instead of creating its target;
 * non-blocking, so a FIFO does not hang the open; a regular file required.
 */
export function openOwnFile(file: string, flags = fs.constants.O_RDWR): number {
  try {
    return openRegular(file, flags | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600).fd;
  } catch (err) {
    if (err instanceof FileRefusedError) throw err;
    const code = errnoOf(err);
    if (code === "ELOOP") throw new FileRefusedError(file, "is a symbolic link, not a regular file", code);
    if (code === "EISDIR") throw new FileRefusedError(file, "is a directory, not a regular file", code);
    throw new FileRefusedError(file, `cannot open: ${(err as Error).message}`, code);
  }
}

export { sizeText };
