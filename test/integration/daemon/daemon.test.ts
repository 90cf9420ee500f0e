// Resident mode, through the compiled front end as a runtime runs it: a daemon answers
// the calls made in its own host namespace and no other, checks its callers, bounds
// every request, survives crashes and restarts mid-burst, and does not leak.
// (The other integration suites also run through daemons: the integration-daemon
// project. This file starts its own daemons, so it runs in the standalone project only.)
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Netns, NetnsFixture, daemonMode, links } from "../../../netns-fixtures";
import { TEST_BUILD_EXECUTABLE, startDaemon, stopDaemonPid } from "../../../netns-fixtures/daemons";
import { native } from "../../../native";
import { HELLO_MAGIC, encodeEnvBlock, encodeHello } from "../../../src/daemon/protocol";
import { distBin, testBin } from "../../helpers/exec";
import { connectTo, rawRequest, readToEnd } from "../../helpers/daemon-client";
import { type HostCall, type HostExit, failures, resultAddresses, runInHost } from "../../hardening/harness";

const fixture = new NetnsFixture();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-dm-"));
const BUILD_ID = () => fs.readFileSync(path.join(distBin, "BUILD_ID"), "utf8").trim();
const started: Array<{ pid: number; logFile: string }> = [];

function config(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: "1.0.0",
    name,
    type: "bridge",
    bridge: "dmbr0",
    isGateway: true,
    ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.71.0.0/16" }]] },
    ...extra,
  };
}

function daemonIn(host: Netns, args: string[] = [], executable?: string): { pid: number; logFile: string } {
  const daemon = startDaemon(fixture.prefix, host.name, args, executable);
  started.push(daemon);
  return daemon;
}

function stop(daemon: { pid: number }): void {
  stopDaemonPid(fixture.prefix, daemon.pid);
}

function status(host: Netns): { served: number; workerRestarts: number; build: string } | undefined {
  const run = spawnSync(path.join(distBin, "cnikit"), ["daemon", "status", "--netns", host.name, "--json"], {
    encoding: "utf8",
    timeout: 10_000,
  });
  return run.status === 0 ? JSON.parse(run.stdout) : undefined;
}

function call(
  host: Netns,
  command: HostCall["command"],
  containerId: string,
  netns: Netns | undefined,
  extra: Partial<HostCall> = {},
): Promise<HostExit> {
  return runInHost({
    hostNetns: host.path,
    plugin: "bridge",
    command,
    config: config("dmnet"),
    containerId,
    containerNetns: netns?.path,
    timeoutMs: 30_000,
    ...extra,
  });
}

function leases(network: string): string[] {
  const dir = path.join(dataDir, network);
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => /^\d+\.\d+\.\d+\.\d+$/.test(name)) : [];
}

function logLines(daemon: { logFile: string }): Array<Record<string, unknown>> {
  return fs
    .readFileSync(daemon.logFile, "utf8")
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
}

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await sleep(10);
}

