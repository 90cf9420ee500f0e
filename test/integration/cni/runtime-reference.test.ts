// Our runtime driving the Go reference plugins (bridge + host-local + tuning from
// /usr/lib/cni) like libcni would. Every plugin runs inside a throwaway "host"
// namespace (through `ip netns exec`), so the bridge is never made in the root
// namespace; containers are other throwaway namespaces; addresses are 10.x.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, addrs, links, nsExec, type Netns } from "../../../netns-fixtures";
import { CniRuntime, type RuntimeConf } from "../../../src/cni/runtime/runtime";

const REFERENCE_DIR = "/usr/lib/cni";
const haveReference = ["bridge", "host-local", "tuning"].every((p) => fs.existsSync(path.join(REFERENCE_DIR, p)));

const fixture = new NetnsFixture();
let host: Netns;
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-refrt-"));

beforeAll(() => {
  host = fixture.hostNetns();
});

afterAll(() => {
  try {
    fixture.cleanup();
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
});

/** bridge (with host-local IPAM) then tuning, on a bridge and subnet of its own per version. */
function networkList(cniVersion: string, index: number) {
  return {
    cniVersion,
    name: `refnet${index}`,
    plugins: [
      {
        type: "bridge",
        bridge: `cktest${index}`,
        isGateway: true,
        ipMasq: false,
        ipam: {
          type: "host-local",
          dataDir: path.join(workDir, "ipam"),
          ranges: [[{ subnet: `10.77.${index}.0/24` }]],
          routes: [{ dst: "0.0.0.0/0" }],
        },
      },
      { type: "tuning", mtu: 1400, capabilities: { mac: true } },
    ],
  };
}

function runtime(): CniRuntime {
  return new CniRuntime({
    pluginPaths: [REFERENCE_DIR],
    cacheDir: path.join(workDir, "cache"),
    commandPrefix: ["ip", "netns", "exec", host.name],
  });
}

function containerLink(ctr: Netns, ifName: string) {
  return links(ctr).find((link) => link.ifname === ifName);
}

describe.skipIf(!haveReference).each([
  ["0.4.0", 1],
  ["1.0.0", 2],
])("Go reference chain at %s", (cniVersion, index) => {
  const list = networkList(cniVersion, index);
  let ctr: Netns;
  let rt: RuntimeConf;

  beforeAll(() => {
    ctr = fixture.containerNetns();
    rt = {
      containerId: `refctr${index}`,
      netns: ctr.path,
      ifName: "eth0",
      capabilityArgs: { mac: "0a:58:0a:4d:00:99" },
    };
  });

  it("ADD runs bridge (+ host-local) then tuning, and caches the result", async () => {
    const result = await runtime().addNetworkList(list, rt);
    expect(result.interfaces?.map((i) => i.name)).toEqual(expect.arrayContaining([`cktest${index}`, "eth0"]));
    expect(result.ips?.[0]).toMatchObject({
      address: expect.stringMatching(new RegExp(`^10\\.77\\.${index}\\.\\d+/24$`)),
      gateway: `10.77.${index}.1`,
    });
    // tuning applied the capability (mac) and its own mtu inside the container.
    const eth0 = containerLink(ctr, "eth0");
    expect(eth0).toMatchObject({ mtu: 1400, address: "0a:58:0a:4d:00:99" });
    expect(
      addrs(ctr)
        .find((a) => a.ifname === "eth0")
        ?.addr_info.map((i) => `${i.local}/${i.prefixlen}`),
    ).toContain(result.ips?.[0]?.address);
    // The bridge lives in the host namespace, not in the one this test runs in.
    expect(links(host).some((link) => link.ifname === `cktest${index}`)).toBe(true);
    expect(links(`/proc/${process.pid}/ns/net`).some((link) => link.ifname === `cktest${index}`)).toBe(false);
    // The cached prevResult is the chain's final result, in the list's version on disk.
    const cacheFile = path.join(workDir, "cache", "results", `refnet${index}-refctr${index}-eth0`);
    const cached = JSON.parse(fs.readFileSync(cacheFile, "utf8")) as { kind: string; result: { cniVersion: string } };
    expect(cached.kind).toBe("cniCacheV1");
    expect(cached.result.cniVersion).toBe(cniVersion);
    expect(runtime().cachedResult(list, rt)).toEqual(result);
  });

  it("CHECK passes with the cached prevResult, and fails when the container drifted", async () => {
    await runtime().checkNetworkList(list, rt);
    nsExec(ctr, ["ip", "link", "set", "eth0", "mtu", "1300"]);
    await expect(runtime().checkNetworkList(list, rt)).rejects.toMatchObject({
      message: expect.stringContaining('plugin type="tuning" failed (check)'),
    });
    nsExec(ctr, ["ip", "link", "set", "eth0", "mtu", "1400"]);
    await runtime().checkNetworkList(list, rt);
  });

  it("DEL runs tuning then bridge, releases the address and drops the cache entry", async () => {
    const address = runtime().cachedResult(list, rt)?.ips?.[0]?.address.split("/")[0];
    expect(address).toBeDefined();
    const lease = path.join(workDir, "ipam", `refnet${index}`, address ?? "");
    expect(fs.existsSync(lease)).toBe(true);
    await runtime().delNetworkList(list, rt);
    expect(containerLink(ctr, "eth0")).toBeUndefined();
    expect(fs.existsSync(lease)).toBe(false);
    expect(runtime().cachedResult(list, rt)).toBeUndefined();
    // DEL is idempotent: again, with nothing cached, still succeeds.
    await runtime().delNetworkList(list, rt);
  });
});

describe.skipIf(!haveReference)("GC through the runtime with the Go reference plugins", () => {
  it("deletes cached attachments that are not valid any more and keeps the valid one", async () => {
    const list = networkList("1.0.0", 3);
    const keep = fixture.containerNetns();
    const stale = fixture.containerNetns();
    const keepRt: RuntimeConf = { containerId: "gckeep", netns: keep.path, ifName: "eth0" };
    const staleRt: RuntimeConf = { containerId: "gcstale", netns: stale.path, ifName: "eth0" };
    await runtime().addNetworkList(list, keepRt);
    await runtime().addNetworkList(list, staleRt);
    await runtime().gcNetworkList(list, [{ containerID: "gckeep", ifname: "eth0" }]);
    expect(runtime().cachedResult(list, staleRt)).toBeUndefined();
    expect(containerLink(stale, "eth0")).toBeUndefined();
    expect(runtime().cachedResult(list, keepRt)).toBeDefined();
    expect(containerLink(keep, "eth0")).toBeDefined();
    await runtime().delNetworkList(list, keepRt);
  });

  it("reports the reference plugin's VERSION", async () => {
    const info = await runtime().versionOf("bridge");
    expect(info.supportedVersions).toEqual(expect.arrayContaining(["0.4.0", "1.0.0"]));
  });
});
