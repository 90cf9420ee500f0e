// Inputs that are not what they claim: 100,000 levels of nesting, a stdin that is
// /dev/zero or never ends, and a FIFO, a directory, a device or an oversized file where
// a config names a file (peersFile, subnetFile). Each must end, in bounded time, in a
// CNI error with the right code naming the path and what it is, with the host unchanged.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { distBin } from "../helpers/exec";
import { hostSuite } from "../helpers/host-suite";
import { type HostExit, runInHost } from "./harness";
import { NETWORKS, networkByKey } from "./networks";
import { snapshotHost } from "./snapshot";

const suite = hostSuite({ name: "inputs", scratch: ["plant"] });
const plantDir = suite.scratchDir("plant");

interface TimedExit extends HostExit {
  ms: number;
}

/**
 * A plugin call whose stdin is `stdin`: a file descriptor to hand over, or "open" for a
 * pipe we never close. Run under GNU time, whose last stderr line is the peak RSS (KiB)
 * of the plugin (front end and the cnikit it may exec: one process image after another).
 */
function callWithStdin(plugin: string, stdin: number | "open"): Promise<TimedExit & { maxRssKiB: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const argv = [`--net=${suite.host.path}`, "/usr/bin/time", "-f", "maxrss %M", path.join(distBin, plugin)];
    const child = spawn("nsenter", argv, {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        CNI_COMMAND: "ADD",
        CNI_CONTAINERID: "hzinputs",
        CNI_NETNS: suite.container.path,
        CNI_IFNAME: "eth0",
        CNI_PATH: distBin,
      },
      stdio: [stdin === "open" ? "pipe" : stdin, "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
    child.stdin?.on("error", () => undefined);
    if (stdin === "open") child.stdin?.write('{"cniVersion":"1.1.0","name":"hz-bra",');
    child.on("error", reject);
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString("utf8");
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(stdout) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      const stderr = Buffer.concat(err).toString("utf8");
      const maxRssKiB = Number(/maxrss (\d+)\s*$/.exec(stderr)?.[1] ?? Number.NaN);
      resolve({ status, signal, stdout, stderr, json, ms: Date.now() - started, maxRssKiB });
    });
  });
}

function nested(depth: number): string {
  return `${"[".repeat(depth)}${"]".repeat(depth)}`;
}

describe("nesting at 100,000 levels", () => {
  for (const spec of NETWORKS) {
    it(`${spec.key}: as the document and inside a field, code 6 naming the bound; host unchanged`, async () => {
      const before = snapshotHost(suite.snapshotTarget());
      const config = JSON.stringify(spec.config(suite.context));
      const inField = `${config.slice(0, -1)},"mtu":${nested(100_000)}}`;
      const inIpam = config.replace('"ipam":{', `"ipam":{"routes":${nested(100_000)},`);
      for (const stdin of [nested(100_000), inField, inIpam]) {
        const exit = await runInHost({
          hostNetns: suite.host.path,
          plugin: spec.plugin,
          command: "ADD",
          stdin,
          containerId: "hzdeep",
          containerNetns: suite.container.path,
        });
        expect(exit.status).toBe(1);
        expect(exit.json).toMatchObject({ code: 6, msg: expect.stringContaining("nested deeper than 128 levels") });
      }
      expect(snapshotHost(suite.snapshotTarget())).toEqual(before);
    });
  }
});

describe("stdin without an end", () => {
  it("/dev/zero as stdin: code 5, the 64 MiB bound named, in bounded time and memory", async () => {
    const zero = fs.openSync("/dev/zero", "r");
    try {
      const exit = await callWithStdin("bridge", zero);
      expect(exit.status).toBe(1);
      expect(exit.json).toMatchObject({ code: 5, msg: expect.stringContaining("larger than 64 MiB") });
      expect(exit.ms).toBeLessThan(30_000);
      // 64 MiB of input plus the runtime; unbounded, it read until the memory ran out (over 1 GB).
      expect(exit.maxRssKiB).toBeLessThan(400 * 1024);
    } finally {
      fs.closeSync(zero);
    }
  });

  it("a writer that never closes stdin: code 5 after the 10 s bound, not a hang", async () => {
    const exit = await callWithStdin("bridge", "open");
    expect(exit.status).toBe(1);
    expect(exit.json).toMatchObject({ code: 5, msg: expect.stringContaining("did not end within 10 s") });
    expect(exit.ms).toBeGreaterThanOrEqual(9_500);
    expect(exit.ms).toBeLessThan(30_000);
  });
});

/** Things planted where a config names a file: each with what the error must say. */
function plants(): Array<{ what: string; path: string; says: RegExp }> {
  return [
    { what: "a FIFO", path: path.join(plantDir, "fifo"), says: /is a FIFO, not a regular file/ },
    { what: "a directory", path: plantDir, says: /is a directory, not a regular file/ },
    { what: "/dev/zero", path: "/dev/zero", says: /is a character device, not a regular file/ },
    { what: "a 5 MB file", path: path.join(plantDir, "big.json"), says: /is larger than/ },
  ];
}

describe("planted files where a config names one", () => {
  beforeAll(() => {
    expect(spawnSync("mkfifo", [path.join(plantDir, "fifo")]).status).toBe(0);
    fs.writeFileSync(path.join(plantDir, "big.json"), `[${'"198.18.0.9",'.repeat(400_000)}"198.18.0.9"]`);
  });

  for (const field of ["peersFile", "subnetFile"]) {
    it(`${field}: a FIFO, a directory, /dev/zero, a file over the bound: code 7 naming the path and what it is, host unchanged`, async () => {
      const spec = networkByKey("vxa");
      const before = snapshotHost(suite.snapshotTarget());
      for (const plant of plants()) {
        const started = Date.now();
        const exit = await runInHost({
          hostNetns: suite.host.path,
          plugin: spec.plugin,
          command: "ADD",
          config: { ...spec.config(suite.context), [field]: plant.path },
          containerId: "hzplant",
          containerNetns: suite.container.path,
        });
        expect({ plant: plant.what, status: exit.status, code: exit.json?.code }).toEqual({
          plant: plant.what,
          status: 1,
          code: 7,
        });
        expect(exit.json?.msg).toContain(field);
        expect(exit.json?.msg).toContain(JSON.stringify(plant.path));
        expect(exit.json?.msg).toMatch(plant.says);
        expect(Date.now() - started).toBeLessThan(20_000);
      }
      expect(snapshotHost(suite.snapshotTarget())).toEqual(before);
    });
  }
});
