// vlan / vlanTrunk need bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING). Where the
// kernel has it: port VLANs and isolation between VLANs. Where it does not (EOPNOTSUPP),
// those tests are skipped, and a vlan config must fail with a CNI error naming vlan and
// leave nothing behind.
import { beforeAll, describe, expect, it } from "vitest";
import { type Netns, nsExec, udpProbe } from "../../../netns-fixtures";
import {
  addOk,
  addRefused,
  bridgeNetwork,
  expectNothingLeft,
  kernelHasVlanFiltering,
  linkNamed,
  runBridge,
  useTestbed,
} from "./harness";

const testbed = useTestbed("vln");
// Probed at collection time (skipIf needs the answer then), in a namespace of our own.
const vlanFiltering = kernelHasVlanFiltering(testbed.fixture.createNetns("vlanprobe"));
const NO_VLAN_REASON =
  "kernel lacks CONFIG_BRIDGE_VLAN_FILTERING (ip link add type bridge vlan_filtering 1: EOPNOTSUPP)";

let host: Netns;
beforeAll(() => {
  host = testbed.fixture.hostNetns();
});

/** A network of the suite: its own name, bridge and 10.66.<thirdOctet>.0/24, leases in the testbed's dataDir. */
const network = (name: string, bridge: string, thirdOctet: number, extra: Record<string, unknown> = {}) =>
  bridgeNetwork({ name, bridge, subnet: `10.66.${thirdOctet}.0/24`, dataDir: testbed.dataDir, extra });

interface BridgeVlanEntry {
  ifname: string;
  vlans: Array<{ vlan: number; flags?: string[] }>;
}

function portVlans(ifName: string): BridgeVlanEntry["vlans"] {
  const run = nsExec(host, ["bridge", "-j", "vlan", "show", "dev", ifName]);
  if (run.status !== 0) throw new Error(`bridge vlan show: ${run.stderr}`);
  return (JSON.parse(run.stdout || "[]") as BridgeVlanEntry[]).flatMap((entry) => entry.vlans);
}

describe.skipIf(!vlanFiltering)(
  vlanFiltering ? "vlan and vlanTrunk" : `vlan and vlanTrunk: skipped, ${NO_VLAN_REASON}`,
  () => {
    it("an access port gets its VLAN as PVID untagged, without the default VLAN 1", () => {
      const result = addOk({
        host,
        config: network("vlan10", "ckvlan0", 10, { vlan: 10 }),
        netns: testbed.fixture.containerNetns().path,
        containerId: "v10",
      });
      expect(linkNamed(host, "ckvlan0")?.linkinfo?.info_data?.vlan_filtering).toBe(1);
      expect(portVlans(result.interfaces?.[1]?.name ?? "")).toEqual([
        { vlan: 10, flags: expect.arrayContaining(["PVID", "Egress Untagged"]) },
      ]);
    });

    it("a trunk port carries the listed VLANs tagged", () => {
      const result = addOk({
        host,
        config: network("trunk", "ckvlan0", 20, { vlanTrunk: [{ id: 20 }, { minID: 30, maxID: 31 }] }),
        netns: testbed.fixture.containerNetns().path,
        containerId: "trunk",
      });
      expect(portVlans(result.interfaces?.[1]?.name ?? "").map((entry) => entry.vlan)).toEqual([20, 30, 31]);
    });

    it("containers in two VLANs on one bridge cannot talk; in the same VLAN they can", async () => {
      const ctrs = [
        testbed.fixture.containerNetns(),
        testbed.fixture.containerNetns(),
        testbed.fixture.containerNetns(),
      ] as const;
      // One subnet for all three, so only the VLAN separates them.
      const sameSubnet = (vlan: number) => network("vlaniso", "ckvlan1", 40, { vlan });
      addOk({ host, config: sameSubnet(40), netns: ctrs[0].path, containerId: "iso-a" });
      const sameVlan = addOk({ host, config: sameSubnet(40), netns: ctrs[1].path, containerId: "iso-b" });
      const otherVlan = addOk({ host, config: sameSubnet(41), netns: ctrs[2].path, containerId: "iso-c" });
      const addressOf = (result: typeof sameVlan) => result.ips?.[0]?.address.split("/")[0] ?? "";
      expect(await udpProbe({ from: ctrs[0], to: ctrs[1], address: addressOf(sameVlan) })).toBe(true);
      expect(await udpProbe({ from: ctrs[0], to: ctrs[2], address: addressOf(otherVlan), timeoutMs: 1500 })).toBe(
        false,
      );
    });
  },
);

describe.skipIf(vlanFiltering)("vlan on a kernel without bridge VLAN filtering", () => {
  it.each([
    ["vlan", { vlan: 10 }],
    ["vlanTrunk", { vlanTrunk: [{ id: 20 }] }],
  ])("%s on a new bridge: CNI error naming vlan, no bridge, veth, lease or rule left", (_label, extra) => {
    const ownHost = testbed.fixture.hostNetns();
    const config = network("novlan", "cknovlan", 50, { ...extra, isGateway: true, ipMasq: true });
    const ctr = testbed.fixture.containerNetns();
    addRefused({ host: ownHost, config, netns: ctr.path, containerId: "novlan" }, 2, /vlan.*not support/);
    expect(linkNamed(ownHost, "cknovlan")).toBeUndefined();
    expect(linkNamed(ctr, "eth0")).toBeUndefined();
    expectNothingLeft({ host: ownHost, dataDir: testbed.dataDir, network: "novlan" });
  });

  it("vlan on an existing bridge (made by an earlier non-VLAN ADD): the same clean error", () => {
    const ownHost = testbed.fixture.hostNetns();
    const plain = network("plainfirst", "ckmixed", 51);
    const first = addOk({
      host: ownHost,
      config: plain,
      netns: testbed.fixture.containerNetns().path,
      containerId: "plain",
    });
    const vlanConfig = network("vlanlater", "ckmixed", 52, { vlan: 10, ipMasq: true });
    const ctr = testbed.fixture.containerNetns();
    addRefused(
      { host: ownHost, config: vlanConfig, netns: ctr.path, containerId: "vlanlater" },
      2,
      /vlan.*not support/,
    );
    expect(linkNamed(ctr, "eth0")).toBeUndefined();
    expect(linkNamed(ownHost, first.interfaces?.[1]?.name ?? "")?.master).toBe("ckmixed");
    expect(runBridge({ host: ownHost, command: "DEL", config: plain, netns: "", containerId: "plain" }).status).toBe(0);
    expectNothingLeft({ host: ownHost, dataDir: testbed.dataDir, network: "vlanlater" });
  });
});
