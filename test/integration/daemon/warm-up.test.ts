// The daemon's warm-up (src/daemon/warm-up.ts): its first two workers run ADD/DEL pairs in
// unnamed namespaces of their own before the daemon listens. Nothing of the host is
// touched, calls made meanwhile run standalone, a SIGTERM ends it, and the warm-up calls
// are not counted as requests. (Starts its own daemons: standalone project only.)
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type Netns, NetnsFixture, daemonMode, links } from "../../../netns-fixtures";
import { startDaemon, stopDaemonPid } from "../../../netns-fixtures/daemons";
import { distBin } from "../../helpers/exec";
import { failures, runInHost } from "../../hardening/harness";

const fixture = new NetnsFixture();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-wu-"));
const logFiles: string[] = [];

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

function events(logFile: string): Array<Record<string, unknown>> {
  return fs
    .readFileSync(logFile, "utf8")
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The warm-up's scratch directories of daemon `pid` (src/daemon/warm-up.ts names them by pid). */
function scratchOf(pid: number): string[] {
  return fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith(`cnikit-warm-up-${pid}-`));
}

function bridgeCall(host: Netns, command: "ADD" | "DEL" | "VERSION", container?: Netns) {
  return runInHost({
    hostNetns: host.path,
    plugin: "bridge",
    command,
    config: {
      cniVersion: "1.0.0",
      name: "wunet",
      type: "bridge",
      bridge: "wubr0",
      isGateway: true,
      ipam: { type: "host-local", dataDir, subnet: "10.72.0.0/24" },
    },
    containerId: "wu1",
    containerNetns: container?.path,
    timeoutMs: 30_000,
  });
}

describe.skipIf(daemonMode())("cnikit daemon warm-up", () => {
  afterAll(() => {
    try {
      fixture.cleanup();
    } finally {
      for (const file of logFiles) fs.rmSync(file, { force: true });
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("warms its first two workers up in namespaces of its own, then listens; the host is untouched", async () => {
    const host = fixture.hostNetns();
    const daemon = startDaemon(fixture.prefix, host.name, ["--warm-up", "3"]);
    logFiles.push(daemon.logFile);
    try {
      const log = events(daemon.logFile);
      const warmUps = log.filter((line) => line.event === "warm-up");
      expect(warmUps.map((line) => [line.worker, line.calls, line.failed])).toEqual(
        expect.arrayContaining([
          [0, 6, undefined],
          [1, 6, undefined],
        ]),
      );
      expect(warmUps).toHaveLength(2);
      // Warmed before it listens: the ready line comes after both.
      expect(log.findIndex((line) => line.event === "ready")).toBeGreaterThan(
        Math.max(...warmUps.map((line) => log.indexOf(line))),
      );
      // The engine's tier-up thresholds are in its environment (one re-exec, same pid).
      const environ = fs.readFileSync(`/proc/${daemon.pid}/environ`, "utf8").split("\0");
      expect(environ).toContain("BUN_JSC_thresholdForJITAfterWarmUp=50");
      // Its bridges and veths were in namespaces that are gone; the host has only lo.
      expect(links(host).map((link) => link.ifname)).toEqual(["lo"]);
      expect(scratchOf(daemon.pid)).toEqual([]);
      // It serves, and the warm-up's calls were not requests.
      const container = fixture.containerNetns();
      expect(failures([await bridgeCall(host, "ADD", container)])).toEqual([]);
      expect(links(container).map((link) => link.ifname)).toContain("eth0");
      expect(failures([await bridgeCall(host, "DEL", container)])).toEqual([]);
      await sleep(200);
      expect(events(daemon.logFile).filter((line) => line.event === "request")).toHaveLength(2);
    } finally {
      stopDaemonPid(fixture.prefix, daemon.pid);
    }
  });

  it("lets calls run standalone while it warms up, and a SIGTERM ends the warm-up", async () => {
    const host = fixture.hostNetns();
    const logFile = path.join(dataDir, "long-warm-up.log");
    logFiles.push(logFile);
    const child = spawn(path.join(distBin, "cnikit"), ["daemon", "--netns", host.name, "--warm-up", "10000"], {
      stdio: ["ignore", "ignore", fs.openSync(logFile, "w")],
      env: { PATH: process.env.PATH },
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (status) => resolve(status)));
    const pid = child.pid as number;
    try {
      const deadline = Date.now() + 15_000;
      while (scratchOf(pid).length < 2 && Date.now() < deadline) await sleep(20);
      expect(scratchOf(pid)).toHaveLength(2);
      // Nothing listens yet: the front end runs the call standalone, at once.
      const container = fixture.containerNetns();
      const added = await bridgeCall(host, "ADD", container);
      expect(failures([added])).toEqual([]);
      expect(failures([await bridgeCall(host, "DEL", container)])).toEqual([]);
      child.kill("SIGTERM");
      const code = await Promise.race([exited, sleep(10_000).then(() => "no exit within 10 s")]);
      expect(code).toBe(0);
      const log = events(logFile);
      expect(log.filter((line) => line.event === "request")).toEqual([]);
      expect(log.map((line) => line.event)).not.toContain("ready");
      for (const line of log.filter((entry) => entry.event === "warm-up"))
        expect(line.calls as number).toBeLessThan(20_000);
      expect(scratchOf(pid)).toEqual([]);
      expect(links(host).map((link) => link.ifname)).not.toContain("cnikit-warm0");
    } finally {
      child.kill("SIGKILL");
    }
  });
});
