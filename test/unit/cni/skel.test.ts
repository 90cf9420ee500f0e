import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { CniError } from "../../../src/cni/errors";
import { runSkel } from "../../../src/cni/skel";
import type { CmdArgs, PluginFuncs, Result } from "../../../src/cni/types";
import { SUPPORTED_VERSIONS } from "../../../src/cni/versions";
import { addEnv, fakeIO } from "./fake-io";

const result: Result = {
  cniVersion: "1.1.0",
  interfaces: [{ name: "eth0", mtu: 1400, sandbox: "/run/netns/c1" }],
  ips: [{ interface: 0, address: "10.1.0.5/24", gateway: "10.1.0.1" }],
  routes: [{ dst: "0.0.0.0/0", gw: "10.1.0.1", priority: 5 }],
};

/** Records which verb ran with which arguments. */
function recordingPlugin(calls: Array<[string, CmdArgs]>): PluginFuncs {
  return {
    add: async (args) => {
      calls.push(["ADD", args]);
      return result;
    },
    del: async (args) => void calls.push(["DEL", args]),
    check: async (args) => void calls.push(["CHECK", args]),
    status: async (args) => void calls.push(["STATUS", args]),
    gc: async (args) => void calls.push(["GC", args]),
  };
}

const about = { name: "bridge", version: "0.1.0" };
const config = (cniVersion: string, extra: Record<string, unknown> = {}) => ({
  cniVersion,
  name: "net",
  type: "bridge",
  ...extra,
});

async function run(env: Record<string, string | undefined>, stdin: unknown, funcs?: PluginFuncs) {
  const calls: Array<[string, CmdArgs]> = [];
  const io = fakeIO(env, stdin);
  const status = await runSkel(funcs ?? recordingPlugin(calls), about, io);
  const out = io.stdout.join("");
  return { status, calls, io, out, json: out ? (JSON.parse(out) as Record<string, unknown>) : undefined };
}

