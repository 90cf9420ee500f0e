// The plugin names are links to the C front end (native/cnikit_front.c), which hands a
// call to the resident daemon of its network namespace or, with none, execs the compiled
// cnikit. Here it runs against a scripted fake daemon (test/helpers/fake-daemon.js) in a
// test namespace: answers, refusals, a daemon that dies mid-answer or never answers, and
// stdin that is too big to send. Nothing listens outside that namespace.
import { type ChildProcess, spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Netns, NetnsFixture } from "../../netns-fixtures";
import { distBin } from "../helpers/exec";

const FRONT = path.join(distBin, "bridge");
const CNIKIT = path.join(distBin, "cnikit");
// Bun, not node: node 20 binds an abstract name padded with NULs to all 108 bytes of
// sun_path (`ss -xl` shows "@cnikit-daemon/1@@@..."), a different name from the one the
// front end and the real daemon use; Bun runs the same node:net script with the exact length.
const BUN = path.join(__dirname, "..", "..", "node_modules", ".bin", "bun");
const FAKE_DAEMON = path.join(__dirname, "..", "helpers", "fake-daemon.js");

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** What the fake daemon saw of one request (see fake-daemon.js). */
interface Seen {
  hello: { magic: string; build: string; P: number; E: number; S: number };
  plugin?: string;
  env?: string[];
  envEndsWithNul?: boolean;
  stdinLength?: number;
  stdin?: string;
  stdinSha256?: string;
  extraBytes?: number;
}

type Frame =
  | { type: "e" | "o"; data: string; truncateTo?: number }
  | { type: "x"; status: number }
  | { type: "close" }
  | { type: "hang" };
type Behaviour = { verdict: "Y"; limitMs?: number; frames: Frame[] } | { verdict: "N"; reason: string; text?: string };

const fixture = new NetnsFixture();
let host: Netns;
let buildId: string;
let daemon: FakeDaemon | undefined;

class FakeDaemon {
  readonly seen: Seen[] = [];
  private stderr = "";
  private constructor(private readonly child: ChildProcess) {}

  static start(behaviour: Behaviour): Promise<FakeDaemon> {
    const child = spawn("nsenter", [`--net=${host.path}`, BUN, FAKE_DAEMON, JSON.stringify(behaviour)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const fake = new FakeDaemon(child);
    return new Promise((resolve, reject) => {
      let pending = "";
      child.stderr?.on("data", (chunk: Buffer) => (fake.stderr += chunk.toString()));
      child.stdout?.on("data", (chunk: Buffer) => {
        pending += chunk.toString();
        for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
          const record = JSON.parse(pending.slice(0, nl)) as Seen & { listening?: boolean };
          pending = pending.slice(nl + 1);
          if (record.listening) resolve(fake);
          else fake.seen.push(record);
        }
      });
      child.on("exit", (code) => reject(new Error(`fake daemon exited (${code}) before listening: ${fake.stderr}`)));
    });
  }

  /** The requests seen so far; waits a moment for the report of the last one to arrive. */
  async requests(count: number): Promise<Seen[]> {
    for (let waited = 0; this.seen.length < count && waited < 2000; waited += 20)
      await new Promise((r) => setTimeout(r, 20));
    return this.seen;
  }

  stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.on("exit", () => resolve());
      this.child.kill("SIGKILL");
    });
  }
}

function run(argv: string[], env: Record<string, string>, stdin: string): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv as [string, ...string[]];
    const child = spawn(file, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.stdin.on("error", () => {}); // a plugin that never reads stdin (no CNI_COMMAND)
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({
        status,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        ms: Date.now() - started,
      });
    });
    child.stdin.end(stdin);
  });
}

/** dist/bin/bridge (the front end) in the test's host namespace. */
const front = (env: Record<string, string>, stdin: string): Promise<Run> =>
  run(["nsenter", `--net=${host.path}`, FRONT], env, stdin);

/** The compiled executable itself, started with the argv[0] the front end would hand it. */
const direct = (env: Record<string, string>, stdin: string): Promise<Run> =>
  run(["nsenter", `--net=${host.path}`, "bash", "--norc", "-c", 'exec -a "$0" "$1"', FRONT, CNIKIT], env, stdin);

function cniEnv(command: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    CNI_COMMAND: command,
    CNI_CONTAINERID: "front-end-test",
    CNI_NETNS: `/run/netns/${fixture.prefix}absent`,
    CNI_IFNAME: "eth0",
    CNI_PATH: distBin,
    ...extra,
  };
}

/** A config the bridge rejects with a message that quotes `token`: what it says depends on stdin. */
function badConfig(token: string, cniVersion = "0.4.0", padding = ""): string {
  return `{"cniVersion":"${cniVersion}","name":"front","type":"bridge",${padding}"mtu":"${token}"}`;
}

