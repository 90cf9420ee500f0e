// `cnikit add|check|del|gc|status|version` driving plugins the way cnitool does: the
// Go reference plugins, ours, and a mix, each run with the CLI inside a throwaway
// "host" namespace so every bridge lands there. Kernel state is read with ip -j.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, type Netns, addrs, links } from "../../../netns-fixtures";
import { cnikit, cnikitBin, cnikitOk, expectOneLineFailure } from "./run-cli";

const GO_PLUGINS = "/usr/lib/cni";
const fixture = new NetnsFixture();
let workDir: string;

beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-cli-"));
});
afterAll(() => {
  try {
    fixture.cleanup();
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
});

interface NetworkSpec {
  file: string;
  name: string;
  bridge: string;
  subnet: string;
  cniVersion?: string;
  single?: boolean;
}

/** A bridge + host-local network whose leases and cache stay in this test's directory. */
function writeNetwork(spec: NetworkSpec): string {
  const plugin = {
    type: "bridge",
    bridge: spec.bridge,
    isGateway: true,
    ipam: { type: "host-local", dataDir: path.join(workDir, "ipam"), ranges: [[{ subnet: spec.subnet }]] },
  };
  const cniVersion = spec.cniVersion ?? "1.0.0";
  const body = spec.single
    ? { cniVersion, name: spec.name, ...plugin }
    : { cniVersion, name: spec.name, plugins: [plugin] };
  const file = path.join(workDir, spec.file);
  fs.writeFileSync(file, JSON.stringify(body));
  return file;
}

interface Attached {
  address: string;
}

function cacheDir(): string {
  return path.join(workDir, "cache");
}

function addIn(host: Netns, configFile: string, ctr: Netns, cniPath: string, extra: string[] = []): Attached {
  const stdout = cnikitOk(["add", "--cache-dir", cacheDir(), ...extra, configFile, ctr.name], {
    inNetns: host.path,
    env: { CNI_PATH: cniPath },
  });
  const result = JSON.parse(stdout) as { ips: { address: string }[] };
  const address = result.ips[0]?.address.split("/")[0];
  if (!address) throw new Error(`no address in ${stdout}`);
  return { address };
}

function containerAddresses(ctr: Netns, ifname = "eth0"): string[] {
  return addrs(ctr)
    .filter((link) => link.ifname === ifname)
    .flatMap((link) => link.addr_info.filter((info) => info.family === "inet").map((info) => info.local));
}

function cachedAttachments(): string[] {
  const results = path.join(cacheDir(), "results");
  return fs.existsSync(results) ? fs.readdirSync(results) : [];
}

/** A directory whose `bridge` is the Go one and whose `host-local` is ours. */
function mixedPluginDir(): string {
  const dir = path.join(workDir, "mixed");
  fs.mkdirSync(dir, { recursive: true });
  fs.symlinkSync(path.join(GO_PLUGINS, "bridge"), path.join(dir, "bridge"));
  fs.symlinkSync(cnikitBin, path.join(dir, "host-local"));
  return dir;
}

describe("cnikit add/check/del", () => {
  it("drives the Go reference bridge + host-local, and del twice leaves nothing", () => {
    const host = fixture.hostNetns();
    const ctr = fixture.containerNetns();
    const config = writeNetwork({ file: "go.conflist", name: "gonet", bridge: "gobr0", subnet: "10.231.0.0/24" });
    const { address } = addIn(host, config, ctr, GO_PLUGINS);
    expect(address).toMatch(/^10\.231\.0\./);
    expect(containerAddresses(ctr)).toEqual([address]);
    expect(links(host).find((link) => link.ifname === "gobr0")?.linkinfo?.info_kind).toBe("bridge");
    expect(cachedAttachments()).toHaveLength(1);

    cnikitOk(["check", "--cache-dir", cacheDir(), config, ctr.name], {
      inNetns: host.path,
      env: { CNI_PATH: GO_PLUGINS },
    });

    for (let round = 0; round < 2; round++) {
      cnikitOk(["del", "--cache-dir", cacheDir(), config, ctr.name], {
        inNetns: host.path,
        env: { CNI_PATH: GO_PLUGINS },
      });
      expect(containerAddresses(ctr)).toEqual([]);
      expect(links(host).filter((link) => link.linkinfo?.info_slave_kind === "bridge")).toEqual([]);
      expect(cachedAttachments()).toEqual([]);
    }
  });

  it("runs plugins inside --host-netns itself, and a .conf with an explicit ifname and container id", () => {
    const host = fixture.hostNetns();
    const ctr = fixture.containerNetns();
    const config = writeNetwork({
      file: "single.conf",
      name: "single",
      bridge: "onebr0",
      subnet: "10.232.0.0/24",
      cniVersion: "0.4.0",
      single: true,
    });
    const common = [
      "--cache-dir",
      cacheDir(),
      "--host-netns",
      host.name,
      "--ifname",
      "net1",
      "--container-id",
      "ctr-one",
    ];
    const stdout = cnikitOk(["add", ...common, config, ctr.path], { env: { CNI_PATH: GO_PLUGINS } });
    expect(JSON.parse(stdout)).toMatchObject({ cniVersion: "0.4.0" });
    expect(containerAddresses(ctr, "net1")).toHaveLength(1);
    expect(links(host).map((link) => link.ifname)).toContain("onebr0");
    expect(cachedAttachments()).toEqual(["single-ctr-one-net1"]);
    cnikitOk(["del", ...common, config, ctr.path], { env: { CNI_PATH: GO_PLUGINS } });
    expect(containerAddresses(ctr, "net1")).toEqual([]);
    expect(cachedAttachments()).toEqual([]);
  });

  it("drives the Go bridge delegating to our host-local", () => {
    const host = fixture.hostNetns();
    const ctr = fixture.containerNetns();
    const config = writeNetwork({ file: "mixed.conflist", name: "mixed", bridge: "mixbr0", subnet: "10.233.0.0/24" });
    const pluginDir = mixedPluginDir();
    const { address } = addIn(host, config, ctr, pluginDir);
    expect(containerAddresses(ctr)).toEqual([address]);
    expect(fs.readdirSync(path.join(workDir, "ipam", "mixed")).join(" ")).toContain(address);
    cnikitOk(["del", "--cache-dir", cacheDir(), config, ctr.name], {
      inNetns: host.path,
      env: { CNI_PATH: pluginDir },
    });
    expect(containerAddresses(ctr)).toEqual([]);
    expect(fs.readdirSync(path.join(workDir, "ipam", "mixed")).join(" ")).not.toContain(address);
  });

  it("drives our bridge + host-local from beside the executable (no CNI_PATH)", () => {
    const host = fixture.hostNetns();
    const ctr = fixture.containerNetns();
    const config = writeNetwork({
      file: "ours.conflist",
      name: "ours",
      bridge: "ourbr0",
      subnet: "10.234.0.0/24",
      cniVersion: "1.1.0",
    });
    const stdout = cnikitOk(["add", "--cache-dir", cacheDir(), config, ctr.name], { inNetns: host.path });
    const address = (JSON.parse(stdout) as { ips: { address: string }[] }).ips[0]?.address.split("/")[0];
    expect(containerAddresses(ctr)).toEqual([address]);
    expect(links(host).find((link) => link.ifname === "ourbr0")?.linkinfo?.info_kind).toBe("bridge");
    cnikitOk(["check", "--cache-dir", cacheDir(), config, ctr.name], { inNetns: host.path });
    cnikitOk(["del", "--cache-dir", cacheDir(), config, ctr.name], { inNetns: host.path });
    expect(containerAddresses(ctr)).toEqual([]);
    expect(cachedAttachments()).toEqual([]);
  });

  it("gc deletes the cached attachments that are not listed as valid", () => {
    const host = fixture.hostNetns();
    const [kept, stale] = [fixture.containerNetns(), fixture.containerNetns()];
    const config = writeNetwork({ file: "gc.conflist", name: "gcnet", bridge: "gcbr0", subnet: "10.235.0.0/24" });
    addIn(host, config, kept, GO_PLUGINS, ["--container-id", "kept"]);
    addIn(host, config, stale, GO_PLUGINS, ["--container-id", "stale"]);
    cnikitOk(["gc", "--cache-dir", cacheDir(), "--valid-attachments", "kept/eth0", config], {
      inNetns: host.path,
      env: { CNI_PATH: GO_PLUGINS },
    });
    expect(cachedAttachments()).toEqual(["gcnet-kept-eth0"]);
    expect(containerAddresses(kept)).toHaveLength(1);
    expect(containerAddresses(stale)).toEqual([]);
    cnikitOk(["del", "--cache-dir", cacheDir(), "--container-id", "kept", config, kept.name], {
      inNetns: host.path,
      env: { CNI_PATH: GO_PLUGINS },
    });
  });
});

describe("cnikit status/version", () => {
  it("prints every plugin's VERSION answer as JSON and says ready", () => {
    const config = writeNetwork({
      file: "ver.conflist",
      name: "ver",
      bridge: "verbr0",
      subnet: "10.236.0.0/24",
      cniVersion: "1.1.0",
    });
    const versions = JSON.parse(cnikitOk(["version", config])) as { type: string; supportedVersions: string[] }[];
    expect(versions).toEqual([
      expect.objectContaining({ type: "bridge", supportedVersions: expect.arrayContaining(["1.1.0"]) }),
    ]);
    const goVersions = JSON.parse(cnikitOk(["version", config], { env: { CNI_PATH: GO_PLUGINS } })) as {
      supportedVersions: string[];
    }[];
    expect(goVersions[0]?.supportedVersions).not.toContain("1.1.0");
    expect(cnikitOk(["status", config])).toBe("ver: ready\n");
  });
});

describe("bad arguments and failing plugins: one line, non-zero", () => {
  it.each([
    [["add"], /missing required argument 'config'/],
    [["add", "x.conflist"], /missing required argument 'netns'/],
    [["add", "/nonexistent/x.conflist", "ns"], /does not exist/],
    [["add", "no-such-network", "ns"], /no network named no-such-network/],
    [["gc", "--bogus", "x.conf"], /unknown option '--bogus'/],
  ])("cnikit %j", (args, message) => {
    expect(expectOneLineFailure(cnikit(args as string[], { env: { NETCONFPATH: workDir } }))).toMatch(message);
  });

  it("names the CNI error code and message", () => {
    const ctr = fixture.containerNetns();
    const config = writeNetwork({ file: "bad.conflist", name: "bad", bridge: "badbr0", subnet: "10.237.0.0/24" });
    const badIfname = cnikit(["add", "--cache-dir", cacheDir(), "--ifname", "a b", config, ctr.name]);
    expect(expectOneLineFailure(badIfname)).toMatch(/^cnikit: CNI error 4: .*CNI_IFNAME/);
    const missingPlugin = cnikit(["add", "--cache-dir", cacheDir(), config, ctr.name], { env: { CNI_PATH: workDir } });
    expect(expectOneLineFailure(missingPlugin)).toMatch(/^cnikit: CNI error 50: .*failed to find plugin "bridge"/);
    expect(expectOneLineFailure(cnikit(["add", "--args", "novalue", config, ctr.name]))).toMatch(
      /CNI error 4: CNI_ARGS: invalid pair/,
    );
    expect(expectOneLineFailure(cnikit(["add", "--capability-args", "[1]", config, ctr.name]))).toMatch(
      /must be a JSON object/,
    );
    expect(expectOneLineFailure(cnikit(["add", config, `${fixture.prefix}absent`]))).toMatch(/does not exist/);
  });
});
