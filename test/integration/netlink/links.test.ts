// Link operations in throwaway namespaces, read back with `ip -j` (never our codec).
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetnsFixture, type Netns, ipJson, links } from "../../../netns-fixtures";
import { NetlinkError, NotFoundError } from "../../../src/netlink/codec/errors";
import { Handle } from "../../../src/netlink/handle";
import { setBridgePort } from "../../../src/netlink/bridge";
import { addBridge, addVeth, addVxlan } from "../../../src/netlink/link-create";
import { deleteLink, findLink, getLink, listLinks, setLink, setLinkDown, setLinkUp } from "../../../src/netlink/links";

const fixture = new NetnsFixture();
let host: Netns;
let ctr: Netns;
let h: Handle;

beforeAll(() => {
  host = fixture.hostNetns();
  ctr = fixture.containerNetns();
  h = Handle.at(host.path);
});
afterAll(() => {
  h?.close();
  fixture.cleanup();
});

const ipLink = (ns: Netns, name: string) => links(ns).find((l) => l.ifname === name);

describe("links", () => {
  it("veth from the host with its peer created directly in the container (path)", () => {
    addVeth(h, {
      name: "hv0",
      peerName: "eth0",
      peerNetns: ctr.path,
      mtu: 1400,
      mac: "02:00:00:00:01:01",
      peerMac: "02:00:00:00:01:02",
    });
    expect(ipLink(host, "hv0")).toMatchObject({
      mtu: 1400,
      address: "02:00:00:00:01:01",
      linkinfo: { info_kind: "veth" },
    });
    expect(ipLink(ctr, "eth0")).toMatchObject({
      mtu: 1400,
      address: "02:00:00:00:01:02",
      linkinfo: { info_kind: "veth" },
    });
    expect(ipLink(host, "eth0")).toBeUndefined();
    expect(ipLink(ctr, "hv0")).toBeUndefined();
  });

  it("veth with the peer namespace given as an open fd", () => {
    const fd = fs.openSync(ctr.path, "r");
    try {
      addVeth(h, { name: "hv1", peerName: "eth1", peerNetns: fd });
    } finally {
      fs.closeSync(fd);
    }
    expect(ipLink(ctr, "eth1")?.linkinfo?.info_kind).toBe("veth");
  });

  it("a handle sees only its own namespace's links", () => {
    const inCtr = Handle.at(ctr.path);
    try {
      const names = (handle: Handle) =>
        listLinks(handle)
          .map((l) => l.name)
          .sort();
      expect(names(inCtr)).toEqual(
        links(ctr)
          .map((l) => l.ifname)
          .sort(),
      );
      expect(names(h)).toEqual(
        links(host)
          .map((l) => l.ifname)
          .sort(),
      );
      expect(names(inCtr)).not.toContain("hv0");
    } finally {
      inCtr.close();
    }
  });

  it("bridge, master/nomaster, up/down, mtu, mac, rename", () => {
    addBridge(h, { name: "br0", mtu: 1450, mac: "02:00:00:00:02:01" });
    expect(ipLink(host, "br0")).toMatchObject({ address: "02:00:00:00:02:01", linkinfo: { info_kind: "bridge" } });
    setLink(h, "hv0", { master: "br0" });
    expect(ipLink(host, "hv0")?.master).toBe("br0");
    setLinkUp(h, "br0");
    expect(ipLink(host, "br0")?.flags).toContain("UP");
    setLinkDown(h, "br0");
    expect(ipLink(host, "br0")?.flags).not.toContain("UP");
    setLink(h, "hv0", { mtu: 1300, mac: "02:00:00:00:01:09" });
    expect(ipLink(host, "hv0")).toMatchObject({ mtu: 1300, address: "02:00:00:00:01:09" });
    setLink(h, "hv0", { master: null });
    expect(ipLink(host, "hv0")?.master).toBeUndefined();
    const index = getLink(h, "hv1").index;
    setLink(h, "hv1", { name: "hv1renamed" });
    expect(ipLink(host, "hv1renamed")?.ifindex).toBe(index);
  });

  it("bridge port flags: hairpin, isolated, learning", () => {
    setLink(h, "hv0", { master: "br0" });
    setBridgePort(h, "hv0", { hairpin: true, isolated: true, learning: false });
    const slave = ipJson<{ linkinfo: { info_slave_data: Record<string, unknown> } }[]>(host, [
      "-d",
      "link",
      "show",
      "hv0",
    ])[0]?.linkinfo.info_slave_data;
    expect(slave).toMatchObject({ hairpin: true, isolated: true, learning: false });
    setBridgePort(h, "hv0", { hairpin: false });
    expect(
      ipJson<{ linkinfo: { info_slave_data: Record<string, unknown> } }[]>(host, ["-d", "link", "show", "hv0"])[0]
        ?.linkinfo.info_slave_data,
    ).toMatchObject({ hairpin: false, isolated: true });
    expect(getLink(h, "hv0").bridgePort).toEqual({ hairpin: false, isolated: true, learning: false });
  });

  it("vxlan over IPv4 with every option, and over IPv6", () => {
    addVeth(h, { name: "ul0", peerName: "ul0p" });
    // The options ip -j reports under our own names, with the values given.
    const sameNames = {
      local: "198.18.0.1",
      port: 4789,
      learning: false,
      proxy: true,
      l2miss: true,
      l3miss: true,
      ttl: 8,
    };
    addVxlan(h, { name: "vx0", vni: 4242, underlay: "ul0", ...sameNames, udpCsum: false, mtu: 1450 });
    const vx0 = ipLink(host, "vx0");
    expect(vx0?.mtu).toBe(1450);
    expect(vx0?.linkinfo?.info_data).toMatchObject({ id: 4242, link: "ul0", ...sameNames, udp_csum: false });
    addVxlan(h, {
      name: "vx6",
      vni: 7,
      local: "fd00:198::1",
      group: "fd00:198::2",
      udp6ZeroCsumTx: true,
      udp6ZeroCsumRx: true,
    });
    expect(ipLink(host, "vx6")?.linkinfo?.info_data).toMatchObject({
      id: 7,
      local6: "fd00:198::1",
      remote6: "fd00:198::2",
      udp_zero_csum6_tx: true,
      udp_zero_csum6_rx: true,
    });
    expect(getLink(h, "vx0").vxlan).toMatchObject({
      vni: 4242,
      local: "198.18.0.1",
      underlayIndex: ipLink(host, "ul0")?.ifindex,
      port: 4789,
    });
  });

  it("moves a link to another namespace", () => {
    addVeth(h, { name: "mv0", peerName: "mv1" });
    setLink(h, "mv1", { netns: ctr.path });
    expect(ipLink(ctr, "mv1")).toBeDefined();
    expect(ipLink(host, "mv1")).toBeUndefined();
  });

  it("get/list agree with ip", () => {
    for (const ip of links(host)) {
      const ours = getLink(h, ip.ifname);
      expect({ index: ours.index, mtu: ours.mtu, mac: ours.mac, operstate: ours.operstate }).toEqual({
        index: ip.ifindex,
        mtu: ip.mtu,
        mac: ip.address,
        operstate: ip.operstate,
      });
      expect(getLink(h, ip.ifindex).name).toBe(ip.ifname);
    }
  });

  it("errors: missing link is NotFoundError, an existing name is EEXIST with errno kept", () => {
    expect(() => getLink(h, "nosuch")).toThrow(NotFoundError);
    expect(() => deleteLink(h, "nosuch")).toThrow(NotFoundError);
    expect(() => setLink(h, "nosuch", { up: true })).toThrow(NotFoundError);
    expect(findLink(h, "nosuch")).toBeUndefined();
    let caught: unknown;
    try {
      addBridge(h, { name: "br0" });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NetlinkError);
    expect(caught).not.toBeInstanceOf(NotFoundError);
    expect(caught).toMatchObject({ errno: 17, code: "EEXIST" });
    expect((caught as Error).message).toContain('add bridge "br0"');
  });

  it("delete takes the veth peer with it", () => {
    deleteLink(h, "hv0");
    expect(ipLink(host, "hv0")).toBeUndefined();
    expect(ipLink(ctr, "eth0")).toBeUndefined();
  });
});
