// Lock files and netlink replies, attacked from where an attacker or an accident can
// reach: a dangling symlink, a directory or a FIFO planted where a host lock file goes
// (code 5 naming the path, nothing created where the link points), a lock held forever
// (code 11 after the bound, not a hang), and a process in the container's namespace
// sending datagrams to the plugin's netlink port (never taken for the kernel's reply).
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { native } from "../../native";
import { TEST_BUILD_EXECUTABLE } from "../../netns-fixtures";
import { attachmentLockName } from "../../src/plugin/attachment-lock";
import { withHostLock } from "../../src/plugin/host-lock";
import { DEFAULT_LOCK_DIR, lockFilePath } from "../../src/plugin/lock-layout";
import { testBin } from "../helpers/exec";
import { hostSuite } from "../helpers/host-suite";
import { runInHost } from "./harness";
import { type NetworkSpec, networkByKey } from "./networks";
import { netnsInode, snapshotHost } from "./snapshot";

// The lock-timeout hook exists only in the test build: its plugins, and in resident mode its daemons.
const suite = hostSuite({ name: "locks", scratch: ["outside"], daemonExecutable: TEST_BUILD_EXECUTABLE });
const outside = suite.scratchDir("outside");

/** The bridge lock of a network on our host (src/plugin/lock-layout.ts bridgeLockName: "bridge-<name>"). */
function bridgeLockFile(spec: NetworkSpec): string {
  const config = spec.config(suite.context);
  const bridge = String(config.bridge ?? `cnikit-${config.name}`);
  return lockFilePath(DEFAULT_LOCK_DIR, netnsInode(suite.host.path), `bridge-${bridge}`);
}

function call(spec: NetworkSpec, command: "ADD" | "DEL", containerId: string, env: Record<string, string> = {}) {
  return runInHost({
    binDir: testBin,
    hostNetns: suite.host.path,
    plugin: spec.plugin,
    command,
    config: spec.config(suite.context),
    containerId,
    containerNetns: suite.container.path,
    env,
  });
}

function add(spec: NetworkSpec, containerId: string, env: Record<string, string> = {}) {
  return call(spec, "ADD", containerId, env);
}

describe("planted lock files", () => {
  const spec = networkByKey("bra");
  // The first ADD makes the shared objects (bridge, masquerade table, host-local's files):
  // made once here, so that each snapshot below holds them.
  beforeAll(async () => {
    expect((await add(spec, "hzlockwarm")).status).toBe(0);
    const deleted = await call(spec, "DEL", "hzlockwarm");
    expect(deleted.status).toBe(0);
  });
  const plants: Array<{ what: string; plant: (file: string) => void; says: string }> = [
    {
      what: "a dangling symlink",
      plant: (file) => fs.symlinkSync(path.join(outside, "created-through-link"), file),
      says: "is a symbolic link, not a regular file",
    },
    { what: "a directory", plant: (file) => fs.mkdirSync(file), says: "is a directory, not a regular file" },
    {
      what: "a FIFO",
      plant: (file) => expect(spawnSync("mkfifo", [file]).status).toBe(0),
      says: "is a FIFO, not a regular file",
    },
  ];

  for (const { what, plant, says } of plants) {
    it(`${what} at the bridge lock path: code 5 naming the path, nothing created, host unchanged`, async () => {
      const file = bridgeLockFile(spec);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.rmSync(file, { recursive: true, force: true });
      plant(file);
      try {
        const before = snapshotHost(suite.snapshotTarget());
        const started = Date.now();
        const exit = await add(spec, "hzlockplant");
        expect(exit.status).toBe(1);
        expect(exit.json).toMatchObject({ code: 5, msg: `lock ${file}: ${says}` });
        expect(Date.now() - started).toBeLessThan(20_000);
        expect(fs.existsSync(path.join(outside, "created-through-link"))).toBe(false);
        expect(snapshotHost(suite.snapshotTarget())).toEqual(before);
      } finally {
        fs.rmSync(file, { recursive: true, force: true });
      }
      // With the plant gone the same ADD works, and its DEL cleans up.
      expect((await add(spec, "hzlockplant")).status).toBe(0);
      const deleted = await call(spec, "DEL", "hzlockplant");
      expect(deleted.status).toBe(0);
    });
  }
});

