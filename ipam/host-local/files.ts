// Every file host-local reads or writes in its data directory goes through here, so a
// name planted there by someone else cannot redirect, hang or flood a call:
// - no symlink is followed (O_NOFOLLOW; a new lease is O_EXCL, which never follows one);
// - opens are non-blocking, so a FIFO cannot hang the open, and the file must then be
//   a regular file (fstat), so a FIFO or device is never read or written;
// - a file written in place must have one link, so a hard link planted to a file
//   elsewhere on the filesystem is never truncated;
// - reads are bounded (MAX_DATA_FILE_BYTES).
// Failures are Node errno errors (the session turns them into code 5 naming the network)
// or a FileKindError naming the path and what it is. The open-and-fstat core is
// src/cni/safe-file.ts's openRegular; what is stricter here is added on top of it.
import * as fs from "node:fs";
import { FileRefusedError, type OpenedFile, fileKind, openRegular } from "../../src/cni/safe-file";

/** Lease, last_reserved_ip, index bucket and stamp files: a bucket at 10,000 leases is about 6 KB. */
export const MAX_DATA_FILE_BYTES = 1 << 20;

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

export class FileKindError extends Error {
  readonly code = "EFTYPE";
}

export function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

/** safe-file's openRegular without following a symlink: any link in the data directory is refused. */
function openDataFile(file: string, flags: number, mode = 0o644): OpenedFile {
  try {
    return openRegular(file, flags | O_NOFOLLOW, mode);
  } catch (err) {
    // Linux answers ELOOP for O_NOFOLLOW on a symlink, ENXIO for a reader-less FIFO opened to write.
    if (isErrno(err, "ELOOP")) throw new FileKindError(`${file} is a symbolic link; host-local never follows one`);
    if (isErrno(err, "ENXIO")) throw new FileKindError(`${file} is a FIFO, not a regular file`);
    if (err instanceof FileRefusedError) throw new FileKindError(`${file} ${err.what}`);
    throw err;
  }
}

/** The file's text and stat, or undefined when it does not exist. */
export function readDataFileStat(file: string): { text: string; stats: fs.BigIntStats } | undefined {
  let opened: OpenedFile;
  try {
    opened = openDataFile(file, O_RDONLY);
  } catch (err) {
    if (isErrno(err, "ENOENT")) return undefined;
    throw err;
  }
  try {
    const size = Number(opened.stats.size);
    if (size > MAX_DATA_FILE_BYTES) {
      throw new FileKindError(`${file} is ${size} bytes, over the ${MAX_DATA_FILE_BYTES}-byte limit`);
    }
    const buffer = Buffer.alloc(size);
    let length = 0;
    while (length < buffer.length) {
      const read = fs.readSync(opened.fd, buffer, length, buffer.length - length, length);
      if (read === 0) break;
      length += read;
    }
    return { text: buffer.toString("utf8", 0, length), stats: opened.stats };
  } finally {
    fs.closeSync(opened.fd);
  }
}

/** The file's text, or undefined when it does not exist. */
export function readDataFile(file: string): string | undefined {
  return readDataFileStat(file)?.text;
}

/**
 * Creates `file` with `content` (O_EXCL: the lease's atomic claim); its stat after the
 * write, or undefined when the file already exists.
 */
export function createDataFile(file: string, content: string): fs.BigIntStats | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK, 0o644);
  } catch (err) {
    if (isErrno(err, "EEXIST")) return undefined;
    throw err;
  }
  try {
    fs.writeSync(fd, content);
    return fs.fstatSync(fd, { bigint: true });
  } catch (err) {
    // ENOSPC/EDQUOT half-way: a short file would look like a lease nobody owns.
    fs.rmSync(file, { force: true });
    throw err;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Replaces a small file's content in place (created when missing). Not atomic against a
 * crash: every caller's file is either re-derivable (a torn `last_reserved_ip` only moves
 * the round-robin start) or guarded by the index stamp written after it. In place, because
 * a temporary file and a rename cost about 0.35 ms per file on this machine's ext4, against
 * 0.01 ms for an overwrite.
 */
export function overwriteDataFile(file: string, content: string): void {
  const { fd, stats } = openDataFile(file, O_WRONLY | O_CREAT);
  try {
    if (stats.nlink > 1)
      throw new FileKindError(`${file} has ${stats.nlink} hard links; host-local writes only its own files`);
    const bytes = Buffer.from(content);
    fs.writeSync(fd, bytes, 0, bytes.length, 0);
    // After the write, so a failed write (ENOSPC) leaves the old content, not an empty file.
    if (stats.size > BigInt(bytes.length)) fs.ftruncateSync(fd, bytes.length);
  } finally {
    fs.closeSync(fd);
  }
}

/** `dir` must be a directory itself: a symlink planted in its place would carry our files elsewhere. */
export function requireRealDirectory(dir: string): void {
  const stats = fs.lstatSync(dir);
  if (!stats.isDirectory()) {
    throw new FileKindError(`${dir} is ${fileKind(stats)}; host-local needs a directory of its own there`);
  }
}

/** Opens a lock file (created when missing) as a regular file of its own, without following a link. */
export function openLockFile(file: string): number {
  return openDataFile(file, O_RDONLY | O_CREAT, 0o600).fd;
}
