// vxlan-overlay configuration without a kernel: defaults, code-7 errors naming the
// field, the per-host address map, the peer list from the config and the file, and
// when an existing VTEP counts as the one we want.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CniError } from "../../../src/cni/errors";
import type { Link } from "../../../src/netlink/link-decode";
import { loadOverlayConfig } from "../../../overlay/plugin/config";
import { addressesOf, readPeers, remotePeers } from "../../../overlay/plugin/peers";
import { overlayMtu } from "../../../overlay/plugin/underlay";
import { type VtepSpec, vtepDifference } from "../../../overlay/kernel/vtep";

const base = { cniVersion: "1.0.0", name: "ov", type: "vxlan-overlay", vni: 42 };
const load = (extra: Record<string, unknown> = {}) =>
  loadOverlayConfig(Buffer.from(JSON.stringify({ ...base, ...extra })));

function codeSevenNaming(extra: Record<string, unknown>, field: string): void {
  let thrown: unknown;
  try {
    load(extra);
  } catch (err) {
    thrown = err;
  }
  expect(thrown, JSON.stringify(extra)).toBeInstanceOf(CniError);
  expect((thrown as CniError).code).toBe(7);
  expect((thrown as CniError).message).toContain(field);
}

describe("loadOverlayConfig", () => {
  it("derives the names and defaults from the VNI", () => {
    const config = load({ vni: 16777215 });
    expect(config).toMatchObject({
      vni: 16777215,
      port: 4789,
      mode: "l2",
      bridgeName: "vxbr16777215",
      vtepName: "vx16777215",
      peers: [],
    });
    expect(config.bridgeName.length).toBeLessThanOrEqual(15);
  });

  it("canonicalises and de-duplicates peers, keeping their order", () => {
    expect(load({ peers: ["198.18.0.2", "198.18.0.1", "198.18.0.2"] }).peers).toEqual([
      { address: "198.18.0.2" },
      { address: "198.18.0.1" },
    ]);
    expect(load({ peers: ["fd00:0::2", "fd00::1", "fd00::2"] }).peers).toEqual([
      { address: "fd00::2" },
      { address: "fd00::1" },
    ]);
  });

  it.each([
    [{ vni: 0 }, "vni"],
    [{ vni: 16777216 }, "vni"],
    [{ vni: "7" }, "vni"],
    [{ port: 65536 }, "port"],
    [{ peers: ["a.b.c.d"] }, "peers[0]"],
    [{ peers: ["198.18.0.1/24"] }, "peers[0]"],
    [{ localAddress: "host1" }, "localAddress"],
    [{ underlay: "a/b" }, "underlay"],
    [{ bridge: "a-name-much-too-long" }, "bridge"],
    [{ mode: "vxlan" }, "mode"],
    [{ mtu: 20 }, "mtu"],
    [{ hostAddress: "10.1.0.1/16" }, "hostAddress"],
    [{ hostAddress: { "198.18.0.1": "10.1.0.1" } }, 'hostAddress["198.18.0.1"]'],
    [{ hostAddress: { host1: "10.1.0.1/16" } }, "hostAddress"],
    [{ hostAddress: { "198.18.0.1": "10.1.0.1/16", "198.18.0.2": "10.1.0.1/24" } }, "hostAddress"],
  ])("refuses %j with code 7 naming %s", (extra, field) => codeSevenNaming(extra, field));

  it("keys the host address by the host's underlay address", () => {
    const config = load({ hostAddress: { "198.18.0.1": "10.1.0.1/16", "fd00:0::2": "10.1.0.2/16" } });
    expect([...config.hostAddresses]).toEqual([
      ["198.18.0.1", "10.1.0.1/16"],
      ["fd00::2", "10.1.0.2/16"],
    ]);
  });
});