describe("planted attachment lock and lock directory", () => {
  const spec = networkByKey("vea");

  it("a FIFO at the attachment's lock path: ADD and DEL answer code 5 naming it, host unchanged", async () => {
    const name = attachmentLockName({
      network: String(spec.config(suite.context).name),
      containerId: "hzstripe",
      ifName: "eth0",
    });
    const file = lockFilePath(DEFAULT_LOCK_DIR, netnsInode(suite.host.path), name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.rmSync(file, { force: true });
    expect(spawnSync("mkfifo", [file]).status).toBe(0);
    try {
      const before = snapshotHost(suite.snapshotTarget());
      for (const command of ["ADD", "DEL"] as const) {
        const exit = await call(spec, command, "hzstripe");
        expect({ command, status: exit.status, json: exit.json }).toMatchObject({
          command,
          status: 1,
          json: { code: 5, msg: `lock ${file}: is a FIFO, not a regular file` },
        });
      }
      expect(snapshotHost(suite.snapshotTarget())).toEqual(before);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it("a symlink as the lock directory: code 5 naming it, nothing created where it points", async () => {
    const real = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-hz-realdir-"));
    const link = `${real}-link`;
    fs.symlinkSync(real, link);
    try {
      const exit = await add(spec, "hzlockdir", { CNIKIT_LOCK_DIR: link });
      expect(exit.status).toBe(1);
      expect(exit.json).toMatchObject({ code: 5, msg: `lock ${link}: is a symbolic link, not a directory` });
      expect(fs.readdirSync(real)).toEqual([]);
    } finally {
      fs.rmSync(link, { force: true });
      fs.rmSync(real, { recursive: true, force: true });
    }
  });
});

describe("a lock held forever", () => {
  it("ADD answers code 11 naming the lock after the bound, leaves nothing, and works once it is free", async () => {
    const spec = networkByKey("bra");
    // Warm-up: the bridge exists, so the snapshot below holds the shared objects.
    expect((await add(spec, "hzlockheld")).status).toBe(0);
    await call(spec, "DEL", "hzlockheld");
    const file = bridgeLockFile(spec);
    const before = snapshotHost(suite.snapshotTarget());
    // One process holds it until we end it by its pid (flock(1) would leave its child holding it).
    const hold = `import fcntl, sys, time\nf = open(sys.argv[1], "a")\nfcntl.flock(f, fcntl.LOCK_EX)\nprint("held", flush=True)\ntime.sleep(600)`;
    const holder = spawn("python3", ["-c", hold, file], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await new Promise((resolve) => holder.stdout?.once("data", resolve));
      const started = Date.now();
      const exit = await add(spec, "hzlockheld", { CNIKIT_TEST_LOCK_TIMEOUT_MS: "3000" });
      const ms = Date.now() - started;
      expect(exit.status).toBe(1);
      expect(exit.json).toMatchObject({ code: 11, msg: `lock ${file}: still held by another call after 3 s` });
      expect(ms).toBeGreaterThanOrEqual(2900);
      expect(ms).toBeLessThan(30_000);
      expect(snapshotHost(suite.snapshotTarget())).toEqual(before);
    } finally {
      if (holder.pid !== undefined) process.kill(holder.pid, "SIGKILL");
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await add(spec, "hzlockheld")).status).toBe(0);
  });
});

describe("a waiting caller's event loop", () => {
  it("runs on while withHostLock waits (the overlay agent's etcd keep-alive), and the wait ends at the bound", async () => {
    const lockDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-hz-lockdir-"));
    const saved = process.env.CNIKIT_LOCK_DIR;
    process.env.CNIKIT_LOCK_DIR = lockDir;
    const file = lockFilePath(lockDir, fs.statSync("/proc/thread-self/ns/net").ino, "bridge-hzloop");
    const hold = `import fcntl, sys, time\nf = open(sys.argv[1], "a")\nfcntl.flock(f, fcntl.LOCK_EX)\nprint("held", flush=True)\ntime.sleep(600)`;
    fs.writeFileSync(file, "");
    const holder = spawn("python3", ["-c", hold, file], { stdio: ["ignore", "pipe", "inherit"] });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 100);
    try {
      await new Promise((resolve) => holder.stdout?.once("data", resolve));
      const waited = withHostLock("bridge-hzloop", async () => "entered", 2000).catch((err: unknown) => err);
      const outcome = await waited;
      expect(outcome).toMatchObject({ code: 11, message: `lock ${file}: still held by another call after 2 s` });
      // About 20 ticks in 2 s: the loop was never blocked for long.
      expect(ticks).toBeGreaterThanOrEqual(12);
    } finally {
      clearInterval(timer);
      if (holder.pid !== undefined) process.kill(holder.pid, "SIGKILL");
      if (saved === undefined) delete process.env.CNIKIT_LOCK_DIR;
      else process.env.CNIKIT_LOCK_DIR = saved;
      fs.rmSync(lockDir, { recursive: true, force: true });
    }
  });
});

describe("netlink replies", () => {
  it("a datagram another process sends to our port is dropped; the kernel's reply still arrives; a wait is bounded", () => {
    const fd = native().netlinkOpen(suite.container.path, 0);
    try {
      const port = native().netlinkPortId(fd);
      expect(port).toBeGreaterThan(0);
      // A forged NLMSG_DONE from a socket in the same namespace, addressed to our port.
      const forge = [
        "import socket, struct",
        "s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)",
        "s.bind((0, 0))",
        `s.sendto(struct.pack("=IHHII", 20, 3, 0, 1, ${port}) + b"\\0\\0\\0\\0", (${port}, 0))`,
      ].join("\n");
      const sent = spawnSync("nsenter", [`--net=${suite.container.path}`, "python3", "-c", forge], {
        encoding: "utf8",
      });
      expect(sent.stderr).toBe("");
      expect(sent.status).toBe(0);
      const started = Date.now();
      expect(native().netlinkRecvTimeout(fd, 500)).toBeNull();
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      // RTM_GETLINK dump of lo (index 1): the kernel's answer comes through.
      const request = Buffer.alloc(32);
      request.writeUInt32LE(32, 0);
      request.writeUInt16LE(18, 4); // RTM_GETLINK
      request.writeUInt16LE(0x1 | 0x4, 6); // NLM_F_REQUEST | NLM_F_ACK
      request.writeUInt32LE(7, 8);
      request.writeUInt8(0, 16); // ifi_family AF_UNSPEC
      request.writeInt32LE(1, 20); // ifi_index 1
      native().netlinkSend(fd, request);
      const reply = native().netlinkRecvTimeout(fd, 2000);
      expect(reply).not.toBeNull();
      expect(reply?.readUInt32LE(8)).toBe(7);
      expect(reply?.readUInt32LE(12)).toBe(port);
    } finally {
      native().close(fd);
    }
  });
});
