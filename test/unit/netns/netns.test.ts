// Namespace path checks that need no root: our own namespace file, and things that are not one.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NetnsError, isNetnsMissing } from "../../../src/netns/errors";
import { checkNetnsPath, currentNetnsPath, namedNetnsPath, sameNetns } from "../../../src/netns/netns";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "cknetns-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof NetnsError) return err.code;
    throw err;
  }
  return undefined;
}

describe("checkNetnsPath", () => {
  it("accepts our own namespace file", () => {
    expect(codeOf(() => checkNetnsPath(currentNetnsPath()))).toBeUndefined();
    expect(codeOf(() => checkNetnsPath("/proc/self/ns/net"))).toBeUndefined();
  });

  it("says why a path is not usable", () => {
    const file = path.join(scratch, "file");
    fs.writeFileSync(file, "");
    expect(codeOf(() => checkNetnsPath(path.join(scratch, "missing")))).toBe("ENOENT");
    expect(codeOf(() => checkNetnsPath(path.join(file, "below-a-file")))).toBe("ENOENT");
    expect(codeOf(() => checkNetnsPath(file))).toBe("ENOTNETNS");
    expect(codeOf(() => checkNetnsPath(scratch))).toBe("ENOTNETNS");
    let caught: unknown;
    try {
      checkNetnsPath(path.join(scratch, "missing"));
    } catch (err) {
      caught = err;
    }
    expect(isNetnsMissing(caught)).toBe(true);
  });
});

describe("sameNetns", () => {
  it("our thread's namespace is our process's", () => {
    expect(sameNetns(currentNetnsPath(), "/proc/self/ns/net")).toBe(true);
  });

  it("refuses to compare something that is not a namespace", () => {
    expect(() => sameNetns(scratch, currentNetnsPath())).toThrow(NetnsError);
  });

  it("named paths live under /run/netns", () => {
    expect(namedNetnsPath("ab")).toBe("/run/netns/ab");
  });
});
