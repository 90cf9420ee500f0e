// The disk store in a temp directory: the reference's layout, atomic exclusive writes,
// and the attachment index (trusted while current, rebuilt when stale or missing).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AttachmentIndex, INDEX_DIR_NAME, INDEX_STAMP_NAME } from "../../../ipam/host-local/disk-index";
import { networkDirOf, openDiskStore } from "../../../ipam/host-local/disk-store";
import type { StoreSession } from "../../../ipam/host-local/store";
import { c1, c2 } from "./ranges";

let dataDir: string;
let networkDir: string;

function withStore<T>(body: (store: StoreSession) => T): T {
  const store = openDiskStore({ dataDir, network: "net1" });
  try {
    return body(store);
  } finally {
    store.close();
  }
}

/** What the Go reference does to the directory: plain files, no index, no stamp. */
function writeLikeReference(address: string, content: string): void {
  fs.writeFileSync(path.join(networkDir, address), content);
}

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-hl-"));
  networkDir = path.join(dataDir, "net1");
});
afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe("disk store layout (identical to the reference)", () => {
  it("writes <address> = '<id>\\r\\n<ifname>', last_reserved_ip.<n> and a lock file", () => {
    withStore((store) => {
      expect(store.reserve({ address: "10.1.0.2", attachment: c1 }, 0)).toBe(true);
      expect(store.reserve({ address: "fd00::2", attachment: c1 }, 1)).toBe(true);
    });
    expect(fs.readFileSync(path.join(networkDir, "10.1.0.2"), "utf8")).toBe("c1\r\neth0");
    expect(fs.readFileSync(path.join(networkDir, "fd00::2"), "utf8")).toBe("c1\r\neth0");
    expect(fs.readFileSync(path.join(networkDir, "last_reserved_ip.0"), "utf8")).toBe("10.1.0.2");
    expect(fs.readFileSync(path.join(networkDir, "last_reserved_ip.1"), "utf8")).toBe("fd00::2");
    expect(fs.readdirSync(networkDir).sort()).toEqual([
      "10.1.0.2",
      "fd00::2",
      "last_reserved_ip.0",
      "last_reserved_ip.1",
      "lock",
    ]);
    expect(fs.statSync(path.join(networkDir, "10.1.0.2")).mode & 0o022).toBe(0);
  });

  it("reclaims an empty lease file (a process killed between the exclusive create and the write), index current or stale", () => {
    withStore((store) => expect(store.reserve({ address: "10.1.0.2", attachment: c1 }, 0)).toBe(true));
    // What a SIGKILL right after the O_EXCL create leaves: the file, empty, and no index update.
    fs.writeFileSync(path.join(networkDir, "10.1.0.3"), "");
    withStore((store) => {
      expect(store.leases().map((lease) => lease.address)).toEqual(["10.1.0.2"]);
      expect(store.reserve({ address: "10.1.0.3", attachment: c2 }, 0)).toBe(true);
    });
    expect(fs.readFileSync(path.join(networkDir, "10.1.0.3"), "utf8")).toBe("c2\r\neth0");
    // And on a full rebuild (no index at all).
    fs.writeFileSync(path.join(networkDir, "10.1.0.4"), "");
    fs.rmSync(path.join(dataDir, INDEX_DIR_NAME), { recursive: true, force: true });
    withStore((store) => expect(store.reserve({ address: "10.1.0.4", attachment: c1 }, 0)).toBe(true));
    expect(fs.existsSync(path.join(networkDir, "10.1.0.4"))).toBe(true);
  });

  it("never overwrites a lease, whoever wrote it", () => {
    fs.mkdirSync(networkDir, { recursive: true });
    writeLikeReference("10.1.0.2", "other\r\neth0");
    withStore((store) => expect(store.reserve({ address: "10.1.0.2", attachment: c1 }, 0)).toBe(false));
    expect(fs.readFileSync(path.join(networkDir, "10.1.0.2"), "utf8")).toBe("other\r\neth0");
  });

  it("refuses planted files: a symlinked network directory, a FIFO or symlink for last_reserved_ip or the lock", () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-hl-elsewhere-"));
    try {
      fs.symlinkSync(elsewhere, networkDir);
      expect(() => withStore(() => undefined)).toThrow(/net1 is a symbolic link/);
      fs.rmSync(networkDir);
      fs.mkdirSync(networkDir);
      fs.symlinkSync(path.join(elsewhere, "lock"), path.join(networkDir, "lock"));
      expect(() => withStore(() => undefined)).toThrow(/lock is a symbolic link/);
      expect(fs.existsSync(path.join(elsewhere, "lock"))).toBe(false);
      fs.rmSync(path.join(networkDir, "lock"));
      execFileSync("mkfifo", [path.join(networkDir, "last_reserved_ip.0")]);
      expect(() => withStore((store) => store.lastReserved(0))).toThrow(/last_reserved_ip.0 is a FIFO/);
      expect(() => withStore((store) => store.reserve({ address: "10.1.0.2", attachment: c1 }, 0))).toThrow(
        /last_reserved_ip.0 is a FIFO/,
      );
      expect(fs.existsSync(path.join(networkDir, "10.1.0.2"))).toBe(false);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it("a leftover temporary file is never a lease and is cleaned up", () => {
    fs.mkdirSync(networkDir, { recursive: true });
    fs.writeFileSync(path.join(networkDir, ".cnikit-tmp.1.abc"), "c1\r\neth0");
    withStore((store) => expect(store.leases()).toEqual([]));
    expect(fs.readdirSync(networkDir)).not.toContain(".cnikit-tmp.1.abc");
  });

  it("reads leases the reference wrote, including old id-only ones and truncated ones", () => {
    fs.mkdirSync(networkDir, { recursive: true });
    writeLikeReference("10.1.0.2", "c1\r\neth0");
    writeLikeReference("10.1.0.3", "c2"); // written by an old reference: any interface of c2
    writeLikeReference("10.1.0.4", ""); // empty: left by a writer killed mid-lease (both write under the lock), reclaimed
    writeLikeReference("010.1.0.5", "c1\r\neth0"); // not how Go names 10.1.0.5: not a lease
    withStore((store) => {
      expect(store.addressesOf(c1)).toEqual(["10.1.0.2"]);
      expect(store.addressesOf({ containerId: "c2", ifName: "net5" })).toEqual(["10.1.0.3"]);
      expect(store.reserve({ address: "10.1.0.4", attachment: c1 }, 0)).toBe(true);
      expect(store.release(c2)).toEqual(["10.1.0.3"]);
    });
    expect(fs.existsSync(path.join(networkDir, "10.1.0.3"))).toBe(false);
  });

  it("release is idempotent", () => {
    withStore((store) => store.reserve({ address: "10.1.0.2", attachment: c1 }, 0));
    expect(withStore((store) => store.release(c1))).toEqual(["10.1.0.2"]);
    expect(withStore((store) => store.release(c1))).toEqual([]);
  });

  it("refuses a network name that would leave the data directory", () => {
    expect(() => networkDirOf({ dataDir, network: "../escape" })).toThrow(/would leave the data directory/);
    expect(() => networkDirOf({ dataDir, network: ".." })).toThrow(/would leave the data directory/);
  });
});

describe("attachment index", () => {
  const stampFile = () => path.join(dataDir, INDEX_DIR_NAME, "net1", INDEX_STAMP_NAME);

  it("is trusted while the directory's mtime is the one it recorded", () => {
    withStore((store) => store.reserve({ address: "10.1.0.2", attachment: c1 }, 0));
    const recorded = fs.statSync(networkDir);
    // A lease sneaked in with the mtime put back is invisible: proof the index, not a scan, answered.
    writeLikeReference("10.1.0.9", "c1\r\neth0");
    fs.utimesSync(networkDir, recorded.atime, recorded.mtime);
    const stamp = JSON.parse(fs.readFileSync(stampFile(), "utf8")) as { mtimeNs: string };
    fs.writeFileSync(
      stampFile(),
      JSON.stringify({ ...stamp, mtimeNs: String(fs.statSync(networkDir, { bigint: true }).mtimeNs) }),
    );
    expect(withStore((store) => store.addressesOf(c1))).toEqual(["10.1.0.2"]);
  });

  it("is rebuilt when another process changed the directory", () => {
    withStore((store) => store.reserve({ address: "10.1.0.2", attachment: c1 }, 0));
    writeLikeReference("10.1.0.9", "c1\r\neth0");
    expect(withStore((store) => store.addressesOf(c1)).sort()).toEqual(["10.1.0.2", "10.1.0.9"]);
    fs.rmSync(path.join(networkDir, "10.1.0.2"));
    expect(withStore((store) => store.addressesOf(c1))).toEqual(["10.1.0.9"]);
  });

  it("is rebuilt when missing", () => {
    withStore((store) => store.reserve({ address: "10.1.0.2", attachment: c1 }, 0));
    fs.rmSync(path.join(dataDir, INDEX_DIR_NAME), { recursive: true });
    expect(withStore((store) => store.addressesOf(c1))).toEqual(["10.1.0.2"]);
    expect(fs.existsSync(stampFile())).toBe(true);
  });

  it("is rebuilt when it contradicts a lease file", () => {
    withStore((store) => {
      store.reserve({ address: "10.1.0.2", attachment: c1 }, 0);
      store.reserve({ address: "10.1.0.3", attachment: c2 }, 0);
    });
    // Swap the owners while keeping the mtime: the index now lies, the files say otherwise.
    const recorded = fs.statSync(networkDir);
    fs.writeFileSync(path.join(networkDir, "10.1.0.2"), "c2\r\neth0");
    fs.writeFileSync(path.join(networkDir, "10.1.0.3"), "c1\r\neth0");
    fs.utimesSync(networkDir, recorded.atime, recorded.mtime);
    expect(withStore((store) => store.addressesOf(c1))).toEqual(["10.1.0.3"]);
  });

  it("stays consistent over many reserve/release sessions", () => {
    for (let n = 0; n < 20; n++) {
      withStore((store) =>
        store.reserve({ address: `10.1.0.${n + 2}`, attachment: { containerId: `c${n}`, ifName: "eth0" } }, 0),
      );
    }
    for (let n = 0; n < 20; n += 2) withStore((store) => store.release({ containerId: `c${n}`, ifName: "eth0" }));
    withStore((store) => {
      expect(store.leases()).toHaveLength(10);
      expect(store.addressesOf({ containerId: "c3", ifName: "eth0" })).toEqual(["10.1.0.5"]);
      expect(store.addressesOf({ containerId: "c4", ifName: "eth0" })).toEqual([]);
    });
  });
});

describe("attachment index rebuild after an outside change", () => {
  const indexDir = () => path.join(dataDir, INDEX_DIR_NAME, "net1");
  const attachment = (n: number) => ({ containerId: `c${n}`, ifName: "eth0" });
  const OLD = new Date("2020-01-01T00:00:00Z");
  /** Index file name -> mtime, after every file was dated OLD: a rewritten file has a newer one. */
  const ageIndexFiles = () => {
    for (const name of fs.readdirSync(indexDir())) fs.utimesSync(path.join(indexDir(), name), OLD, OLD);
  };
  const indexFiles = () =>
    new Map(fs.readdirSync(indexDir()).map((name) => [name, fs.statSync(path.join(indexDir(), name)).mtimeMs]));

  beforeEach(() => {
    withStore((store) => {
      for (let n = 0; n < 100; n++) store.reserve({ address: `10.1.0.${n}`, attachment: attachment(n) }, 0);
    });
  });

  it("keeps few files and rewrites only the buckets that differ", () => {
    // c0..c99 spread over many buckets: an outsider in a bucket of its own would prove nothing.
    const outsider = { containerId: "c5", ifName: "net1" };
    ageIndexFiles();
    const before = indexFiles();
    expect(before.size).toBeGreaterThan(20);
    expect(before.size).toBeLessThanOrEqual(65); // buckets and the stamp, not one file per attachment
    writeLikeReference("10.1.9.9", "c5\r\nnet1");
    expect(withStore((store) => store.addressesOf(outsider))).toEqual(["10.1.9.9"]);
    const after = indexFiles();
    const rewritten = [...after].filter(([name, mtime]) => name !== INDEX_STAMP_NAME && before.get(name) !== mtime);
    expect(rewritten).toHaveLength(1);
    expect(after.size).toBe(before.size);
    expect(withStore((store) => store.addressesOf(attachment(23)))).toEqual(["10.1.0.23"]);
  });

  it("removes what is not its own: an emptied bucket, a torn file, an earlier version's entries and stamp", () => {
    fs.writeFileSync(path.join(indexDir(), "stamp"), "{}");
    fs.writeFileSync(path.join(indexDir(), "0123456789abcdef0123456789abcdef01234567"), "{}");
    fs.writeFileSync(path.join(indexDir(), "ab.tmp"), '{"c1\\neth0":');
    for (let n = 0; n < 100; n++) fs.rmSync(path.join(networkDir, `10.1.0.${n}`));
    expect(withStore((store) => store.addressesOf(attachment(7)))).toEqual([]);
    expect(fs.readdirSync(indexDir())).toEqual([INDEX_STAMP_NAME]);
  });

  it("rewrites a torn bucket", () => {
    for (const name of fs.readdirSync(indexDir())) {
      if (name !== INDEX_STAMP_NAME) fs.writeFileSync(path.join(indexDir(), name), '{"torn');
    }
    writeLikeReference("10.1.9.9", "outsider\r\neth0");
    withStore((store) => store.addressesOf(attachment(0)));
    fs.rmSync(path.join(networkDir, "10.1.9.9")); // stale again, without losing the torn files' repair
    expect(withStore((store) => store.release(attachment(42)))).toEqual(["10.1.0.42"]);
    expect(withStore((store) => store.addressesOf(attachment(99)))).toEqual(["10.1.0.99"]);
  });

  it("refreshes after an outside change by reading only the lease files that are new or changed", () => {
    const statOf = (name: string) => fs.statSync(path.join(networkDir, name), { bigint: true });
    // Leases older than the last stamp are trusted by identity: date the stamp as a later call would see it.
    const stampFile = path.join(indexDir(), INDEX_STAMP_NAME);
    const stamp = JSON.parse(fs.readFileSync(stampFile, "utf8")) as { writtenAtMs: number };
    fs.writeFileSync(stampFile, JSON.stringify({ ...stamp, writtenAtMs: Date.now() + 60_000 }));
    const file = (name: string) => ({
      identity: `${statOf(name).ino}.${statOf(name).mtimeNs / 1_000_000n}`,
      mtimeMs: Number(statOf(name).mtimeMs),
    });
    writeLikeReference("10.1.9.9", "outsider\r\neth0");
    // 10.1.0.7 removed and made again for another owner: a new identity, so it is read again.
    fs.rmSync(path.join(networkDir, "10.1.0.7"));
    writeLikeReference("10.1.0.7", "newcomer\r\neth0");
    fs.rmSync(path.join(networkDir, "10.1.0.8"));
    const files = new Map(
      fs
        .readdirSync(networkDir)
        .filter((name) => name.startsWith("10."))
        .map((name) => [name, file(name)]),
    );
    const read: string[] = [];
    const index = AttachmentIndex.forNetwork(dataDir, "net1");
    expect(index.isCurrent(fs.statSync(networkDir, { bigint: true }))).toBe(false); // reads the stamp's time
    const refreshed = index.refresh(files, (address) => {
      read.push(address);
      const [containerId = "", ifName = ""] = fs.readFileSync(path.join(networkDir, address), "utf8").split("\r\n");
      return { containerId, ifName };
    });
    expect(refreshed).toBe(true);
    expect(read.sort()).toEqual(["10.1.0.7", "10.1.9.9"]);
    expect(index.get({ containerId: "newcomer", ifName: "eth0" })).toEqual(["10.1.0.7"]);
    expect(index.get(attachment(7))).toEqual([]);
    expect(index.get(attachment(8))).toEqual([]);
    expect(index.get(attachment(9))).toEqual(["10.1.0.9"]);
  });

  it("a lease file changed within a clock tick of the last stamp (identity unchanged) is read again", () => {
    const lease = path.join(networkDir, "10.1.0.7");
    const before = fs.statSync(lease);
    fs.writeFileSync(lease, "newcomer\r\neth0");
    fs.utimesSync(lease, before.atime, before.mtime); // same inode, same mtime: what a coarse clock can produce
    writeLikeReference("10.1.9.9", "outsider\r\neth0"); // the directory changes: the stamp is stale
    expect(withStore((store) => store.addressesOf({ containerId: "newcomer", ifName: "eth0" }))).toEqual(["10.1.0.7"]);
  });

  it("a lease removed and made again for another container by an outside writer: the new owner's DEL releases it", () => {
    fs.rmSync(path.join(networkDir, "10.1.0.7"));
    writeLikeReference("10.1.0.7", "newcomer\r\neth0");
    expect(withStore((store) => store.release({ containerId: "newcomer", ifName: "eth0" }))).toEqual(["10.1.0.7"]);
    expect(fs.existsSync(path.join(networkDir, "10.1.0.7"))).toBe(false);
    expect(withStore((store) => store.addressesOf(attachment(7)))).toEqual([]);
  });

  it("a bucket that is not the one its stamp names is not believed (torn, replaced, half a rebuild)", () => {
    const index = AttachmentIndex.forNetwork(dataDir, "net1");
    expect(index.isCurrent(fs.statSync(networkDir, { bigint: true }))).toBe(true);
    // Every bucket replaced by valid JSON that lies (no attachments), the stamp and mtime untouched.
    for (const name of fs.readdirSync(indexDir())) {
      if (name !== INDEX_STAMP_NAME) fs.writeFileSync(path.join(indexDir(), name), "{}");
    }
    expect(withStore((store) => store.release(attachment(42)))).toEqual(["10.1.0.42"]);
    expect(fs.existsSync(path.join(networkDir, "10.1.0.42"))).toBe(false);
    expect(withStore((store) => store.addressesOf(attachment(99)))).toEqual(["10.1.0.99"]);
  });

  it("a bucket planted as a symlink, FIFO or directory is replaced, never followed", () => {
    const outside = path.join(dataDir, "outside");
    fs.writeFileSync(outside, "keep");
    const names = [...indexFiles().keys()].filter((name) => name !== INDEX_STAMP_NAME).sort();
    const [linked, fifo, dir] = names.map((name) => path.join(indexDir(), name));
    fs.rmSync(linked ?? "");
    fs.symlinkSync(outside, linked ?? "");
    fs.rmSync(fifo ?? "");
    execFileSync("mkfifo", [fifo ?? ""]);
    fs.rmSync(dir ?? "");
    fs.mkdirSync(path.join(dir ?? "", "in-the-way"), { recursive: true });
    writeLikeReference("10.1.9.9", "outsider\r\neth0"); // stale: the next call rebuilds
    for (let n = 0; n < 100; n += 7)
      expect(withStore((store) => store.addressesOf(attachment(n)))).toEqual([`10.1.0.${n}`]);
    expect(fs.readFileSync(outside, "utf8")).toBe("keep");
    for (const file of [linked, fifo, dir]) expect(fs.lstatSync(file ?? "").isFile()).toBe(true);
  });

  it("a session's index changes are written once, at close", () => {
    withStore((store) => {
      for (let n = 0; n < 100; n += 3) store.release(attachment(n));
      expect(store.addressesOf(attachment(3))).toEqual([]);
      expect(store.addressesOf(attachment(4))).toEqual(["10.1.0.4"]);
    });
    withStore((store) => {
      expect(store.addressesOf(attachment(96))).toEqual([]);
      expect(store.addressesOf(attachment(97))).toEqual(["10.1.0.97"]);
    });
  });
});
