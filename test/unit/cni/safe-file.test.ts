import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  FileRefusedError,
  ensureOwnDirectory,
  openOwnFile,
  openRegular,
  readRegularFile,
} from "../../../src/cni/safe-file";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-safe-file-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function refusal(body: () => unknown): FileRefusedError {
  try {
    body();
  } catch (err) {
    if (err instanceof FileRefusedError) return err;
    throw err;
  }
  throw new Error("not refused");
}

describe("readRegularFile", () => {
  it("reads a regular file, through a symlink too", () => {
    fs.writeFileSync(path.join(dir, "f"), "hello");
    fs.symlinkSync(path.join(dir, "f"), path.join(dir, "link"));
    expect(readRegularFile(path.join(dir, "link"), 10).toString()).toBe("hello");
  });

  it("refuses a FIFO without hanging, a directory, a device and a file over the bound", () => {
    const fifo = path.join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    expect(refusal(() => readRegularFile(fifo, 10)).what).toBe("is a FIFO, not a regular file");
    expect(refusal(() => readRegularFile(dir, 10)).what).toBe("is a directory, not a regular file");
    expect(refusal(() => readRegularFile("/dev/zero", 10)).what).toBe("is a character device, not a regular file");
    fs.writeFileSync(path.join(dir, "big"), "x".repeat(11));
    expect(refusal(() => readRegularFile(path.join(dir, "big"), 10)).what).toMatch(/^is larger than 10 bytes/);
    const missing = refusal(() => readRegularFile(path.join(dir, "none"), 10));
    expect(missing.errno).toBe("ENOENT");
    expect(missing.message).toContain(path.join(dir, "none"));
  });
});

describe("openRegular, the core the openers (host-local's too) build on", () => {
  it("gives the fd and its bigint stat; a FIFO is refused without hanging and closed; a failed open is the system's error", () => {
    const file = path.join(dir, "f");
    fs.writeFileSync(file, "abc");
    const opened = openRegular(file, fs.constants.O_RDONLY);
    try {
      expect(opened.stats.size).toBe(3n);
      expect(opened.stats.ino).toBe(BigInt(fs.statSync(file).ino));
    } finally {
      fs.closeSync(opened.fd);
    }
    const fifo = path.join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    const before = fs.readdirSync("/proc/self/fd").length;
    expect(refusal(() => openRegular(fifo, fs.constants.O_RDONLY)).what).toBe("is a FIFO, not a regular file");
    expect(fs.readdirSync("/proc/self/fd").length).toBe(before);
    expect(() => openRegular(path.join(dir, "none"), fs.constants.O_RDONLY)).toThrow(
      expect.objectContaining({ code: "ENOENT" }),
    );
  });
});

describe("openOwnFile and ensureOwnDirectory", () => {
  it("creates a file 0600, and refuses a dangling symlink without creating its target", () => {
    const fd = openOwnFile(path.join(dir, "lock"));
    fs.closeSync(fd);
    expect(fs.statSync(path.join(dir, "lock")).mode & 0o777).toBe(0o600);
    fs.symlinkSync(path.join(dir, "target"), path.join(dir, "dangling"));
    expect(refusal(() => openOwnFile(path.join(dir, "dangling"))).what).toBe("is a symbolic link, not a regular file");
    expect(fs.existsSync(path.join(dir, "target"))).toBe(false);
  });

  it("refuses a directory and a FIFO where the file should be", () => {
    fs.mkdirSync(path.join(dir, "d"));
    execFileSync("mkfifo", [path.join(dir, "fifo")]);
    expect(refusal(() => openOwnFile(path.join(dir, "d"))).what).toBe("is a directory, not a regular file");
    expect(refusal(() => openOwnFile(path.join(dir, "fifo"))).what).toBe("is a FIFO, not a regular file");
  });

  it("refuses a symlink as the directory", () => {
    fs.mkdirSync(path.join(dir, "real"));
    fs.symlinkSync(path.join(dir, "real"), path.join(dir, "locks"));
    expect(refusal(() => ensureOwnDirectory(path.join(dir, "locks"))).what).toBe("is a symbolic link, not a directory");
    ensureOwnDirectory(path.join(dir, "new", "locks"));
    expect(fs.statSync(path.join(dir, "new", "locks")).isDirectory()).toBe(true);
  });
});
