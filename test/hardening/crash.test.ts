// Runtimes kill plugins on timeouts. For every network of NETWORKS, an ADD is killed
// (SIGKILL) after each of its steps in turn; then DEL must succeed and leave the host
// as it was, GC with an empty valid list must release the lease, and a new ADD for
// the same container must work. A plugin killed inside a lock never blocks the next.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Netns, NetnsFixture, TEST_BUILD_EXECUTABLE, daemonMode } from "../../netns-fixtures";
import { distBin, testBin } from "../helpers/exec";
import { type HostCall, type HostExit, failures, runInHost } from "./harness";
import { NETWORKS, type NetworkSpec } from "./networks";
import { type HostSnapshot, snapshotHost } from "./snapshot";

// The crash hooks exist only in the test build: its plugins, and in resident mode its daemons.
const fixture = new NetnsFixture({ daemonExecutable: TEST_BUILD_EXECUTABLE });
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-hz-crash-"));
let host: Netns;
let container: Netns;
let context: { dataDir: string; tag: string };
const survived: string[] = [];

afterAll(() => {
  try {
    fixture.cleanup();
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (survived.length > 0) console.info(`crash points survived (${survived.length}):\n  ${survived.join("\n  ")}`);
  }
});

beforeAll(() => {
  host = fixture.underlay({ hosts: 1 })[0] as Netns;
  container = fixture.containerNetns();
  context = { dataDir, tag: fixture.prefix.slice(-4, -1) };
});

function call(network: NetworkSpec, command: HostCall["command"], extra: Partial<HostCall> = {}): Promise<HostExit> {
  return runInHost({
    hostNetns: host.path,
    plugin: network.plugin,
    command,
    config: network.config(context),
    containerId: "hzcrash",
    containerNetns: container.path,
    binDir: testBin,
    ...extra,
  });
}

/** GC needs CNI 1.1.0; an empty valid list means no attachment of this network is alive. */
function gcEverything(network: NetworkSpec): Promise<HostExit> {
  const config = { ...network.config(context), cniVersion: "1.1.0", "cni.dev/valid-attachments": [] };
  return call(network, "GC", { config });
}

function leases(network: NetworkSpec): string[] {
  const networkDir = path.join(dataDir, String(network.config(context).name));
  return fs.existsSync(networkDir) ? fs.readdirSync(networkDir).filter((name) => /^[0-9.]+$|:/.test(name)) : [];
}

/**
 * The ADD was killed. Standalone, the plugin process died of SIGKILL. In resident mode
 * the daemon died (the hook kills the process it runs in), and the front end answered
 * code 11 ("try again later"), as a runtime would then see it; the host's daemon is
 * started again so the calls after it go through a daemon too.
 */