describe.skipIf(daemonMode())("cnikit daemon", () => {
  let hostA: Netns;
  let hostB: Netns;

  beforeAll(() => {
    hostA = fixture.hostNetns();
    hostB = fixture.hostNetns();
  });

  // A failed test must not leave its daemon answering for the next one.
  afterEach(() => {
    for (const daemon of started) stop(daemon);
  });

  afterAll(() => {
    try {
      for (const daemon of started) stop(daemon);
      fixture.cleanup();
    } finally {
      for (const daemon of started) fs.rmSync(daemon.logFile, { force: true });
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("answers the calls of its own namespace only, byte for byte as standalone", async () => {
    const daemon = daemonIn(hostA);
    const ctrA = fixture.containerNetns();
    const ctrB = fixture.containerNetns();
    const before = status(hostA)?.served ?? -1;
    const added = await call(hostA, "ADD", "dma", ctrA);
    expect(failures([added])).toEqual([]);
    expect(links(ctrA).map((link) => link.ifname)).toContain("eth0");
    expect(status(hostA)?.served).toBe(before + 1);
    // hostB has no daemon: standalone, and hostA's daemon never hears of it.
    expect(status(hostB)).toBeUndefined();
    expect(failures([await call(hostB, "ADD", "dmb", ctrB)])).toEqual([]);
    expect(status(hostA)?.served).toBe(before + 1);
    // The same answers with and without the daemon: an error, VERSION, and no CNI_COMMAND.
    const bad = { config: { ...config("dmnet"), mtu: "big" } };
    for (const extra of [bad, { config: { cniVersion: "0.4.0" } }, {}]) {
      for (const command of ["ADD", "VERSION"] as const) {
        const env = Object.keys(extra).length === 0 ? { CNI_COMMAND: undefined } : {};
        const viaDaemon = await call(hostA, command, "dmx", ctrA, { ...extra, env });
        const standalone = await call(hostB, command, "dmx", ctrB, { ...extra, env });
        expect({ status: viaDaemon.status, stdout: viaDaemon.stdout, stderr: viaDaemon.stderr }).toEqual({
          status: standalone.status,
          stdout: standalone.stdout,
          stderr: standalone.stderr,
        });
      }
    }
    await waitFor(() => logLines(daemon).some((line) => line.event === "request" && line.containerId === "dma"), 5000);
    const log = logLines(daemon).find((line) => line.event === "request" && line.containerId === "dma");
    expect(log).toMatchObject({
      plugin: "bridge",
      command: "ADD",
      containerId: "dma",
      ifName: "eth0",
      netns: ctrA.path,
      code: 0,
    });
    expect(typeof log?.durationMs).toBe("number");
    expect(failures([await call(hostA, "DEL", "dma", ctrA), await call(hostB, "DEL", "dmb", ctrB)])).toEqual([]);
    stop(daemon);
  });

  it("tells systemd it is ready, serves Prometheus metrics in its namespace, stops on SIGTERM with status 0", async () => {
    // A stand-in for systemd's notify socket (Type=notify in contrib/systemd).
    const notifySocket = path.join(dataDir, "notify.sock");
    const listener = spawn(
      "python3",
      [
        "-c",
        `import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("bound",flush=True)\ns.settimeout(20)\nprint(s.recv(256).decode(),flush=True)`,
        notifySocket,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let notified = "";
    listener.stdout.on("data", (chunk: Buffer) => (notified += chunk.toString()));
    await waitFor(() => notified.includes("bound"));
    const port = 19000 + Math.floor(Math.random() * 1000);
    const logFile = path.join(dataDir, "metrics-daemon.log");
    const daemon = spawn(
      path.join(distBin, "cnikit"),
      ["daemon", "--netns", hostA.name, "--metrics", `127.0.0.1:${port}`],
      {
        stdio: ["ignore", "ignore", fs.openSync(logFile, "w")],
        env: { PATH: process.env.PATH, NOTIFY_SOCKET: notifySocket },
      },
    );
    const exited = new Promise<number | null>((resolve) => daemon.on("exit", (status) => resolve(status)));
    let code: number | null | string = null;
    try {
      await waitFor(() => notified.includes("READY=1"));
      expect(notified).toContain("READY=1");
      const ctr = fixture.containerNetns();
      expect(failures([await call(hostA, "ADD", "dmmetrics", ctr)])).toEqual([]);
      const metrics = spawnSync(
        "nsenter",
        [
          `--net=${hostA.path}`,
          process.execPath,
          "-e",
          `fetch("http://127.0.0.1:${port}/metrics").then(r=>r.text()).then(t=>process.stdout.write(t))`,
        ],
        { encoding: "utf8", timeout: 20_000 },
      );
      expect(metrics.stdout).toMatch(/cnikit_requests_total\{plugin="bridge",command="ADD",code="0"\} 1/);
      expect(metrics.stdout).toMatch(/cnikit_request_duration_seconds_count\{plugin="bridge",command="ADD"\} 1/);
      expect(metrics.stdout).toMatch(/cnikit_requests_in_flight 0/);
      expect(metrics.stdout).toMatch(
        /cnikit_hostlocal_addresses\{network="dmnet",range="10\.71\.0\.0\/16 \(10\.71\.0\.1-10\.71\.255\.254\)",state="used"\} 1/,
      );
      expect(metrics.stdout).toMatch(/cnikit_hostlocal_addresses\{network="dmnet",range="[^"]+",state="free"\} 65532/);
      // Nothing listens in the root namespace: the port is the daemon namespace's.
      const rootFetch = spawnSync(
        process.execPath,
        ["-e", `fetch("http://127.0.0.1:${port}/metrics").then(()=>process.exit(0),()=>process.exit(3))`],
        { timeout: 20_000 },
      );
      expect(rootFetch.status).toBe(3);
      expect(failures([await call(hostA, "DEL", "dmmetrics", ctr)])).toEqual([]);
    } finally {
      // Also when an assertion failed: the next test must find the socket free.
      daemon.kill("SIGTERM");
      listener.kill("SIGKILL");
      code = await Promise.race([exited, sleep(15_000).then(() => "no exit within 15 s")]);
      if (code !== 0) {
        daemon.kill("SIGKILL");
        await exited;
      }
    }
    expect(code).toBe(0);
    expect(logLines({ logFile }).map((line) => line.event)).toEqual(
      expect.arrayContaining(["ready", "request", "stopping", "stopped"]),
    );
  });

  it("keeps a trickle of calls on its first worker, spreads a burst, and stops at once when idle", async () => {
    const daemon = daemonIn(hostA);
    const version = (): Promise<HostExit> =>
      runInHost({ hostNetns: hostA.path, plugin: "bridge", command: "VERSION", config: { cniVersion: "1.0.0" } });
    // One call at a time: every one lands on worker 0, the warm thread (src/daemon/worker.ts).
    // A few ms apart, as a trickle is: a cold worker (no warm-up here) may still be
    // compiling what runs after its answer when a call comes right behind it.
    for (let index = 0; index < 12; index++) {
      expect(failures([await version()])).toEqual([]);
      await sleep(15);
    }
    // A burst: the stand-ins are woken as the workers below them take calls.
    const ctrs = Array.from({ length: 6 }, () => fixture.containerNetns());
    expect(failures(await Promise.all(ctrs.map((ctr, index) => call(hostA, "ADD", `dmspread${index}`, ctr))))).toEqual(
      [],
    );
    expect(failures(await Promise.all(ctrs.map((ctr, index) => call(hostA, "DEL", `dmspread${index}`, ctr))))).toEqual(
      [],
    );
    await waitFor(() => logLines(daemon).filter((line) => line.event === "request").length >= 24);
    const requests = logLines(daemon).filter((line) => line.event === "request");
    expect(requests.slice(0, 12).map((line) => line.worker)).toEqual(Array(12).fill(0));
    expect(new Set(requests.slice(12).map((line) => line.worker)).size).toBeGreaterThan(1);
    // Idle workers sleep for seconds between looks (STAND_BY_MS); SIGTERM wakes them all.
    await sleep(300);
    const stopping = Date.now();
    stop(daemon);
    expect(Date.now() - stopping).toBeLessThan(1500);
    expect(logLines(daemon).map((line) => line.event)).toContain("stopped");
  });

  it("refuses a caller of another uid: nothing configured, a log line", async () => {
    const daemon = daemonIn(hostA);
    const ctr = fixture.containerNetns();
    const served = status(hostA)?.served;
    const run = spawnSync(
      "nsenter",
      [
        `--net=${hostA.path}`,
        "setpriv",
        "--reuid",
        "65534",
        "--regid",
        "65534",
        "--clear-groups",
        path.join(distBin, "bridge"),
      ],
      {
        input: JSON.stringify(config("dmuid")),
        env: {
          PATH: process.env.PATH,
          CNI_COMMAND: "ADD",
          CNI_CONTAINERID: "dmuid",
          CNI_NETNS: ctr.path,
          CNI_IFNAME: "eth0",
          CNI_PATH: distBin,
        },
        encoding: "utf8",
        timeout: 30_000,
      },
    );
    expect(run.status).not.toBe(0);
    expect(links(ctr).map((link) => link.ifname)).toEqual(["lo"]);
    expect(leases("dmuid")).toEqual([]);
    expect(status(hostA)?.served).toBe(served);
    await waitFor(() => logLines(daemon).some((line) => line.event === "refused" && line.uid === 65534), 5000);
    expect(logLines(daemon).some((line) => line.event === "refused" && line.uid === 65534)).toBe(true);
    stop(daemon);
  });

  it("is bypassed when it is another build", async () => {
    const daemon = daemonIn(hostA, ["--build-id", "another-build"]);
    const ctr = fixture.containerNetns();
    const added = await call(hostA, "ADD", "dmbuild", ctr);
    expect(failures([added])).toEqual([]);
    expect(status(hostA)).toMatchObject({ build: "another-build", served: 0 });
    await waitFor(
      () => logLines(daemon).some((line) => line.event === "refused" && String(line.reason).includes("another-build")),
      5000,
    );
    expect(
      logLines(daemon).some((line) => line.event === "refused" && String(line.reason).includes("another-build")),
    ).toBe(true);
    expect(failures([await call(hostA, "DEL", "dmbuild", ctr)])).toEqual([]);
    stop(daemon);
  });

  it("bounds a 50 MB stdin and a request that never ends", async () => {
    const daemon = daemonIn(hostA, ["--body-timeout-ms", "1000"]);
    const ctr = fixture.containerNetns();
    // A caller that sends half a request and then nothing.
    const fd = connectTo(hostA.path);
    const env = encodeEnvBlock({ CNI_COMMAND: "VERSION" });
    native().sockWrite(fd, encodeHello(HELLO_MAGIC, BUILD_ID(), 6, env.length, 100), 1000);
    expect(native().sockRead(fd, 5, 5000).toString("latin1", 0, 1)).toBe("Y");
    native().sockWrite(fd, Buffer.from("bridge"), 1000);
    // Meanwhile other calls are served; 50 MB of stdin (a config padded with blanks) too.
    const padded = JSON.stringify(config("dmnet")).replace("{", `{${" ".repeat(50 * 1024 * 1024)}`);
    const big = await call(hostA, "ADD", "dmbig", ctr, { stdin: padded });
    expect(failures([big])).toEqual([]);
    expect(readToEnd(fd, 5000).length).toBe(0); // the daemon hung up on the half request
    native().close(fd);
    // The worker tells the main thread, which writes the line: it may come a moment later.
    await waitFor(() => logLines(daemon).some((line) => line.event === "dropped"), 5000);
    expect(logLines(daemon).some((line) => line.event === "dropped")).toBe(true);
    expect(failures([await call(hostA, "DEL", "dmbig", ctr)])).toEqual([]);
    stop(daemon);
  });

  it("answers code 11 for a request past its time limit and for a crashed worker, and goes on", async () => {
    // The test build: the worker-crash hook is only there (src/cni/test-hooks.ts).
    const daemon = daemonIn(hostA, ["--request-timeout", "1", "--workers", "2"], TEST_BUILD_EXECUTABLE);
    const viaTestBuild = { binDir: testBin };
    const ctr = fixture.containerNetns();
    const lockDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-dm-locks-"));
    const inode = fs.statSync(hostA.path).ino;
    const lockFile = path.join(lockDir, `${inode}-bridge-dmbr0.lock`);
    fs.writeFileSync(lockFile, "");
    // Hold the bridge's host lock for 3 s, so the ADD waits past the 1 s limit.
    const holder = spawn("flock", ["-x", lockFile, "sleep", "3"], { stdio: "ignore" });
    await sleep(200);
    const lockEnv = { CNIKIT_LOCK_DIR: lockDir };
    const slowStarted = Date.now();
    const slow = await call(hostA, "ADD", "dmslow", ctr, { ...viaTestBuild, env: lockEnv });
    expect(Date.now() - slowStarted).toBeLessThan(5000);
    expect(slow.status).toBe(1);
    expect(slow.json).toMatchObject({ code: 11 });
    expect(String(slow.json?.msg)).toContain("limit");
    await new Promise((resolve) => holder.on("exit", resolve));
    const crashed = await call(hostA, "ADD", "dmcrash", ctr, {
      ...viaTestBuild,
      env: { CNIKIT_TEST_WORKER_CRASH: "1" },
    });
    expect(crashed.json).toMatchObject({ code: 11 });
    expect(String(crashed.json?.msg)).toContain("crashed");
    // The runtime's DEL and a retried ADD then work (the lock is free again).
    expect(failures([await call(hostA, "DEL", "dmslow", ctr, { ...viaTestBuild, env: lockEnv })])).toEqual([]);
    const retried = await call(hostA, "ADD", "dmslow", ctr, { ...viaTestBuild, env: lockEnv });
    expect(failures([retried])).toEqual([]);
    expect(failures([await call(hostA, "DEL", "dmslow", ctr, { ...viaTestBuild, env: lockEnv })])).toEqual([]);
    expect(status(hostA)?.workerRestarts).toBe(2);
    stop(daemon);
    fs.rmSync(lockDir, { recursive: true, force: true });
  });

  async function burst(
    count: number,
    during: (done: () => number) => Promise<void>,
  ): Promise<{ exits: HostExit[]; netns: Netns[] }> {
    const netns = Array.from({ length: count }, () => fixture.containerNetns());
    let finished = 0;
    const calls = netns.map((ns, index) =>
      call(hostA, "ADD", `dmburst${index}`, ns).then((exit) => {
        finished += 1;
        return exit;
      }),
    );
    await during(() => finished);
    return { exits: await Promise.all(calls), netns };
  }

  it("is restarted in the middle of a burst: every call succeeds (SIGTERM) or says try again (SIGKILL)", async () => {
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      const daemon = daemonIn(hostA);
      const { exits, netns } = await burst(40, async (done) => {
        await waitFor(() => done() >= 5);
        if (signal === "SIGTERM") stop(daemon);
        else process.kill(daemon.pid, "SIGKILL");
        daemonIn(hostA); // the new one takes the rest
      });
      const failed = exits.flatMap((exit, index) => (exit.status === 0 ? [] : [index]));
      if (signal === "SIGTERM") expect(failures(exits)).toEqual([]);
      for (const index of failed)
        expect(exits[index]?.json, `call ${index} after ${signal}`).toMatchObject({ code: 11 });
      // The runtime DELs what failed and tries again.
      for (const index of failed) {
        expect(failures([await call(hostA, "DEL", `dmburst${index}`, netns[index])])).toEqual([]);
        exits[index] = await call(hostA, "ADD", `dmburst${index}`, netns[index]);
      }
      expect(failures(exits)).toEqual([]);
      const addresses = exits.flatMap(resultAddresses);
      expect(new Set(addresses).size).toBe(40);
      expect(leases("dmnet").length).toBe(40);
      const deleted = await Promise.all(netns.map((ns, index) => call(hostA, "DEL", `dmburst${index}`, ns)));
      expect(failures(deleted)).toEqual([]);
      expect(leases("dmnet")).toEqual([]);
      for (const daemonNow of started.splice(0)) stop(daemonNow);
    }
  });

  it("does not grow: RSS stays flat over 20,000 requests once the JIT has warmed up", async () => {
    const daemon = daemonIn(hostA, ["--workers", "2"]);
    const buildId = BUILD_ID();
    const env = { CNI_COMMAND: "VERSION", CNI_PATH: distBin };
    const badAdd = {
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: "dmrss",
      CNI_NETNS: "/nonexistent",
      CNI_IFNAME: "eth0",
      CNI_PATH: distBin,
    };
    const send = async (count: number): Promise<number> => {
      for (let index = 0; index < count; index++) {
        const answer = rawRequest({
          netnsPath: hostA.path,
          buildId,
          plugin: "bridge",
          env: index % 2 ? env : badAdd,
          stdin: JSON.stringify(config("dmrss")),
        });
        expect(answer.status).toBe(index % 2 ? 0 : 1);
      }
      await sleep(700); // idle: the workers collect garbage (src/daemon/worker.ts)
      return rssKb(daemon.pid);
    };
    // Measured: about 64 MB after 100 requests, 69 after 1,000, 80 after 10,000, then
    // 80-88 MB up to 40,000: the first thousands are JIT code, not a leak. A leak of
    // 1 KB per request would add 10 MB per 10,000.
    const after100 = await send(100);
    const after1k = await send(900);
    const after10k = await send(9000);
    const after20k = await send(10_000);
    console.info(
      `daemon RSS (kB) after 100, 1,000, 10,000, 20,000 requests: ${after100} ${after1k} ${after10k} ${after20k}`,
    );
    expect(after10k - after1k).toBeLessThan(20 * 1024);
    expect(after20k - after10k).toBeLessThan(10 * 1024);
    expect(status(hostA)?.served).toBe(20_000);
    stop(daemon);
  });
});