const token = (): string => `tok-${crypto.randomBytes(6).toString("hex")}`;

beforeAll(() => {
  // createNetns, not hostNetns: in resident mode (CNIKIT_TEST_DAEMON=1) a host namespace
  // gets a real daemon, and this namespace must hold only the fake one, or none.
  host = fixture.createNetns("front");
  buildId = fs.readFileSync(path.join(distBin, "BUILD_ID"), "utf8").trim();
});

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

afterAll(async () => {
  await daemon?.stop();
  fixture.cleanup();
});

describe("the plugin front end", () => {
  it("is the plugins' link target", () => {
    expect(fs.readlinkSync(FRONT)).toBe("cnikit-front");
    expect(buildId).toMatch(/^[0-9a-f]{16}$/);
  });

  it("with no daemon, runs the compiled cnikit: the same bytes and status", async () => {
    const bad = badConfig(token());
    for (const [env, stdin] of [
      [cniEnv("VERSION"), "{}"],
      [cniEnv("ADD"), bad],
      [{ PATH: process.env.PATH ?? "/usr/bin:/bin" }, ""],
    ] as const) {
      const [viaFront, itself] = [await front(env, stdin), await direct(env, stdin)];
      expect({ ...viaFront, ms: 0 }).toEqual({ ...itself, ms: 0 });
    }
    const versionRun = await front(cniEnv("VERSION"), "{}");
    expect(versionRun.status).toBe(0);
    expect(JSON.parse(versionRun.stdout)).toMatchObject({ cniVersion: "1.1.0" });

    const debug = await front(cniEnv("ADD", { CNIKIT_FRONT_DEBUG: "1" }), bad);
    expect(debug.stderr).toMatch(
      /^cnikit-front: running standalone: cannot connect to @cnikit-daemon\/1: Connection refused\n/,
    );
    expect(debug.stdout).toBe((await direct(cniEnv("ADD"), bad)).stdout);
  });

  it("hands the call to the daemon and prints its answer", async () => {
    const result = JSON.stringify({ cniVersion: "1.0.0", interfaces: [{ name: "from-the-daemon" }] });
    daemon = await FakeDaemon.start({
      verdict: "Y",
      frames: [
        { type: "e", data: "first warning\n" },
        { type: "e", data: "second warning\n" },
        { type: "o", data: result },
        { type: "x", status: 0 },
      ],
    });
    const env = cniEnv("ADD", { SOME_VAR: "a value with spaces = and Ünïcode" });
    const stdin = JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "bridge", note: "ünïcödé\n\ttabs" });
    const answered = await front(env, stdin);
    expect(answered).toMatchObject({ status: 0, stdout: result, stderr: "first warning\nsecond warning\n" });

    const [seen] = await daemon.requests(1);
    const envList = Object.entries(env).map(([name, value]) => `${name}=${value}`);
    expect(seen).toEqual({
      hello: {
        magic: "CNK2", // a small body goes right behind the hello
        build: buildId,
        P: "bridge".length,
        E: Buffer.byteLength(`${envList.join("\0")}\0`),
        S: Buffer.byteLength(stdin),
        done: true,
      },
      plugin: "bridge",
      env: envList,
      envEndsWithNul: true,
      stdinLength: Buffer.byteLength(stdin),
      stdin,
      stdinSha256: crypto.createHash("sha256").update(stdin).digest("hex"),
      extraBytes: 0,
    });
  });

  it("sends a body over 64 KiB only after the verdict (CNK1), byte for byte", async () => {
    const result = JSON.stringify({ cniVersion: "1.0.0", dns: {} });
    daemon = await FakeDaemon.start({
      verdict: "Y",
      frames: [
        { type: "o", data: result },
        { type: "x", status: 0 },
      ],
    });
    const stdin = JSON.stringify({ cniVersion: "1.0.0", name: "n", type: "bridge", pad: "x".repeat(100_000) });
    expect(await front(cniEnv("ADD"), stdin)).toMatchObject({ status: 0, stdout: result });
    const [seen] = await daemon.requests(1);
    expect(seen?.hello).toMatchObject({ magic: "CNK1", S: stdin.length });
    expect(seen?.stdinSha256).toBe(crypto.createHash("sha256").update(stdin).digest("hex"));
  });

  it("passes the daemon's exit status through", async () => {
    const error = JSON.stringify({ cniVersion: "1.0.0", code: 7, msg: "from the daemon" });
    daemon = await FakeDaemon.start({
      verdict: "Y",
      frames: [
        { type: "o", data: error },
        { type: "x", status: 1 },
      ],
    });
    expect(await front(cniEnv("ADD"), "{}")).toMatchObject({ status: 1, stdout: error, stderr: "" });
  });

  it("runs standalone, with stdin intact, when the daemon refuses (N B)", async () => {
    daemon = await FakeDaemon.start({ verdict: "N", reason: "B", text: "another build: 0000000000000000" });
    const stdin = badConfig(token());
    const [refused, itself] = [await front(cniEnv("ADD"), stdin), await direct(cniEnv("ADD"), stdin)];
    expect({ ...refused, ms: 0 }).toEqual({ ...itself, ms: 0 });
    expect(refused.stdout).toContain(JSON.parse(stdin).mtu);
    const [seen] = await daemon.requests(1);
    expect(seen?.hello).toMatchObject({ magic: "CNK2", build: buildId, S: stdin.length });
    expect(seen?.plugin).toBeUndefined(); // no body after a refusal

    const debug = await front(cniEnv("ADD", { CNIKIT_FRONT_DEBUG: "1" }), stdin);
    expect(debug.stderr).toContain(
      "cnikit-front: running standalone: the daemon refused (B): another build: 0000000000000000\n",
    );
    expect(debug.stdout).toBe(itself.stdout);
  });

  it("answers code 11 in the config's version, and drops the result, when the daemon dies mid-answer", async () => {
    // The prevResult's cniVersion comes first: only the top-level one counts.
    const stdin = JSON.stringify({
      prevResult: { cniVersion: "1.0.0" },
      name: "n",
      cniVersion: "0.3.1",
      type: "bridge",
    });
    for (const last of [
      { type: "o", data: '{"cniVersion":"0.3.1","partial":true}' },
      { type: "o", data: '{"partial":true}', truncateTo: 5 },
    ] as Frame[]) {
      daemon = await FakeDaemon.start({
        verdict: "Y",
        frames: [{ type: "e", data: "progress\n" }, last, { type: "close" }],
      });
      const broken = await front(cniEnv("ADD"), stdin);
      expect(broken.status).toBe(1);
      expect(broken.stderr).toBe("progress\n"); // stderr frames go out as they come
      expect(broken.stdout).not.toContain("partial");
      expect(JSON.parse(broken.stdout)).toEqual({
        cniVersion: "0.3.1",
        code: 11,
        msg: "cnikit daemon: the daemon closed the connection before answering (it died or its worker was killed)",
        details: expect.stringContaining("plugin bridge"),
      });
      await daemon.stop();
    }
  });

  it("gives up limit_ms + 5 s after the verdict when the answer never comes", async () => {
    daemon = await FakeDaemon.start({ verdict: "Y", limitMs: 500, frames: [{ type: "hang" }] });
    const waited = await front(cniEnv("DEL"), JSON.stringify({ name: "n", type: "bridge" }));
    expect(waited.status).toBe(1);
    expect(JSON.parse(waited.stdout)).toMatchObject({
      cniVersion: "1.1.0",
      code: 11,
      msg: "cnikit daemon: no answer within 5500 ms",
    });
    expect(waited.ms).toBeGreaterThanOrEqual(5400);
    expect(waited.ms).toBeLessThan(6500);
  });

  it("hands all of a 50 MB stdin to the standalone run when the daemon refuses it (N L)", async () => {
    daemon = await FakeDaemon.start({ verdict: "N", reason: "L", text: "stdin over the daemon's bound" });
    const stdin = badConfig(token(), "0.3.1", " ".repeat(50_000_000));
    const [refused, itself] = [await front(cniEnv("ADD"), stdin), await direct(cniEnv("ADD"), stdin)];
    expect({ ...refused, ms: 0 }).toEqual({ ...itself, ms: 0 });
    expect(JSON.parse(refused.stdout)).toMatchObject({
      cniVersion: "0.3.1",
      code: 7,
      msg: expect.stringContaining(JSON.parse(stdin).mtu),
    });
    const [seen] = await daemon.requests(1);
    expect(seen?.hello.S).toBe(stdin.length);
  });

  it("runs standalone when stdin is over 64 MiB, without asking the daemon, and the plugin refuses it (code 5)", async () => {
    daemon = await FakeDaemon.start({
      verdict: "Y",
      frames: [
        { type: "o", data: "{}" },
        { type: "x", status: 0 },
      ],
    });
    const stdin = badConfig(token(), "1.0.0", "\n".repeat(70 * 1024 * 1024));
    const tooBig = await front(cniEnv("ADD", { CNIKIT_FRONT_DEBUG: "1" }), stdin);
    expect(tooBig.stderr).toMatch(/^cnikit-front: running standalone: stdin is over 64 MiB\n/);
    expect(tooBig.status).toBe(1);
    expect(JSON.parse(tooBig.stdout)).toEqual({
      cniVersion: "1.1.0",
      code: 5,
      msg: "error reading from stdin: stdin is larger than 64 MiB (the bound for a network config)",
    });
    expect(daemon.seen).toEqual([]);
  });
});
