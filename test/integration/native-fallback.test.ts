// The compiled executable carries its addon and extracts it to $TMPDIR to load it.
// Where $TMPDIR is mounted noexec that fails, and the copy installed beside the
// executable must be used instead. The noexec mount lives in a private mount
// namespace of the test's own shell (unshare -m), so the host sees nothing of it.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture } from "../../netns-fixtures";
import { distBin } from "../helpers/exec";

const fixture = new NetnsFixture();
let container: { path: string };
let scratch: string;

beforeAll(() => {
  container = fixture.containerNetns();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-noexec-"));
});

afterAll(() => {
  fixture.cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** DEL of an L2-only bridge attachment opens netlink sockets, so it needs the addon. */
function delWithNoexecTmp(binDir: string): { status: number | null; stdout: string } {
  const tmp = path.join(scratch, "tmp");
  fs.mkdirSync(tmp, { recursive: true });
  const script = `mount -t tmpfs -o noexec,size=4m tmpfs "$NOEXEC_TMP" || exit 90; exec "$PLUGIN"`;
  const run = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", script], {
    input: JSON.stringify({ cniVersion: "1.0.0", name: "noexec", type: "bridge", bridge: "cknx0", ipam: {} }),
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      NOEXEC_TMP: tmp,
      TMPDIR: tmp,
      PLUGIN: path.join(binDir, "bridge"),
      CNI_COMMAND: "DEL",
      CNI_CONTAINERID: "noexec-test",
      CNI_NETNS: container.path,
      CNI_IFNAME: "eth0",
      CNI_PATH: binDir,
    },
    encoding: "utf8",
  });
  return { status: run.status, stdout: run.stdout };
}

describe("native addon with a noexec $TMPDIR", () => {
  it("loads the copy beside the executable", () => {
    const run = delWithNoexecTmp(distBin);
    expect(run).toEqual({ status: 0, stdout: "" });
  });

  it("says which copies it tried when there is none beside the executable", () => {
    const lonely = path.join(scratch, "bin");
    fs.mkdirSync(lonely, { recursive: true });
    fs.copyFileSync(path.join(distBin, "cnikit"), path.join(lonely, "cnikit"));
    fs.chmodSync(path.join(lonely, "cnikit"), 0o755);
    fs.symlinkSync("cnikit", path.join(lonely, "bridge"));
    const run = delWithNoexecTmp(lonely);
    expect(run.status).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      code: 999,
      msg: expect.stringContaining(path.join(lonely, "cnikit.node")),
    });
  });
});
