// host-local's data directory under attack and under pressure, through the built
// executable: names planted where the plugin reads and writes (symlinks, FIFOs,
// directories), a full filesystem and a read-only one (a small tmpfs in a private mount
// namespace), and a corrupted index. In resident mode the daemon runs in that mount
// namespace too, so it sees the same tmpfs as the caller.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture } from "../../netns-fixtures";
import { daemonMode } from "../../netns-fixtures/daemons";
import { distBin } from "../helpers/exec";

const fixture = new NetnsFixture();
/**
 * host-local needs no host namespace of its own; fixture "container" namespaces get no automatic
 * daemon, so each suite starts its own where it needs it (the second inside its mount namespace).
 */
const plantedHost = fixture.containerNetns();
const smallHost = fixture.containerNetns();
const root = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-hlf-"));
let holder: ReturnType<typeof spawn> | undefined;
let mountNs: string | undefined;

afterAll(() => {
  fixture.cleanup(); // ends the daemon (by pid) before the mount namespace goes
  if (holder?.pid) process.kill(holder.pid, "SIGKILL");
  fs.rmSync(root, { recursive: true, force: true });
});

interface Answer {
  status: number | null;
  json: { code?: number; msg?: string; ips?: { address: string }[] } | undefined;
  stdout: string;
}

interface Where {
  host: { path: string };
  /** A mount namespace to run in (nsenter --mount), when the data directory is only mounted there. */
  mountNs?: string | undefined;
}