describe("peers", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cnikit-peers-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => {
    const full = path.join(dir, name);
    fs.writeFileSync(full, content);
    return full;
  };

  it("adds the file's peers after the config's, re-reading it on every call", () => {
    const peersFile = file("peers.json", JSON.stringify(["198.18.0.3", "198.18.0.2"]));
    const config = load({ peers: ["198.18.0.2"], peersFile });
    expect(addressesOf(readPeers(config))).toEqual(["198.18.0.2", "198.18.0.3"]);
    fs.writeFileSync(peersFile, JSON.stringify(["198.18.0.4"]));
    expect(addressesOf(readPeers(config))).toEqual(["198.18.0.2", "198.18.0.4"]);
  });

  it.each([
    ["missing", undefined],
    ["not JSON", "198.18.0.1"],
    ["not a list", JSON.stringify({ peers: [] })],
    ["a bad entry", JSON.stringify(["198.18.0.1", 7])],
  ])("refuses a peers file that is %s with code 7 naming peersFile", (name, content) => {
    const peersFile = content === undefined ? path.join(dir, "absent.json") : file(`${name}.json`, content);
    expect(() => readPeers(load({ peersFile }))).toThrow(/^peersFile/);
  });

  it("refuses a peer list of two underlay families with code 7 naming the entry, in the config and in the file", () => {
    codeSevenNaming({ peers: ["fd00:18::1", "fd00:18::2", "198.18.0.3"] }, "peers: peer 198.18.0.3 is IPv4");
    const peersFile = file("mixed.json", JSON.stringify(["fd00:18::3", "198.18.0.4"]));
    expect(() => readPeers(load({ peers: ["fd00:18::1"], peersFile }))).toThrow(
      `peersFile ${peersFile}: peer 198.18.0.4 is IPv4 but peer fd00:18::1 is IPv6`,
    );
    expect(addressesOf(readPeers(load({ peers: ["fd00:18::1", "FD00:18:0::2"] })))).toEqual([
      "fd00:18::1",
      "fd00:18::2",
    ]);
  });

  it("leaves our own address out of the remote peers, however it is spelled", () => {
    expect(remotePeers([{ address: "fd00::1" }, { address: "fd00::2" }], "fd00:0:0::1")).toEqual([
      { address: "fd00::2" },
    ]);
  });
});

describe("VTEP", () => {
  const underlay = { index: 3, name: "ul0", mtu: 1500 } as Link;
  const spec: VtepSpec = {
    name: "vx42",
    vni: 42,
    port: 4789,
    localAddress: "198.18.0.1",
    underlay,
    mtu: 1450,
    bridgeName: "vxbr42",
    bridged: true,
    learning: true,
  };
  const link = (vxlan: Partial<NonNullable<Link["vxlan"]>>): Link =>
    ({
      index: 9,
      name: "vx42",
      kind: "vxlan",
      mtu: 1450,
      mac: "",
      flags: 0,
      up: true,
      operstate: "UNKNOWN",
      vxlan: { vni: 42, port: 4789, local: "198.18.0.1", underlayIndex: 3, learning: true, ...vxlan },
    }) as Link;

  it("keeps a VTEP that matches and names what differs otherwise", () => {
    expect(vtepDifference(link({}), spec)).toBeUndefined();
    expect(vtepDifference(link({ vni: 43 }), spec)).toContain("VNI 43");
    expect(vtepDifference(link({ port: 8472 }), spec)).toContain("port 8472");
    expect(vtepDifference(link({ local: "198.18.0.9" }), spec)).toContain("198.18.0.9");
    expect(vtepDifference(link({ underlayIndex: 4 }), spec)).toContain("ul0");
    expect(vtepDifference(link({ learning: false }), spec)).toContain("learning");
    // l3: learning off, and the derived MAC.
    const l3Spec: VtepSpec = { ...spec, bridged: false, learning: false, mac: "02:aa:bb:cc:dd:ee" };
    expect(vtepDifference({ ...link({ learning: false }), mac: "02:AA:BB:CC:DD:EE" }, l3Spec)).toBeUndefined();
    expect(vtepDifference({ ...link({ learning: false }), mac: "02:aa:bb:cc:dd:ef" }, l3Spec)).toContain("MAC");
    expect(vtepDifference({ ...link({ learning: true }), mac: "02:aa:bb:cc:dd:ee" }, l3Spec)).toContain("learning on");
  });

  it("takes 50 bytes of encapsulation on an IPv4 underlay and 70 on IPv6", () => {
    expect(overlayMtu({ link: underlay, localAddress: "198.18.0.1", family: 4 })).toBe(1450);
    expect(overlayMtu({ link: underlay, localAddress: "fd00::1", family: 6 })).toBe(1430);
  });
});

describe("peer list limit", () => {
  const address = (index: number) => `198.${18 + (index >> 16)}.${(index >> 8) & 255}.${index & 255}`;

  it("takes 10,000 peers and refuses 10,001 with code 7 naming the field and the limit", () => {
    const many = Array.from({ length: 10_000 }, (_, index) => address(index + 1));
    expect(load({ peers: many }).peers).toHaveLength(10_000);
    codeSevenNaming({ peers: [...many, address(20_000)] }, "peers: 10001 peers exceed the limit of 10000");
  });
});
