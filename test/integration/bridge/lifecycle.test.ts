// DEL is idempotent and releases the lease even when the container's namespace is gone;
// a failed ADD (IPAM exhausted, CNI_IFNAME taken, a route the kernel refuses) leaves no
// veth, no lease and no masquerade rule.
import { describe, expect, it } from "vitest";
import { nsExec } from "../../../netns-fixtures";
import {
  type BridgeCall,
  addOk,
  addRefused,
  bridgeNetwork,
  expectNothingLeft,
  leases,
  linkNamed,
  masqRules,
  runBridge,
  useTestbed,
  vethNames,
  withPrevResult,
} from "./harness";

const testbed = useTestbed("lfc");
let networkCount = 0;

interface CaseOptions {
  extra?: Record<string, unknown>;
  ipam?: Record<string, unknown>;
  /** Prefix length of the case's subnet (default 24). */
  prefixLength?: number;
}

/** Each case: a host of its own (so "nothing left" is exact) and a network of its own. */
function setup(options: CaseOptions = {}) {
  const index = networkCount++;
  const name = `life${index}`;
  const config = bridgeNetwork({
    name,
    bridge: "cklife0",
    subnet: `10.68.${index}.0/${options.prefixLength ?? 24}`,
    dataDir: testbed.dataDir,
    extra: { isGateway: true, ipMasq: true, ...options.extra },
    ...(options.ipam && { ipam: options.ipam }),
  });
  return {
    host: testbed.fixture.hostNetns(),
    config,
    name,
    subnetPrefix: `10.68.${index}`,
    left: { dataDir: testbed.dataDir, network: name },
  };
}

/** DEL twice, as a runtime retrying does: both must succeed, the second with nothing left to do. */
function delTwice(call: Omit<BridgeCall, "command">): void {
  for (let round = 1; round <= 2; round++) {
    const exit = runBridge({ ...call, command: "DEL" });
    expect(exit.status, `DEL #${round}: ${exit.stdout}`).toBe(0);
  }
}

describe("DEL", () => {
  it("twice: both succeed, the second finds nothing to do", () => {
    const { host, config, left } = setup();
    const ctr = testbed.fixture.containerNetns();
    const result = addOk({ host, config, netns: ctr.path, containerId: "twice" });
    delTwice({ host, config: withPrevResult(config, result), netns: ctr.path, containerId: "twice" });
    expect(linkNamed(ctr, "eth0")).toBeUndefined();
    expectNothingLeft({ host, ...left });
  });

  it("with the container namespace already deleted: succeeds and releases the lease and the rule", () => {
    const { host, config, name, left } = setup();
    const ctr = testbed.fixture.containerNetns();
    const result = addOk({ host, config, netns: ctr.path, containerId: "gone" });
    expect(leases(testbed.dataDir, name)).toHaveLength(1);
    expect(masqRules(host)).toHaveLength(1);
    const deleted = nsExec(host, ["ip", "netns", "del", ctr.name]);
    expect(deleted.status, deleted.stderr).toBe(0);
    delTwice({ host, config: withPrevResult(config, result), netns: ctr.path, containerId: "gone" });
    expectNothingLeft({ host, ...left });
  });

  it("with an empty CNI_NETNS (runtime lost it): succeeds and cleans up", () => {
    const { host, config, left } = setup();
    addOk({ host, config, netns: testbed.fixture.containerNetns().path, containerId: "nons" });
    const exit = runBridge({ host, command: "DEL", config, netns: "", containerId: "nons" });
    expect(exit.status, exit.stdout).toBe(0);
    expectNothingLeft({ host, ...left });
  });
});

describe("a failed ADD leaves nothing", () => {
  it("IPAM exhausted: the second container gets an error, the first keeps its attachment", () => {
    // A /30: .1 is the gateway, .2 the only address left for containers.
    const { host, config, name, subnetPrefix } = setup({ prefixLength: 30 });
    const onlyAddress = `${subnetPrefix}.2`;
    const first = addOk({ host, config, netns: testbed.fixture.containerNetns().path, containerId: "first" });
    const ctr = testbed.fixture.containerNetns();
    const exit = runBridge({ host, command: "ADD", config, netns: ctr.path, containerId: "second" });
    expect(exit.status).not.toBe(0);
    expect(exit.json?.msg).toMatch(/no (IP )?addresses|exhausted|available/i);
    expect(linkNamed(ctr, "eth0")).toBeUndefined();
    expect(vethNames(host)).toEqual([first.interfaces?.[1]?.name]);
    expect(leases(testbed.dataDir, name)).toEqual([onlyAddress]);
    expect(masqRules(host).map((rule) => rule.saddr)).toEqual([onlyAddress]);
  });

  it("CNI_IFNAME already present in the container: code 4 naming it", () => {
    const { host, config, left } = setup();
    const ctr = testbed.fixture.containerNetns();
    expect(nsExec(ctr, ["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer"]).status).toBe(0);
    addRefused({ host, config, netns: ctr.path, containerId: "taken" }, 4, '"eth0"');
    expect(linkNamed(ctr, "eth0")?.linkinfo?.info_kind).toBe("veth");
    expectNothingLeft({ host, ...left });
  });

  it("a route the kernel refuses (gateway not on link), after IPAM and addresses: all undone", () => {
    const { host, config, left } = setup({ ipam: { routes: [{ dst: "10.201.0.0/16", gw: "10.250.0.1" }] } });
    const ctr = testbed.fixture.containerNetns();
    const exit = runBridge({ host, command: "ADD", config, netns: ctr.path, containerId: "badroute" });
    expect(exit.status).not.toBe(0);
    expect(exit.json?.msg).toContain("10.201.0.0/16");
    expect(linkNamed(ctr, "eth0")).toBeUndefined();
    expectNothingLeft({ host, ...left });
  });
});
