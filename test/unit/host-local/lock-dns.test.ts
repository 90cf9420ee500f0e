// host-local's two other files: the network lock (a bounded wait, never a hang) and
// resolvConf (a regular file of bounded size, symlinks followed).
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readResolvConf } from "../../../ipam/host-local/dns";
import { lockNetworkDir, lockWithin } from "../../../ipam/host-local/lock";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-hl-lock-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("the network lock", () => {
  it("waits within its bound for a lock another holder keeps, then answers code 11 naming it", () => {
    const release = lockNetworkDir(dir);
    // flock belongs to the open file: a second open of the same file is another holder.
    const other = fs.openSync(path.join(dir, "lock"), "r");
    try {
      const started = Date.now();
      expect(() => lockWithin(other, path.join(dir, "lock"), 300)).toThrow(
        expect.objectContaining({
          code: 11,
          message: expect.stringMatching(/lock .*\/lock: still held .* after 0.3 s/),
        }),
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      release();
      lockWithin(other, path.join(dir, "lock"), 300); // free now: taken at once
    } finally {
      fs.closeSync(other);
    }
  });

  it("is taken as soon as another process lets go of it", () => {
    const file = path.join(dir, "lock");
    fs.writeFileSync(file, "");
    const hold =
      "import fcntl, sys, time\nf = open(sys.argv[1])\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(0.3)";
    const holder = spawn("python3", ["-c", hold, file], { stdio: ["ignore", "pipe", "inherit"] });
    return new Promise<void>((resolve, reject) => {
      holder.stdout.once("data", () => {
        try {
          const started = Date.now();
          lockNetworkDir(dir)();
          expect(Date.now() - started).toBeGreaterThan(100); // it did wait for the holder
          resolve();
        } catch (err) {
          reject(err);
        }
      });
    });
  });
});

describe("resolvConf", () => {
  it("reads a resolv.conf through a symlink", () => {
    fs.writeFileSync(path.join(dir, "real.conf"), "nameserver 10.0.0.53\nsearch example.test\n");
    fs.symlinkSync(path.join(dir, "real.conf"), path.join(dir, "resolv.conf"));
    expect(readResolvConf(path.join(dir, "resolv.conf"))).toEqual({
      nameservers: ["10.0.0.53"],
      search: ["example.test"],
    });
  });

  it("refuses a FIFO at once, a directory, /dev/zero and an oversize file, naming the path (code 5)", () => {
    const fifo = path.join(dir, "fifo.conf");
    execFileSync("mkfifo", [fifo]);
    const big = path.join(dir, "big.conf");
    fs.writeFileSync(big, `# ${"x".repeat(70_000)}\n`);
    for (const [file, what] of [
      [fifo, /is a FIFO/],
      [dir, /is a directory/],
      ["/dev/zero", /is a character device/],
      [big, /larger than 64 KiB/],
    ] as const) {
      expect(() => readResolvConf(file)).toThrow(
        expect.objectContaining({ code: 5, message: expect.stringMatching(what) }),
      );
      expect(() => readResolvConf(file)).toThrow(file);
    }
  });
});
