// Mode l3 without a kernel: VTEP MACs and overlay addresses derived from the VNI and the
// underlay address (IPv4 and IPv6), the desired entries of a peer list and their diff
// against what a kernel holds, and the l3 config (peers with subnets, our subnet, IPAM).
import { describe, expect, it } from "vitest";
import { CniError } from "../../../src/cni/errors";
import {
  type KernelPeerEntries,
  desiredPeerEntries,
  describeDiff,
  diffPeerEntries,
  isEmptyDiff,
  subnetNetwork,
  subnetsOverlap,
  vtepAddress,
  vtepCidr,
  vtepMac,
} from "../../../overlay/kernel/peer-entries";
import { loadOverlayConfig } from "../../../overlay/plugin/config";
import { planL3 } from "../../../overlay/plugin/l3";
import { networkOf } from "../../../src/ip/cidr";

const base = { cniVersion: "1.0.0", name: "ov", type: "vxlan-overlay", vni: 42, mode: "l3" };
const load = (extra: Record<string, unknown> = {}) =>
  loadOverlayConfig(Buffer.from(JSON.stringify({ ...base, ...extra })));
const peers3 = [
  { address: "198.18.0.1", subnet: "10.78.1.0/24" },
  { address: "198.18.0.2", subnet: "10.78.2.0/24" },
  { address: "198.18.0.3", subnet: "10.78.3.0/24" },
];

