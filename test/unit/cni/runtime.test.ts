import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CniRuntime, type RuntimeConf } from "../../../src/cni/runtime/runtime";
import { loadNetworkList } from "../../../src/cni/runtime/conflist";

interface LoggedCall {
  command: string;
  type: string;
  conf: Record<string, unknown>;
  env: Record<string, string>;
}

let dir: string;
let runtime: CniRuntime;
const rt: RuntimeConf = {
  containerId: "c1",
  netns: "/run/netns/c1",
  ifName: "eth0",
  args: [["K8S_POD_NAME", "web"]],
  capabilityArgs: { mac: "0a:00:00:00:00:01", portMappings: [] },
};

function calls(): LoggedCall[] {
  const log = path.join(dir, "calls.log");
  if (!fs.existsSync(log)) return [];
  const lines = fs.readFileSync(log, "utf8").trim().split("\n");
  fs.rmSync(log);
  return lines.map((line) => JSON.parse(line) as LoggedCall);
}

function list(cniVersion: string, extra: Record<string, unknown> = {}) {
  return {
    cniVersion,
    name: "net1",
    plugins: [
      { type: "fake-a", addAddress: "10.1.0.5/24", capabilities: { mac: true } },
      { type: "fake-b", capabilities: { ips: true } },
    ],
    ...extra,
  };
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-runtime-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  for (const name of ["fake-a", "fake-b"])
    fs.copyFileSync(path.join(__dirname, "fixtures", "fake-plugin.js"), path.join(bin, name));
  for (const name of ["fake-a", "fake-b"]) fs.chmodSync(path.join(bin, name), 0o755);
  // NODE_EXTRA_CA_CERTS costs each fake plugin (a node script) about 40 ms.
  runtime = new CniRuntime({
    pluginPaths: [bin],
    cacheDir: path.join(dir, "cache"),
    env: { FAKE_LOG: path.join(dir, "calls.log"), NODE_EXTRA_CA_CERTS: undefined },
  });
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("the runtime", () => {
  it("ADD runs the list in order, chaining prevResult and injecting name, version and requested capabilities", async () => {
    const result = await runtime.addNetworkList(list("1.0.0"), rt);
    expect(result).toEqual({
      cniVersion: "1.1.0",
      interfaces: [{ name: "fake-a-if" }, { name: "fake-b-if" }],
      ips: [{ interface: 0, address: "10.1.0.5/24" }],
    });
    const [a, b, ...rest] = calls();
    expect(rest).toEqual([]);
    expect([a?.command, a?.type, b?.command, b?.type]).toEqual(["ADD", "fake-a", "ADD", "fake-b"]);
    expect(a?.conf).toMatchObject({ name: "net1", cniVersion: "1.0.0", runtimeConfig: { mac: "0a:00:00:00:00:01" } });
    expect(a?.conf).not.toHaveProperty("prevResult");
    expect(b?.conf).not.toHaveProperty("runtimeConfig"); // asked for ips, which the runtime did not give
    expect(b?.conf.prevResult).toEqual({
      cniVersion: "1.0.0",
      interfaces: [{ name: "fake-a-if" }],
      ips: [{ interface: 0, address: "10.1.0.5/24" }],
    });
    expect(a?.env).toEqual({
      containerId: "c1",
      netns: "/run/netns/c1",
      ifName: "eth0",
      args: "K8S_POD_NAME=web",
      path: path.join(dir, "bin"),
    });
  });

  it("caches the result in libcni's layout and format", async () => {
    await runtime.addNetworkList(list("1.0.0"), rt);
    const file = path.join(dir, "cache", "results", "net1-c1-eth0");
    expect(runtime.cacheFileOf(list("1.0.0"), rt)).toBe(file);
    const entry = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    expect(entry).toMatchObject({
      kind: "cniCacheV1",
      containerId: "c1",
      ifName: "eth0",
      networkName: "net1",
      netns: "/run/netns/c1",
      cniArgs: [["K8S_POD_NAME", "web"]],
    });
    expect((entry.result as Record<string, unknown>).cniVersion).toBe("1.0.0");
    expect(JSON.parse(Buffer.from(entry.config as string, "base64").toString())).toEqual(list("1.0.0"));
  });

  it("CHECK and DEL get the cached prevResult; DEL runs in reverse and drops the cache entry", async () => {
    const result = await runtime.addNetworkList(list("0.4.0"), rt);
    calls();
    await runtime.checkNetworkList(list("0.4.0"), rt);
    const checks = calls();
    expect(checks.map((c) => [c.command, c.type])).toEqual([
      ["CHECK", "fake-a"],
      ["CHECK", "fake-b"],
    ]);
    expect(
      checks.every(
        (c) =>
          JSON.stringify(c.conf.prevResult) ===
          JSON.stringify({
            cniVersion: "0.4.0",
            interfaces: [{ name: "fake-a-if" }, { name: "fake-b-if" }],
            ips: [{ version: "4", interface: 0, address: "10.1.0.5/24" }],
          }),
      ),
    ).toBe(true);
    expect(runtime.cachedResult(list("0.4.0"), rt)).toEqual(result);
    await runtime.delNetworkList(list("0.4.0"), rt);
    const dels = calls();
    expect(dels.map((c) => [c.command, c.type])).toEqual([
      ["DEL", "fake-b"],
      ["DEL", "fake-a"],
    ]);
    expect(dels[0]?.conf.prevResult).toBeDefined();
    expect(runtime.cachedResult(list("0.4.0"), rt)).toBeUndefined();
  });

  it("CHECK needs 0.4.0; disableCheck skips it; DEL before 0.4.0 gets no prevResult", async () => {
    await expect(runtime.checkNetworkList(list("0.3.1"), rt)).rejects.toMatchObject({ code: 1 });
    await runtime.checkNetworkList(list("1.0.0", { disableCheck: true }), rt);
    expect(calls()).toEqual([]);
    await runtime.addNetworkList(list("0.3.1"), rt);
    calls();
    await runtime.delNetworkList(list("0.3.1"), rt);
    expect(calls().map((c) => c.conf.prevResult)).toEqual([undefined, undefined]);
  });

  it("a plugin's error comes back with its code and details, naming the plugin", async () => {
    const failing = {
      ...list("1.0.0"),
      plugins: [{ type: "fake-a" }, { type: "fake-b", failOn: { ADD: { code: 11, msg: "busy", details: "later" } } }],
    };
    await expect(runtime.addNetworkList(failing, rt)).rejects.toMatchObject({
      code: 11,
      message: 'plugin type="fake-b" failed (add): busy',
      details: "later",
    });
  });

  it("GC deletes the cached attachments that are no longer valid, then runs GC with the valid ones (1.1.0)", async () => {
    const other: RuntimeConf = { ...rt, containerId: "c2" };
    await runtime.addNetworkList(list("1.1.0"), rt);
    await runtime.addNetworkList(list("1.1.0"), other);
    calls();
    await runtime.gcNetworkList(list("1.1.0"), [{ containerID: "c1", ifname: "eth0" }]);
    const gc = calls();
    expect(gc.map((c) => [c.command, c.type, c.env.containerId])).toEqual([
      ["DEL", "fake-b", "c2"],
      ["DEL", "fake-a", "c2"],
      ["GC", "fake-a", ""],
      ["GC", "fake-b", ""],
    ]);
    expect(gc[2]?.conf).toMatchObject({
      "cni.dev/valid-attachments": [{ containerID: "c1", ifname: "eth0" }],
      "cni.dev/attachments": [{ containerID: "c1", ifname: "eth0" }],
    });
    expect(runtime.cachedResult(list("1.1.0"), other)).toBeUndefined();
    expect(runtime.cachedResult(list("1.1.0"), rt)).toBeDefined();
  });

  it("STATUS runs on 1.1.0 lists only; VERSION asks the plugin", async () => {
    await runtime.statusNetworkList(list("1.0.0"));
    expect(calls()).toEqual([]);
    await runtime.statusNetworkList(list("1.1.0"));
    expect(calls().map((c) => c.command)).toEqual(["STATUS", "STATUS"]);
    expect(await runtime.versionOf("fake-a")).toEqual({
      cniVersion: "1.1.0",
      supportedVersions: ["0.4.0", "1.0.0", "1.1.0"],
    });
  });
});

describe("loading network lists", () => {
  it("reads a .conf as a list of one and a .conflist as is", () => {
    const confFile = path.join(os.tmpdir(), `cnikit-${process.pid}.conf`);
    fs.writeFileSync(confFile, JSON.stringify({ cniVersion: "0.4.0", name: "single", type: "bridge" }));
    try {
      expect(loadNetworkList(confFile)).toMatchObject({
        name: "single",
        cniVersion: "0.4.0",
        plugins: [{ type: "bridge" }],
      });
    } finally {
      fs.rmSync(confFile);
    }
    expect(
      loadNetworkList({ cniVersions: ["0.4.0", "1.1.0"], name: "l", plugins: [{ type: "x" }], disableCheck: "true" }),
    ).toMatchObject({ cniVersion: "1.1.0", disableCheck: true });
  });

  it.each([
    [{ plugins: [{ type: "x" }] }, "name"],
    [{ name: "l", plugins: [] }, "plugins"],
    [{ name: "l", plugins: [{}] }, "plugins[0].type"],
    [{ name: "l", plugins: [{ type: "x" }], disableCheck: 3 }, "disableCheck"],
  ])("%j is code 7 naming %s", (raw, field) => {
    expect(() => loadNetworkList(raw)).toThrow(
      expect.objectContaining({ code: 7, message: expect.stringContaining(`${field}:`) }),
    );
  });
});
