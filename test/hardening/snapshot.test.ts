// The host snapshot judges what the test's own calls can touch, and only that: a leftover
// of another suite or another tree's run in /run/cnikit leaves it equal, while a file of
// ours (a lock file of this host, a file in the dataDir or a directory the test handed
// out, a file named after this host anywhere under /run/cnikit, a namespace of the
// fixture) makes it differ. No plugin runs here: the files are made by hand.
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LOCK_DIR, lockFilePath } from "../../src/plugin/lock-layout";
import { hostSuite } from "../helpers/host-suite";
import { netnsInode, snapshotHost } from "./snapshot";

const suite = hostSuite({ name: "snap", scratch: ["own"] });
const { dataDir, fixture } = suite;
const planted = suite.scratchDir("own");

beforeAll(() => {
  fs.mkdirSync(DEFAULT_LOCK_DIR, { recursive: true });
});

function snapshot() {
  return snapshotHost({ ...suite.snapshotTarget(), contents: true });
}

/** Whether the snapshot after `make` differs from the one before; `make` returns what to remove afterwards, if anything. */
function differsAfter(make: () => string | undefined): boolean {
  const before = snapshot();
  const made = make();
  try {
    return JSON.stringify(snapshot()) !== JSON.stringify(before);
  } finally {
    if (made !== undefined) fs.rmSync(made, { recursive: true, force: true });
  }
}

function writeFile(file: string, content = ""): string {
  fs.writeFileSync(file, content);
  return file;
}

describe("host snapshot scope", () => {
  it("ignores what other suites and runs leave in /run/cnikit", () => {
    // What the lab tests make (and a failed one leaves), and another namespace's lock file.
    expect(differsAfter(() => fs.mkdtempSync("/run/cnikit/test-labs-"))).toBe(false);
    const foreignLock = lockFilePath(DEFAULT_LOCK_DIR, netnsInode(suite.host.path) + 1_000_000, "bridge-hzsnap");
    expect(differsAfter(() => writeFile(foreignLock))).toBe(false);
  });

  it("sees a new lock file of this host, and a changed one", () => {
    const file = lockFilePath(DEFAULT_LOCK_DIR, netnsInode(suite.host.path), "bridge-hzsnap");
    expect(differsAfter(() => writeFile(file))).toBe(true);
    writeFile(file);
    try {
      expect(differsAfter(() => void writeFile(file, "held\n"))).toBe(true);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it("sees a file in the dataDir or in a directory the test handed out", () => {
    const networkDir = path.join(dataDir, "hz-net");
    expect(
      differsAfter(() => {
        fs.mkdirSync(networkDir);
        writeFile(path.join(networkDir, "10.0.0.9"), "hzsnap\neth0");
        return networkDir;
      }),
    ).toBe(true);
    expect(differsAfter(() => writeFile(path.join(planted, "tmp.1")))).toBe(true);
  });

  it("sees a file named after this host or this fixture anywhere under /run/cnikit", () => {
    expect(differsAfter(() => writeFile(`/run/cnikit/${netnsInode(suite.host.path)}-bridge-hzsnap.lock`))).toBe(true);
    const labDir = fs.mkdtempSync("/run/cnikit/test-labs-");
    try {
      expect(differsAfter(() => writeFile(path.join(labDir, `${fixture.prefix}h1.json`), "{}"))).toBe(true);
    } finally {
      fs.rmSync(labDir, { recursive: true, force: true });
    }
  });

  it("sees a namespace of the fixture appear (the fixture deletes it)", () => {
    expect(differsAfter(() => void fixture.containerNetns())).toBe(true);
  });
});
