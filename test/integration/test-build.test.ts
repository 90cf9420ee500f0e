// The crash and trace hooks (src/cni/test-hooks.ts) are compiled into the test build only:
// the shipped executable holds none of their names, the test build holds every one (so the
// search below would find them), and the two builds never pair a front end with the other's daemon.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { distBin, testBin } from "../helpers/exec";

const HOOKS = [
  "CNIKIT_TEST_CRASH_AFTER_STEP",
  "CNIKIT_TEST_TRACE_STEPS",
  "CNIKIT_TEST_CRASH_IN_LOCK",
  "CNIKIT_TEST_WORKER_CRASH",
];

const buildId = (dir: string): string => fs.readFileSync(path.join(dir, "BUILD_ID"), "utf8").trim();

describe("the shipped executable and the test build", () => {
  it("dist/bin/cnikit has no CNIKIT_TEST_ string in it", () => {
    const shipped = fs.readFileSync(path.join(distBin, "cnikit"));
    expect(shipped.length).toBeGreaterThan(1_000_000);
    expect(shipped.indexOf("CNIKIT_TEST_")).toBe(-1);
  });

  it("dist/test-bin/cnikit has every hook", () => {
    const testBuild = fs.readFileSync(path.join(testBin, "cnikit"));
    expect(HOOKS.filter((hook) => testBuild.indexOf(hook) === -1)).toEqual([]);
  });

  it("each has its own build id, in its executable and its front end", () => {
    expect(buildId(testBin)).not.toBe(buildId(distBin));
    for (const dir of [distBin, testBin]) {
      for (const file of ["cnikit", "cnikit-front"]) {
        expect(fs.readFileSync(path.join(dir, file)).indexOf(buildId(dir)), `${dir}/${file}`).toBeGreaterThan(-1);
      }
      expect(fs.readlinkSync(path.join(dir, "bridge"))).toBe("cnikit-front");
    }
  });
});
