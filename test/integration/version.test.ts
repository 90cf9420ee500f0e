// The built executable says which build it is: the package version and the commit it was
// built from, in `cnikit --version` and in every plugin's about line (no CNI_COMMAND).
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { distBin } from "../helpers/exec";

const root = path.join(__dirname, "..", "..");
const { version } = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version: string };
const escaped = version.replace(/\./g, "\\.");
const versionText = new RegExp(`^${escaped} \\(commit ([0-9a-f]{12})(-dirty)?\\)$`);

/** The commit must be one this repository has, not a made-up or "unknown" one. */
function expectKnownCommit(commit: string | undefined): void {
  expect(commit).toBeDefined();
  expect(() => execFileSync("git", ["-C", root, "cat-file", "-e", `${commit}^{commit}`])).not.toThrow();
}

describe("the build's version", () => {
  it("cnikit --version prints the package version and the commit", () => {
    const out = execFileSync(path.join(distBin, "cnikit"), ["--version"], { encoding: "utf8" }).trim();
    const match = versionText.exec(out);
    expect(match, out).not.toBeNull();
    expectKnownCommit(match?.[1]);
  });

  it.each(["bridge", "veth", "vxlan-overlay", "host-local"])("%s's about line carries the same", (plugin) => {
    const run = spawnSync(path.join(distBin, plugin), [], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } });
    expect(run.status).toBe(0);
    const line = run.stderr.trim();
    const match = new RegExp(`^CNI ${plugin} plugin v(.+); CNI protocol versions supported: `).exec(line);
    expect(match, line).not.toBeNull();
    const about = versionText.exec(match?.[1] ?? "");
    expect(about, line).not.toBeNull();
    expectKnownCommit(about?.[1]);
  });
});
