// Every spec version from 0.1.0 to 1.1.0: ADD's result in that version's shape, CHECK
// with ADD's result as prevResult where the version has CHECK, DEL; and CHECK noticing
// what changed behind the plugin's back.
import { beforeAll, describe, expect, it } from "vitest";
import { type Netns, nsExec } from "../../../netns-fixtures";
import {
  ALL_VERSIONS,
  type AddResult,
  addOk,
  bridgeNetwork,
  expectNothingLeft,
  runBridge,
  useTestbed,
  withPrevResult,
} from "./harness";

const testbed = useTestbed("ver");
let host: Netns;
beforeAll(() => {
  host = testbed.fixture.hostNetns();
});

const HAS_CHECK = new Set(["0.4.0", "1.0.0", "1.1.0"]);
const network = (cniVersion: string) =>
  bridgeNetwork({
    name: `ver${cniVersion.replace(/\./g, "")}`,
    bridge: "ckver0",
    subnet: "10.65.0.0/24",
    dataDir: testbed.dataDir,
    cniVersion,
    extra: { isDefaultGateway: true },
  });

function expectShape(cniVersion: string, result: AddResult, sandbox: string): void {
  expect(result.cniVersion).toBe(cniVersion);
  if (cniVersion === "0.1.0" || cniVersion === "0.2.0") {
    expect(Object.keys(result).sort()).toEqual(["cniVersion", "ip4"]);
    expect(result.ip4).toEqual({
      ip: expect.stringMatching(/^10\.65\.0\.\d+\/24$/),
      gateway: "10.65.0.1",
      routes: [{ dst: "0.0.0.0/0", gw: "10.65.0.1" }],
    });
    return;
  }
  expect(result.interfaces?.map((iface) => iface.name)).toEqual(["ckver0", expect.stringMatching(/^veth/), "eth0"]);
  expect(result.interfaces?.[2]?.sandbox).toBe(sandbox);
  const versionField = cniVersion.startsWith("0.") ? { version: "4" } : {};
  expect(result.ips).toEqual([
    { ...versionField, interface: 2, address: expect.stringMatching(/^10\.65\.0\.\d+\/24$/), gateway: "10.65.0.1" },
  ]);
  expect(result.routes).toEqual([{ dst: "0.0.0.0/0", gw: "10.65.0.1" }]);
}

describe.each(ALL_VERSIONS)("cniVersion %s", (cniVersion) => {
  it(`ADD in the ${cniVersion} shape, ${HAS_CHECK.has(cniVersion) ? "CHECK passes" : "CHECK refused"}, DEL cleans up`, () => {
    const config = network(cniVersion);
    const ctr = testbed.fixture.containerNetns();
    const call = { host, netns: ctr.path, containerId: `ver-${cniVersion}` };
    const result = addOk({ ...call, config });
    expectShape(cniVersion, result, ctr.path);

    const check = runBridge({ ...call, command: "CHECK", config: withPrevResult(config, result) });
    if (HAS_CHECK.has(cniVersion)) expect(check.status, check.stdout).toBe(0);
    else expect(check.json).toMatchObject({ code: 1 });

    const delConfig = HAS_CHECK.has(cniVersion) ? withPrevResult(config, result) : config;
    const del = runBridge({ ...call, command: "DEL", config: delConfig });
    expect(del.status, del.stdout).toBe(0);
    expectNothingLeft({ host, dataDir: testbed.dataDir, network: config.name as string });
  });
});

describe.each(["0.4.0", "1.1.0"])("CHECK at %s notices", (cniVersion) => {
  const cases: Array<{
    label: string;
    breakIt: (ctr: Netns, result: AddResult) => string[];
    names: (result: AddResult) => string[];
  }> = [
    {
      label: "a removed address",
      breakIt: (ctr, result) => ["-n", ctr.name, "addr", "del", result.ips?.[0]?.address ?? "", "dev", "eth0"],
      names: (result) => [result.ips?.[0]?.address ?? "?"],
    },
    {
      label: "a changed MAC",
      breakIt: (ctr) => ["-n", ctr.name, "link", "set", "eth0", "address", "0a:58:0a:41:00:ff"],
      names: () => ["eth0", "0a:58:0a:41:00:ff"],
    },
    {
      label: "the host end moved off the bridge",
      breakIt: (_ctr, result) => ["-n", host.name, "link", "set", result.interfaces?.[1]?.name ?? "", "nomaster"],
      names: (result) => [result.interfaces?.[1]?.name ?? "?", "ckver0"],
    },
  ];

  it.each(cases)("$label", ({ breakIt, names }) => {
    const config = network(cniVersion);
    const ctr = testbed.fixture.containerNetns();
    const call = { host, netns: ctr.path, containerId: `chk-${cniVersion}-${ctr.name}` };
    const result = addOk({ ...call, config });
    const broken = nsExec(host, ["ip", ...breakIt(ctr, result)]);
    expect(broken.status, broken.stderr).toBe(0);
    const check = runBridge({ ...call, command: "CHECK", config: withPrevResult(config, result) });
    expect(check.status).not.toBe(0);
    for (const name of names(result)) expect(check.json?.msg).toContain(name);
    expect(runBridge({ ...call, command: "DEL", config: withPrevResult(config, result) }).status).toBe(0);
  });
});