function call(where: Where, command: string, containerId: string, dataDir: string, network = "hlf"): Answer {
  const config = {
    cniVersion: "1.1.0",
    name: network,
    type: "host-local",
    ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.71.0.0/24" }]] },
  };
  const launcher = where.mountNs ? [`--mount=${where.mountNs}`] : [];
  const run = spawnSync("nsenter", [...launcher, `--net=${where.host.path}`, path.join(distBin, "host-local")], {
    input: JSON.stringify(config),
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      CNI_COMMAND: command,
      CNI_CONTAINERID: containerId,
      CNI_NETNS: "/dev/null",
      CNI_IFNAME: "eth0",
      CNI_PATH: distBin,
    },
    timeout: 20_000,
    encoding: "utf8",
  });
  let json: Answer["json"];
  try {
    json = run.stdout.trim() ? JSON.parse(run.stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { status: run.status, json, stdout: run.stdout };
}

function expectIoError(answer: Answer, pattern: RegExp): void {
  expect(answer.status, answer.stdout).toBe(1);
  expect(answer.json?.code, answer.stdout).toBe(5);
  expect(answer.json?.msg ?? "").toMatch(pattern);
}

describe("names planted in the data directory are refused, never followed", () => {
  const dataDir = path.join(root, "planted");
  const networkDir = path.join(dataDir, "hlf");
  const outside = path.join(root, "outside");

  const at: Where = { host: plantedHost };

  beforeAll(() => {
    if (daemonMode()) fixture.startDaemon(plantedHost);
    fs.mkdirSync(networkDir, { recursive: true });
    fs.mkdirSync(outside, { recursive: true });
  });

  it("a dangling symlink as the lock: code 5 naming it, and nothing created where it points", () => {
    fs.symlinkSync(path.join(outside, "lock-target"), path.join(networkDir, "lock"));
    expectIoError(call(at, "ADD", "p1", dataDir), /hlf\/lock is a symbolic link/);
    expect(fs.existsSync(path.join(outside, "lock-target"))).toBe(false);
    fs.rmSync(path.join(networkDir, "lock"));
  });

  it("a FIFO as last_reserved_ip.0 or as the next lease: code 5 in bounded time, no lease left", () => {
    const fifo = path.join(networkDir, "last_reserved_ip.0");
    spawnSync("mkfifo", [fifo]);
    const started = Date.now();
    expectIoError(call(at, "ADD", "p2", dataDir), /last_reserved_ip.0 is a FIFO/);
    expect(Date.now() - started).toBeLessThan(10_000);
    fs.rmSync(fifo);
    expect(fs.readdirSync(networkDir).filter((name) => name.startsWith("10."))).toEqual([]);
    // A FIFO named like the first free address is taken by nobody: the allocator skips it.
    spawnSync("mkfifo", [path.join(networkDir, "10.71.0.2")]);
    const added = call(at, "ADD", "p2", dataDir);
    expect(added.status, added.stdout).toBe(0);
    expect(added.json?.ips?.[0]?.address).toBe("10.71.0.3/24");
    expect(call(at, "DEL", "p2", dataDir).status).toBe(0);
    expect(fs.lstatSync(path.join(networkDir, "10.71.0.2")).isFIFO()).toBe(true);
  });

  it("a symlinked network directory or index directory: code 5, nothing written through it", () => {
    const other = path.join(dataDir, "other");
    fs.symlinkSync(outside, other);
    expectIoError(call(at, "ADD", "p3", dataDir, "other"), /other is a symbolic link/);
    expect(fs.readdirSync(outside)).toEqual([]);
    const indexDir = path.join(dataDir, ".cnikit-index", "hlf");
    fs.rmSync(indexDir, { recursive: true, force: true });
    fs.symlinkSync(outside, indexDir);
    // The lease is the truth and is written; the index cannot be, so every call rebuilds it.
    const added = call(at, "ADD", "p3", dataDir);
    expect(added.status, added.stdout).toBe(0);
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(call(at, "DEL", "p3", dataDir).status).toBe(0);
    expect(fs.readdirSync(networkDir).filter((name) => name.startsWith("10.71.0.3"))).toEqual([]);
    fs.rmSync(indexDir);
  });

  it("an index replaced by garbage while its stamp is current: DEL still releases the lease", () => {
    const added = call(at, "ADD", "p4", dataDir);
    expect(added.status, added.stdout).toBe(0);
    const address = (added.json?.ips?.[0]?.address ?? "").split("/")[0] ?? "";
    const indexDir = path.join(dataDir, ".cnikit-index", "hlf");
    for (const name of fs.readdirSync(indexDir)) {
      if (!name.startsWith("stamp")) fs.writeFileSync(path.join(indexDir, name), '{"nobody\\neth0":["10.71.0.250"]}');
    }
    expect(call(at, "DEL", "p4", dataDir).status).toBe(0);
    expect(fs.existsSync(path.join(networkDir, address))).toBe(false);
  });
});

/** A process that holds a private mount namespace for the test's calls (bounded: it ends with the test). */
function privateMountNamespace(): string {
  holder = spawn("unshare", ["--mount", "--propagation", "private", "sleep", "600"], { stdio: "ignore" });
  const pid = holder.pid;
  const deadline = Date.now() + 5_000;
  const own = fs.readlinkSync("/proc/self/ns/mnt");
  while (Date.now() < deadline) {
    try {
      if (pid && fs.readlinkSync(`/proc/${pid}/ns/mnt`) !== own) return `/proc/${pid}/ns/mnt`;
    } catch {
      // not started yet
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
  throw new Error("unshare --mount did not start");
}

function inMountNs(...argv: string[]): void {
  const run = spawnSync("nsenter", [`--mount=${mountNs}`, ...argv], { encoding: "utf8", timeout: 20_000 });
  if (run.status !== 0 && argv[0] !== "dd") throw new Error(`${argv.join(" ")}: ${run.stderr}`);
}

describe("a full and a read-only data directory (a small tmpfs in a private mount namespace)", () => {
  const dataDir = path.join(root, "small");
  const at: Where = { host: smallHost };

  beforeAll(() => {
    fs.mkdirSync(dataDir, { recursive: true });
    mountNs = privateMountNamespace();
    inMountNs("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dataDir);
    if (daemonMode()) fixture.startDaemon(smallHost, [], ["nsenter", `--mount=${mountNs}`]);
    at.mountNs = mountNs;
  });

  it("ADD fails cleanly when full, DEL still releases, STATUS says why; read-only: ADD and DEL fail, nothing lost", () => {
    const first = call(at, "ADD", "f1", dataDir);
    expect(first.status, first.stdout).toBe(0);
    // A lease the reference plugin wrote in a network with no index of ours.
    inMountNs("mkdir", "-p", path.join(dataDir, "refnet"));
    inMountNs("sh", "-c", `printf 'r1\\r\\neth0' > ${path.join(dataDir, "refnet", "10.71.0.9")}`);
    inMountNs("dd", "if=/dev/zero", `of=${path.join(dataDir, "fill")}`, "bs=4k");

    expectIoError(call(at, "ADD", "f2", dataDir), /no space|ENOSPC/i);
    const status = call(at, "STATUS", "", dataDir);
    expect(status.status, status.stdout).toBe(1);
    expect(status.json?.code).toBe(50);
    expect(status.json?.msg ?? "").toMatch(/not writable.*(no space|ENOSPC)/i);
    const listing = (dir: string): string[] => {
      const run = spawnSync("nsenter", [`--mount=${mountNs}`, "ls", "-A", dir], { encoding: "utf8" });
      return run.stdout.split("\n").filter(Boolean).sort();
    };
    expect(listing(path.join(dataDir, "hlf")).filter((name) => name !== "lock" && !name.startsWith("last_"))).toEqual([
      "10.71.0.2",
    ]);

    expect(call(at, "DEL", "f1", dataDir).status).toBe(0);
    expect(listing(path.join(dataDir, "hlf"))).not.toContain("10.71.0.2");
    expect(call(at, "DEL", "r1", dataDir, "refnet").status).toBe(0);
    expect(listing(path.join(dataDir, "refnet"))).not.toContain("10.71.0.9");

    inMountNs("rm", path.join(dataDir, "fill"));
    const again = call(at, "ADD", "f3", dataDir);
    expect(again.status, again.stdout).toBe(0);
    inMountNs("mount", "-o", "remount,ro", dataDir);
    expectIoError(call(at, "ADD", "f4", dataDir), /read-only|EROFS/i);
    // The lease cannot be removed: DEL must not answer success with it still on disk.
    expectIoError(call(at, "DEL", "f3", dataDir), /read-only|EROFS/i);
    expect(listing(path.join(dataDir, "hlf"))).toContain("10.71.0.3");
    expect(call(at, "STATUS", "", dataDir).json?.code).toBe(50);
  });
});
