// 50 ADDs at once on a bridge that does not exist yet, as a runtime starting many pods
// does, then 50 DELs at once: every call succeeds, and nothing is left.
import { beforeAll, describe, expect, it } from "vitest";
import type { Netns } from "../../../netns-fixtures";
import {
  type Exit,
  addressesOf,
  bridgeNetwork,
  expectNothingLeft,
  leases,
  linkNamed,
  masqRules,
  runBridgeAsync,
  useTestbed,
  vethNames,
} from "./harness";

const PARALLEL = 50;
const testbed = useTestbed("par");
const config = bridgeNetwork({
  name: "parnet",
  bridge: "ckpar0",
  subnet: "10.67.0.0/24",
  dataDir: testbed.dataDir,
  extra: { isGateway: true, ipMasq: true },
});
let host: Netns;
let containers: Array<{ netns: Netns; containerId: string }>;

beforeAll(() => {
  host = testbed.fixture.hostNetns();
  containers = Array.from({ length: PARALLEL }, (_, index) => ({
    netns: testbed.fixture.containerNetns(),
    containerId: `par-${index}`,
  }));
});

function failures(exits: Exit[]): string[] {
  return exits.filter((exit) => exit.status !== 0).map((exit) => `${exit.stdout} ${exit.stderr}`);
}

describe(`${PARALLEL} parallel calls on one new bridge`, () => {
  let addExits: Exit[];

  it(`${PARALLEL} ADDs all succeed, with distinct addresses and no "file exists"`, async () => {
    expect(linkNamed(host, "ckpar0")).toBeUndefined();
    addExits = await Promise.all(
      containers.map(({ netns, containerId }) =>
        runBridgeAsync({ host, command: "ADD", config, netns: netns.path, containerId }),
      ),
    );
    expect(failures(addExits)).toEqual([]);
    for (const exit of addExits) expect(`${exit.stdout} ${exit.stderr}`).not.toMatch(/file exists|EEXIST/i);
    const addresses = addExits.map((exit) => (exit.json?.ips as Array<{ address: string }> | undefined)?.[0]?.address);
    expect(new Set(addresses).size).toBe(PARALLEL);
    expect(leases(testbed.dataDir, "parnet")).toHaveLength(PARALLEL);
  });

  it("the gateway address is on the bridge exactly once; every veth is a port; one rule each", () => {
    expect(addressesOf(host, "ckpar0")).toEqual(["10.67.0.1/24"]);
    const ports = vethNames(host).filter((name) => linkNamed(host, name)?.master === "ckpar0");
    expect(ports).toHaveLength(PARALLEL);
    expect(masqRules(host)).toHaveLength(PARALLEL);
    for (const { netns } of containers) expect(addressesOf(netns, "eth0")).toHaveLength(1);
  });

  it(`${PARALLEL} DELs at once leave no veth, lease or rule`, async () => {
    const delExits = await Promise.all(
      containers.map(({ netns, containerId }, index) => {
        const prevResult = addExits[index]?.json;
        return runBridgeAsync({
          host,
          command: "DEL",
          config: { ...config, prevResult },
          netns: netns.path,
          containerId,
        });
      }),
    );
    expect(failures(delExits)).toEqual([]);
    expectNothingLeft({ host, dataDir: testbed.dataDir, network: "parnet" });
    expect(addressesOf(host, "ckpar0")).toEqual(["10.67.0.1/24"]);
  });
});