function expectKilled(crashed: HostExit, step: string): void {
  if (!daemonMode()) {
    expect({ step, signal: crashed.signal }).toEqual({ step, signal: "SIGKILL" });
    return;
  }
  expect({ step, status: crashed.status, code: crashed.json?.code }).toEqual({ step, status: 1, code: 11 });
  // The front end sees the socket close as the dying daemon's files go, which can be a
  // moment before its process is gone; wait for that (bounded) before starting it again.
  let restarted = 0;
  for (const deadline = Date.now() + 5000; restarted === 0 && Date.now() < deadline; ) {
    restarted = fixture.restartDaemons();
    if (restarted === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  expect(restarted, `the host's daemon died at ${step}`).toBe(1);
}

async function addAndDel(network: NetworkSpec): Promise<void> {
  expect(failures([await call(network, "ADD")])).toEqual([]);
  expect(failures([await call(network, "DEL")])).toEqual([]);
}

/** What `after` holds that `before` did not (GC may remove shared objects, never add). */
function beyond(after: HostSnapshot, before: HostSnapshot): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  for (const key of Object.keys(after) as Array<keyof HostSnapshot>) {
    const now = after[key];
    const then = before[key];
    const added =
      Array.isArray(now) && Array.isArray(then)
        ? now.filter((entry) => !then.includes(entry))
        : now === then
          ? []
          : [now];
    if (added.length > 0) extra[key] = added;
  }
  return extra;
}

/** The step names an ADD reports with CNIKIT_TEST_TRACE_STEPS. */
async function stepsOf(network: NetworkSpec): Promise<string[]> {
  const traced = await call(network, "ADD", { env: { CNIKIT_TEST_TRACE_STEPS: "1" } });
  expect(failures([traced])).toEqual([]);
  expect(failures([await call(network, "DEL")])).toEqual([]);
  return [...traced.stderr.matchAll(/cnikit: step (\d+): (.*)/g)].map((match) => match[2] ?? "");
}

describe.each(NETWORKS.map((network) => [network.key, network] as const))(
  "ADD killed at every step: %s",
  (_key, network) => {
    let baseline: HostSnapshot;
    let steps: string[] = [];

    beforeAll(async () => {
      await addAndDel(network); // the shared objects (bridge, nft table) belong to the baseline
      steps = await stepsOf(network);
      baseline = snapshotHost({ host, dataDir, netnsPrefix: fixture.prefix });
    });

    it("reports its steps", () => {
      expect(steps.length).toBeGreaterThanOrEqual(3);
    });

    it("after each kill: DEL leaves nothing, a new ADD works", async () => {
      for (const [index, step] of steps.entries()) {
        const crashed = await call(network, "ADD", { env: { CNIKIT_TEST_CRASH_AFTER_STEP: String(index + 1) } });
        expectKilled(crashed, step);
        expect(failures([await call(network, "DEL")])).toEqual([]);
        expect(
          snapshotHost({ host, dataDir, netnsPrefix: fixture.prefix }),
          `after a kill at step ${index + 1} (${step}) and DEL`,
        ).toEqual(baseline);
        await addAndDel(network);
        expect(snapshotHost({ host, dataDir, netnsPrefix: fixture.prefix })).toEqual(baseline);
        survived.push(`${network.key} (${network.plugin}) step ${index + 1}: ${step}`);
      }
    });

    it("after each kill: GC with an empty valid list releases the lease", async () => {
      for (const [index, step] of steps.entries()) {
        await addAndDel(network); // GC may have removed an unused overlay: the steps are counted with it in place
        const crashed = await call(network, "ADD", { env: { CNIKIT_TEST_CRASH_AFTER_STEP: String(index + 1) } });
        expectKilled(crashed, step);
        expect(failures([await gcEverything(network)])).toEqual([]);
        expect(leases(network), `after a kill at step ${index + 1} (${step}) and GC`).toEqual([]);
        // GC only collects IPAM (and an overlay nothing uses any more); the runtime's DEL removes the links.
        expect(failures([await call(network, "DEL")])).toEqual([]);
        expect(
          beyond(snapshotHost({ host, dataDir, netnsPrefix: fixture.prefix }), baseline),
          `after a kill at step ${index + 1} (${step}), GC and DEL`,
        ).toEqual({});
      }
    });
  },
);

describe("a plugin killed while holding a lock never blocks the next", () => {
  const [bridgeNetwork] = NETWORKS.filter((network) => network.plugin === "bridge");

  it.each([
    ["the bridge's host lock", () => `-bridge-${String(bridgeNetwork?.config(context).bridge)}.lock`],
    ["host-local's network lock", () => path.join(dataDir, String(bridgeNetwork?.config(context).name), "lock")],
  ])("%s", async (_what, lockPathPart) => {
    if (!bridgeNetwork) throw new Error("NETWORKS has no bridge network");
    await addAndDel(bridgeNetwork);
    const baseline = snapshotHost({ host, dataDir, netnsPrefix: fixture.prefix });
    const crashed = await call(bridgeNetwork, "ADD", { env: { CNIKIT_TEST_CRASH_IN_LOCK: lockPathPart() } });
    expectKilled(crashed, _what);
    // A lock left held would make these calls wait for ever: each call's timeout turns that into a failure.
    expect(failures([await call(bridgeNetwork, "DEL", { timeoutMs: 10_000 })])).toEqual([]);
    expect(failures([await call(bridgeNetwork, "ADD", { timeoutMs: 10_000 })])).toEqual([]);
    expect(failures([await call(bridgeNetwork, "DEL", { timeoutMs: 10_000 })])).toEqual([]);
    expect(snapshotHost({ host, dataDir, netnsPrefix: fixture.prefix })).toEqual(baseline);
  });
});

describe("the shipped build", () => {
  it("has none of the hooks: asked to trace and to crash at the first step, an ADD just works", async () => {
    const [network] = NETWORKS;
    if (!network) throw new Error("NETWORKS is empty");
    await addAndDel(network);
    const baseline = snapshotHost({ host, dataDir, netnsPrefix: fixture.prefix });
    // In resident mode the host's daemon is the test build's, of another build id: the
    // shipped front end is refused by it and runs the shipped plugin standalone.
    const hooks = { CNIKIT_TEST_CRASH_AFTER_STEP: "1", CNIKIT_TEST_TRACE_STEPS: "1" };
    const added = await call(network, "ADD", { binDir: distBin, env: hooks });
    expect(failures([added])).toEqual([]);
    expect(added.stderr).not.toContain("cnikit: step");
    expect(failures([await call(network, "DEL", { binDir: distBin })])).toEqual([]);
    expect(snapshotHost({ host, dataDir, netnsPrefix: fixture.prefix })).toEqual(baseline);
  });
});