function codeSeven(run: () => unknown, field: string): void {
  let thrown: unknown;
  try {
    run();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(CniError);
  expect((thrown as CniError).code).toBe(7);
  expect((thrown as CniError).message).toContain(field);
}

describe("VTEP MAC and overlay address", () => {
  it("derives a locally administered unicast MAC, the same for every spelling of the address", () => {
    const mac = vtepMac(42, "198.18.0.2");
    expect(mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const first = Number.parseInt(mac.slice(0, 2), 16);
    expect(first & 0x02).toBe(0x02);
    expect(first & 0x01).toBe(0);
    expect(vtepMac(42, "198.18.0.2")).toBe(mac);
    expect(vtepMac(42, "fd00:0:0::2")).toBe(vtepMac(42, "fd00::2"));
    expect(Number.parseInt(vtepMac(7, "fd00::2").slice(0, 2), 16) & 0x03).toBe(0x02);
  });

  it("gives different hosts and different VNIs different MACs", () => {
    const macs = new Set<string>();
    for (let host = 1; host <= 250; host++)
      for (const vni of [1, 42, 16777215]) macs.add(vtepMac(vni, `198.18.0.${host}`));
    expect(macs.size).toBe(750);
    expect(vtepMac(42, "fd00::2")).not.toBe(vtepMac(42, "fd00::3"));
  });

  it("uses the subnet's network address as the VTEP address, with a host prefix", () => {
    expect(vtepAddress("10.78.2.0/24")).toBe("10.78.2.0");
    expect(vtepAddress("10.78.2.77/24")).toBe("10.78.2.0");
    expect(vtepCidr("10.78.2.0/24")).toBe("10.78.2.0/32");
    expect(vtepCidr("fd10:0:0:2::/64")).toBe("fd10:0:0:2::/128");
  });

  it("tells overlapping subnets of either family", () => {
    expect(subnetsOverlap("10.78.0.0/16", "10.78.2.0/24")).toBe(true);
    expect(subnetsOverlap("10.78.2.0/24", "10.78.0.0/16")).toBe(true);
    expect(subnetsOverlap("10.78.1.0/24", "10.78.2.0/24")).toBe(false);
    expect(subnetsOverlap("fd10::/48", "fd10:0:0:2::/64")).toBe(true);
    expect(subnetsOverlap("fd10::/64", "10.78.0.0/16")).toBe(false);
  });
});

describe("desired entries and their diff against the kernel", () => {
  const peers = [
    { underlayAddress: "198.18.0.2", subnet: "10.78.2.0/24" },
    { underlayAddress: "fd00::3", subnet: "fd10:0:0:3::/64" },
  ];
  const desired = desiredPeerEntries(42, peers);
  const exact: KernelPeerEntries = {
    fdb: desired.map((peer) => ({ mac: peer.vtepMac.toUpperCase(), dst: peer.underlayAddress })),
    neighbours: desired.map((peer) => ({ address: peer.vtepAddress, mac: peer.vtepMac })),
    routes: desired.map((peer) => ({ dst: peer.subnet, via: peer.vtepAddress, onlink: true })),
  };

  it("puts three entries per peer on an empty VTEP", () => {
    const diff = diffPeerEntries(desired, { fdb: [], neighbours: [], routes: [] });
    expect(diff.put.fdb).toEqual([
      { mac: vtepMac(42, "198.18.0.2"), dst: "198.18.0.2" },
      { mac: vtepMac(42, "fd00::3"), dst: "fd00::3" },
    ]);
    expect(diff.put.neighbours).toEqual([
      { address: "10.78.2.0", mac: vtepMac(42, "198.18.0.2") },
      { address: "fd10:0:0:3::", mac: vtepMac(42, "fd00::3") },
    ]);
    expect(diff.put.routes).toEqual([
      { dst: "10.78.2.0/24", via: "10.78.2.0" },
      { dst: "fd10:0:0:3::/64", via: "fd10:0:0:3::" },
    ]);
    expect(describeDiff(diff)).toHaveLength(6);
  });

  it("puts each peer's subnet in network form, with its network address as the VTEP address", () => {
    const entries = desiredPeerEntries(1, [
      { underlayAddress: "198.18.0.2", subnet: "10.78.3.77/23" },
      { underlayAddress: "198.18.0.3", subnet: "10.200.0.9/32" },
      { underlayAddress: "198.18.0.4", subnet: "10.255.255.255/8" },
      { underlayAddress: "fd00::5", subnet: "fd10:0:0:5::77/64" },
    ]);
    expect(entries.map((entry) => `${entry.subnet} ${entry.vtepAddress}`)).toEqual([
      "10.78.2.0/23 10.78.2.0",
      "10.200.0.9/32 10.200.0.9",
      "10.0.0.0/8 10.0.0.0",
      "fd10:0:0:5::/64 fd10:0:0:5::",
    ]);
  });

  it("finds nothing to do when the kernel matches (MAC case and v6 spelling aside)", () => {
    const spelled = {
      ...exact,
      fdb: exact.fdb.map((entry) => ({ ...entry, dst: entry.dst === "fd00::3" ? "fd00:0::3" : entry.dst })),
    };
    expect(isEmptyDiff(diffPeerEntries(desired, spelled))).toBe(true);
  });

  it("removes the three entries of a peer no longer listed and keeps the others", () => {
    const diff = diffPeerEntries(desired.slice(0, 1), exact);
    expect(diff.put).toEqual({ fdb: [], neighbours: [], routes: [] });
    expect(diff.remove.fdb.map((entry) => entry.dst)).toEqual(["fd00::3"]);
    expect(diff.remove.neighbours.map((entry) => entry.address)).toEqual(["fd10:0:0:3::"]);
    expect(diff.remove.routes.map((entry) => entry.dst)).toEqual(["fd10:0:0:3::/64"]);
  });

  it("corrects a wrong neighbour MAC, a route without onlink or via elsewhere, and an FDB entry to the wrong host", () => {
    const wrong: KernelPeerEntries = {
      fdb: [{ mac: desired[0]?.vtepMac ?? "", dst: "198.18.0.9" }, exact.fdb[1] ?? { mac: "", dst: "" }],
      neighbours: [{ address: "10.78.2.0", mac: "02:00:00:00:00:01" }, exact.neighbours[1] ?? { address: "", mac: "" }],
      routes: [
        { dst: "10.78.2.0/24", via: "10.78.2.0", onlink: false },
        { dst: "fd10:0:0:3::/64", via: "fd10:0:0:3::9", onlink: true },
      ],
    };
    const diff = diffPeerEntries(desired, wrong);
    expect(diff.remove.fdb).toEqual([{ mac: desired[0]?.vtepMac, dst: "198.18.0.9" }]);
    expect(diff.put.fdb).toEqual([{ mac: desired[0]?.vtepMac, dst: "198.18.0.2" }]);
    expect(diff.put.neighbours).toEqual([{ address: "10.78.2.0", mac: desired[0]?.vtepMac }]);
    expect(diff.remove.neighbours).toEqual([]);
    expect(diff.put.routes).toEqual([
      { dst: "10.78.2.0/24", via: "10.78.2.0" },
      { dst: "fd10:0:0:3::/64", via: "fd10:0:0:3::" },
    ]);
    // Removed before the put: a replace of another metric would leave them beside it.
    expect(diff.remove.routes).toEqual(wrong.routes);
  });
});

describe("l3 configuration", () => {
  it("takes peers with subnets, in network form, from an IPv4 or IPv6 underlay", () => {
    const config = load({ peers: [{ address: "fd00:0::2", subnet: "10.78.2.9/24" }], subnet: "10.78.1.0/24" });
    expect(config).toMatchObject({
      mode: "l3",
      subnet: "10.78.1.0/24",
      peers: [{ address: "fd00::2", subnet: "10.78.2.0/24" }],
    });
  });

  it("keeps l2 configs with plain addresses, and accepts {address, subnet} there too", () => {
    const l2 = loadOverlayConfig(
      Buffer.from(
        JSON.stringify({
          ...base,
          mode: "l2",
          peers: ["198.18.0.2", { address: "198.18.0.3", subnet: "10.78.3.0/24" }],
        }),
      ),
    );
    expect(l2.peers).toEqual([{ address: "198.18.0.2" }, { address: "198.18.0.3", subnet: "10.78.3.0/24" }]);
  });

  it.each([
    [{ peers: ["198.18.0.2"] }, "peers[0]"],
    [{ peers: [{ address: "198.18.0.2" }] }, "peers[0].subnet"],
    [{ peers: [{ address: "x", subnet: "10.78.2.0/24" }] }, "peers[0].address"],
    [{ peers: [{ address: "198.18.0.2", subnet: "10.78.2.0" }] }, "peers[0].subnet"],
    [
      {
        peers: [
          { address: "198.18.0.2", subnet: "10.78.0.0/16" },
          { address: "198.18.0.3", subnet: "10.78.3.0/24" },
        ],
      },
      "overlaps",
    ],
    [
      {
        peers: [
          { address: "198.18.0.2", subnet: "10.78.2.0/24" },
          { address: "198.18.0.2", subnet: "10.78.3.0/24" },
        ],
      },
      "198.18.0.2",
    ],
    [{ peers: [7] }, "peers[0]"],
    [{ subnet: "10.78.1.0" }, "subnet"],
    [{ hostAddress: { "198.18.0.1": "10.78.1.1/24" } }, "hostAddress"],
    [{ mode: "l2", subnet: "10.78.1.0/24" }, "subnet"],
  ])("refuses %j with code 7 naming %s", (extra, field) => codeSeven(() => load(extra), field));
});

describe("planL3", () => {
  const ipam = (subnet: string) => ({ ipam: { type: "host-local", ranges: [[{ subnet }]] } });

  it("takes our subnet from our own peer entry and leaves us out of the peers", () => {
    const plan = planL3(load({ peers: peers3, ...ipam("10.78.2.0/24") }), load({ peers: peers3 }).peers, "198.18.0.2");
    expect(plan).toMatchObject({
      subnets: ["10.78.2.0/24"],
      vtepAddresses: ["10.78.2.0/32"],
      vtepMac: vtepMac(42, "198.18.0.2"),
    });
    expect(plan.peers).toEqual([
      { underlayAddress: "198.18.0.1", subnet: "10.78.1.0/24" },
      { underlayAddress: "198.18.0.3", subnet: "10.78.3.0/24" },
    ]);
  });

  it("plans a list once per config and local address (an ADD plans before the lock and under it)", () => {
    const config = load({ peers: peers3, ...ipam("10.78.2.0/24") });
    const first = planL3(config, config.peers, "198.18.0.2");
    expect(planL3(config, config.peers, "198.18.0.2")).toBe(first);
    const wider = load({ peers: peers3 });
    const other = planL3(wider, config.peers, "198.18.0.1");
    expect(other).not.toBe(first);
    expect(other.subnets).toEqual(["10.78.1.0/24"]);
    expect(planL3(wider, config.peers, "198.18.0.3").subnets).toEqual(["10.78.3.0/24"]);
    // Another config (another IPAM range) is planned, and refused, on its own.
    const outside = load({ peers: peers3, ...ipam("10.99.0.0/24") });
    expect(() => planL3(outside, config.peers, "198.18.0.2")).toThrow(/not inside this host's subnet/);
  });

  it("works with IPv6 subnets over an IPv6 underlay", () => {
    const peers = [
      { address: "fd00::1", subnet: "fd10:0:0:1::/64" },
      { address: "fd00::2", subnet: "fd10:0:0:2::/64" },
    ];
    const config = load({ peers, ...ipam("fd10:0:0:1::/64") });
    expect(planL3(config, config.peers, "fd00:0::1")).toMatchObject({
      subnets: ["fd10:0:0:1::/64"],
      vtepAddresses: ["fd10:0:0:1::/128"],
      peers: [{ underlayAddress: "fd00::2" }],
    });
  });

  it("routes both families of dual-stack peers over an IPv6 underlay: one peer entry per subnet", () => {
    const peers = [
      { address: "fd00:18::1", subnet: "10.84.1.0/24", ipv6Subnet: "fd10:84:1::/64" },
      { address: "fd00:18::2", subnet: "10.84.2.0/24", ipv6Subnet: "fd10:84:2::/64" },
    ];
    const config = load({ peers });
    expect(planL3(config, config.peers, "fd00:18::1")).toEqual({
      subnets: ["10.84.1.0/24", "fd10:84:1::/64"],
      vtepAddresses: ["10.84.1.0/32", "fd10:84:1::/128"],
      vtepMac: vtepMac(42, "fd00:18::1"),
      peers: [
        { underlayAddress: "fd00:18::2", subnet: "10.84.2.0/24" },
        { underlayAddress: "fd00:18::2", subnet: "fd10:84:2::/64" },
      ],
    });
    // A dual-stack peer's two subnets share its one FDB entry.
    const diff = diffPeerEntries(desiredPeerEntries(42, planL3(config, config.peers, "fd00:18::1").peers), {
      fdb: [],
      neighbours: [],
      routes: [],
    });
    expect(diff.put.fdb).toEqual([{ mac: vtepMac(42, "fd00:18::2"), dst: "fd00:18::2" }]);
    expect(diff.put.neighbours).toHaveLength(2);
    expect(diff.put.routes.map((route) => route.dst)).toEqual(["10.84.2.0/24", "fd10:84:2::/64"]);
  });

  it.each([
    ["an IPv4 ipv6Subnet", { address: "fd00::1", subnet: "10.84.1.0/24", ipv6Subnet: "10.85.1.0/24" }],
    ["an ipv6Subnet beside an IPv6 subnet", { address: "fd00::1", subnet: "fd10:1::/64", ipv6Subnet: "fd10:2::/64" }],
    ["an ipv6Subnet without a subnet", { address: "fd00::1", ipv6Subnet: "fd10:2::/64" }],
  ])("refuses a peer with %s, naming peers[0]", (_name, peer) => {
    codeSeven(() => load({ peers: [peer] }), "peers[0].");
  });

  it("refuses a peer that routes an IPv6 subnet to a host without one", () => {
    const peers = [
      { address: "fd00::1", subnet: "10.84.1.0/24" },
      { address: "fd00::2", subnet: "10.84.2.0/24", ipv6Subnet: "fd10:84:2::/64" },
    ];
    const config = load({ peers });
    codeSeven(() => planL3(config, config.peers, "fd00::1"), "fd10:84:2::/64");
  });

  it.each([
    ["no subnet for us", { peers: peers3.slice(1) }, "subnet"],
    ["a subnet other than our peer entry's", { peers: peers3, subnet: "10.78.9.0/24" }, "subnet"],
    ["our subnet overlapping a peer's", { peers: peers3.slice(1), subnet: "10.78.0.0/16" }, "overlaps"],
    ["IPAM wider than our subnet", { peers: peers3, ...ipam("10.78.0.0/16") }, "ipam"],
    ["IPAM outside our subnet", { peers: peers3, ...ipam("10.78.2.0/24") }, "ipam"],
    ["a peer of another family", { peers: [peers3[0], { address: "198.18.0.5", subnet: "fd10::/64" }] }, "family"],
  ])("refuses %s with code 7", (_name, extra, field) => {
    const config = load(extra);
    codeSeven(() => planL3(config, config.peers, "198.18.0.1"), field);
  });
});

describe("subnetNetwork (the fast path of networkOf every peer takes)", () => {
  it("equals networkOf for every prefix length, host bits set or not, and IPv6", () => {
    const cidrs = ["10.0.0.0/8", "fd10:0:0:5::77/64", "0.0.0.0/0", "255.255.255.255/32", "10.78.3.77/023"];
    for (let prefix = 0; prefix <= 32; prefix++)
      for (const address of ["10.78.3.77", "198.18.255.1", "1.2.3.4", "128.0.0.0"]) cidrs.push(`${address}/${prefix}`);
    for (const cidr of cidrs) expect(subnetNetwork(cidr), cidr).toBe(networkOf(cidr));
  });

  it("returns a subnet already in network form as given", () => {
    const cidr = "10.78.2.128/25";
    expect(subnetNetwork(cidr)).toBe(cidr);
  });
});