describe("the skel", () => {
  it("without CNI_COMMAND names the plugin, its version and our versions on one line", async () => {
    const { status, io, out } = await run({}, "");
    expect(status).toBe(0);
    expect(out).toBe("");
    expect(io.stderr.join("")).toBe(
      "CNI bridge plugin v0.1.0; CNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n",
    );
  });

  it("says this build's package version and commit when the plugin names no version", async () => {
    const io = fakeIO({}, "");
    const status = await runSkel(recordingPlugin([]), { name: "veth" }, io);
    expect(status).toBe(0);
    // Run from source: package.json's version; the commit is the build's define only.
    const { version } = JSON.parse(fs.readFileSync(path.join(__dirname, "../../../package.json"), "utf8"));
    expect(io.stderr.join("")).toBe(
      `CNI veth plugin v${version} (commit unknown); CNI protocol versions supported: ${SUPPORTED_VERSIONS.join(", ")}\n`,
    );
  });

  it("answers VERSION whatever stdin holds", async () => {
    for (const stdin of ["", "{", JSON.stringify(config("9.9.9"))]) {
      const { status, json } = await run({ CNI_COMMAND: "VERSION" }, stdin);
      expect(status).toBe(0);
      expect(json).toEqual({
        cniVersion: "1.1.0",
        supportedVersions: ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
      });
    }
  });

  it("hands the plugin the environment and stdin", async () => {
    const stdin = JSON.stringify(config("1.0.0"));
    const { calls } = await run(addEnv({ CNI_ARGS: "A=1", CNI_PATH: "/a:/b" }), stdin);
    expect(calls).toEqual([
      [
        "ADD",
        {
          containerId: "c1",
          netns: "/run/netns/c1",
          ifName: "eth0",
          args: "A=1",
          path: ["/a", "/b"],
          stdinData: Buffer.from(stdin),
        },
      ],
    ]);
  });

  it.each([
    ["1.1.0", { interfaces: [{ name: "eth0", mtu: 1400, sandbox: "/run/netns/c1" }] }],
    [
      "1.0.0",
      { interfaces: [{ name: "eth0", sandbox: "/run/netns/c1" }], routes: [{ dst: "0.0.0.0/0", gw: "10.1.0.1" }] },
    ],
    ["0.3.1", { ips: [{ version: "4", interface: 0, address: "10.1.0.5/24", gateway: "10.1.0.1" }] }],
    ["0.2.0", { ip4: { ip: "10.1.0.5/24", gateway: "10.1.0.1", routes: [{ dst: "0.0.0.0/0", gw: "10.1.0.1" }] } }],
  ])("prints the ADD result in the config's version %s", async (version, expected) => {
    const { status, json } = await run(addEnv(), config(version));
    expect(status).toBe(0);
    expect(json).toMatchObject({ cniVersion: version, ...expected });
  });

  it("prints nothing for a successful DEL, CHECK, STATUS and GC", async () => {
    for (const command of ["DEL", "CHECK", "STATUS", "GC"]) {
      const { status, out, calls } = await run(addEnv({ CNI_COMMAND: command }), config("1.1.0"));
      expect([status, out, calls.map(([verb]) => verb)]).toEqual([0, "", [command]]);
    }
  });

  it("DEL needs no netns; GC and STATUS need no container", async () => {
    expect((await run(addEnv({ CNI_COMMAND: "DEL", CNI_NETNS: undefined }), config("1.0.0"))).status).toBe(0);
    expect((await run({ CNI_COMMAND: "GC", CNI_PATH: "/bin" }, config("1.1.0"))).status).toBe(0);
    expect((await run({ CNI_COMMAND: "STATUS" }, config("1.1.0"))).status).toBe(0);
  });

  it.each([
    ["unknown verb", addEnv({ CNI_COMMAND: "FOO" }), config("1.0.0"), 4, "unknown CNI_COMMAND: FOO"],
    ["no netns", addEnv({ CNI_NETNS: "" }), config("1.0.0"), 4, "required env variables [CNI_NETNS] missing"],
    ["no CNI_PATH", addEnv({ CNI_PATH: undefined }), config("1.0.0"), 4, "required env variables [CNI_PATH] missing"],
    [
      "bad container ID",
      addEnv({ CNI_CONTAINERID: "-x" }),
      config("1.0.0"),
      4,
      "CNI_CONTAINERID has invalid characters",
    ],
    [
      "bad ifname",
      addEnv({ CNI_IFNAME: "a/b" }),
      config("1.0.0"),
      4,
      "CNI_IFNAME contains / or : or whitespace characters",
    ],
    ["long ifname", addEnv({ CNI_IFNAME: "x".repeat(16) }), config("1.0.0"), 4, "CNI_IFNAME is longer than 15 bytes"],
    ["malformed JSON", addEnv(), "{", 6, /^error decoding network config/],
    ["no name", addEnv(), { cniVersion: "1.0.0", type: "bridge" }, 7, "missing network name"],
    ["unknown version", addEnv(), config("0.5.0"), 1, "incompatible CNI versions"],
    ["CHECK at 0.3.1", addEnv({ CNI_COMMAND: "CHECK" }), config("0.3.1"), 1, "config version does not allow CHECK"],
    ["STATUS at 1.0.0", addEnv({ CNI_COMMAND: "STATUS" }), config("1.0.0"), 1, "config version does not allow STATUS"],
    ["GC at 1.0.0", addEnv({ CNI_COMMAND: "GC" }), config("1.0.0"), 1, "config version does not allow GC"],
  ])("%s: code %i", async (_label, env, stdin, code, msg) => {
    const { status, json, calls } = await run(env, stdin);
    expect(status).toBe(1);
    expect(calls).toEqual([]);
    expect(json?.code).toBe(code);
    expect(json?.msg).toEqual(typeof msg === "string" ? msg : expect.stringMatching(msg));
  });

  it("answers an error in the config's version once it is known", async () => {
    expect((await run(addEnv({ CNI_IFNAME: "" }), config("0.3.1"))).json).toMatchObject({
      cniVersion: "0.3.1",
      code: 4,
    });
    expect((await run(addEnv(), config("0.5.0"))).json).toMatchObject({ cniVersion: "1.1.0", code: 1 });
  });

  it("passes a plugin's CniError through unchanged", async () => {
    const failing = { ...recordingPlugin([]), add: async () => Promise.reject(new CniError(11, "busy", "try later")) };
    const { status, json } = await run(addEnv(), config("1.0.0"), failing);
    expect(status).toBe(1);
    expect(json).toEqual({ cniVersion: "1.0.0", code: 11, msg: "busy", details: "try later" });
  });

  it("turns anything else into 999 without a stack on stdout; stack on stderr only with CNIKIT_DEBUG", async () => {
    const crashing = {
      ...recordingPlugin([]),
      add: async (): Promise<Result> => {
        throw new TypeError("boom");
      },
    };
    const quiet = await run(addEnv(), config("1.0.0"), crashing);
    expect(quiet.out).toBe(JSON.stringify({ cniVersion: "1.0.0", code: 999, msg: "boom" }));
    expect(quiet.io.stderr).toEqual([]);
    const debug = await run(addEnv({ CNIKIT_DEBUG: "1" }), config("1.0.0"), crashing);
    expect(debug.out).toBe(quiet.out);
    expect(debug.io.stderr.join("")).toMatch(/TypeError: boom\n\s+at /);
  });

  it("fails an ADD whose result cannot be written in 0.2.0 with code 1", async () => {
    const noAddress = {
      ...recordingPlugin([]),
      add: async (): Promise<Result> => ({ cniVersion: "1.1.0", interfaces: [{ name: "eth0" }] }),
    };
    const { status, json } = await run(addEnv(), config("0.2.0"), noAddress);
    expect(status).toBe(1);
    expect(json).toMatchObject({ cniVersion: "0.2.0", code: 1 });
  });

  it("reports an unreadable stdin as code 5", async () => {
    const io = fakeIO(addEnv());
    io.readStdin = () => {
      throw new Error("EIO");
    };
    expect(await runSkel(recordingPlugin([]), about, io)).toBe(1);
    expect(JSON.parse(io.stdout.join(""))).toMatchObject({ code: 5 });
  });
});
