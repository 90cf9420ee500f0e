// Our requests against the ones `ip`/`bridge` sent for the same change (captured with
// strace by capture.ts), and against bytes written out by hand.
import { describe, expect, it } from "vitest";
import { addAddr } from "../../../src/netlink/addrs";
import { addBridgeVlan, deleteBridgeVlan, setBridgePort } from "../../../src/netlink/bridge";
import { AttrReader, AttrWriter } from "../../../src/netlink/codec/attrs";
import {
  Ifa,
  IfaF,
  Ifla,
  IflaInfo,
  NLA_F_NESTED,
  NlmF,
  Rtm,
  VETH_INFO_PEER,
} from "../../../src/netlink/codec/constants";
import { decodeHeader, encodeMessage } from "../../../src/netlink/codec/header";
import { IFADDRMSG_LEN, IFINFOMSG_LEN, decodeIfInfo } from "../../../src/netlink/codec/structs";
import { addVeth } from "../../../src/netlink/link-create";
import { setLink } from "../../../src/netlink/links";
import { appendNeigh, addNeigh } from "../../../src/netlink/neigh";
import { addRoute, deleteRoute } from "../../../src/netlink/routes";
import type { Handle } from "../../../src/netlink/handle";
import { ipRequests, recordingHandle } from "./fixtures";

// Indexes in the capture namespace: lo 1, vt1 2, vt0 3, br0 4, vx0 5, vx6 6.
const VT0 = 3;
const BR0 = 4;
const VX0 = 5;

const cases: [string, (h: Handle) => void][] = [
  ["link-set-up", (h) => setLink(h, 1, { up: true })],
  ["addr-add-v4", (h) => addAddr(h, { link: BR0, cidr: "10.1.0.1/24" })],
  [
    "route-add-v4-gw",
    (h) => addRoute(h, { dst: "10.2.0.0/16", gw: "10.1.0.254", priority: 50, mtu: 1300, advmss: 1200 }),
  ],
  ["route-add-v4-dev", (h) => addRoute(h, { dst: "10.3.0.0/16", oif: BR0 })],
  ["route-del-v4", (h) => deleteRoute(h, { dst: "10.3.0.0/16", oif: BR0 })],
  ["neigh-add-v4", (h) => addNeigh(h, { link: BR0, dst: "10.1.0.9", lladdr: "02:00:00:00:00:09" })],
  [
    "fdb-append",
    (h) => appendNeigh(h, { link: VX0, family: "bridge", lladdr: "00:00:00:00:00:00", dst: "198.18.0.2" }),
  ],
  ["brport-set", (h) => setBridgePort(h, VT0, { hairpin: true, learning: false, isolated: true })],
  ["vlan-add-pvid", (h) => addBridgeVlan(h, { link: VT0, vid: 10, pvid: true, untagged: true })],
  ["vlan-add-range", (h) => addBridgeVlan(h, { link: VT0, vid: 20, vidEnd: 25 })],
  ["vlan-add-self", (h) => addBridgeVlan(h, { link: BR0, vid: 10, self: true })],
  ["vlan-del", (h) => deleteBridgeVlan(h, { link: VT0, vid: 10 })],
];

describe("requests are byte-identical to iproute2's", () => {
  const traced = ipRequests();
  for (const [name, build] of cases) {
    it(name, () => {
      const expected = traced[name];
      if (!expected) throw new Error(`requests.json has no ${name}: rerun capture.ts`);
      const { handle, sent } = recordingHandle();
      build(handle);
      expect(sent).toHaveLength(1);
      expect({ type: sent[0]?.type, flags: sent[0]?.flags, payload: sent[0]?.payload.toString("hex") }).toEqual({
        type: expected.type,
        flags: expected.flags,
        payload: expected.payload,
      });
    });
  }

  it("addr-add-v6-nodad: same as ip, plus IFA_FLAGS carrying NODAD", () => {
    const expected = traced["addr-add-v6-nodad"];
    if (!expected) throw new Error("requests.json has no addr-add-v6-nodad");
    const { handle, sent } = recordingHandle();
    addAddr(handle, { link: BR0, cidr: "fd00::1/64", nodad: true });
    const ours = sent[0]?.payload ?? Buffer.alloc(0);
    const flagsAttr = new AttrWriter().u32(Ifa.FLAGS, IfaF.NODAD).toBuffer();
    expect(ours.toString("hex")).toBe(expected.payload + flagsAttr.toString("hex"));
    expect(new AttrReader(ours.subarray(IFADDRMSG_LEN)).u32(Ifa.FLAGS)).toBe(IfaF.NODAD);
  });
});

describe("hand-checked encodings", () => {
  it("nlmsghdr: length, type, flags, seq, port, padding to 4", () => {
    const msg = encodeMessage(
      { type: Rtm.GETLINK, flags: NlmF.REQUEST | NlmF.DUMP, seq: 0x01020304, pid: 0 },
      Buffer.from([0xaa, 0xbb, 0xcc]),
    );
    expect(msg.toString("hex")).toBe("13000000" + "1200" + "0103" + "04030201" + "00000000" + "aabbcc" + "00");
    expect(decodeHeader(msg)).toEqual({ length: 19, type: 18, flags: 0x301, seq: 0x01020304, pid: 0 });
  });

  it("attributes: padding, strings with NUL, NLA_F_NESTED only where asked", () => {
    const attrs = new AttrWriter()
      .string(3, "br0")
      .u8(7, 1)
      .nest(12, (child) => child.u8(4, 1))
      .nest(18, (child) => child.string(1, "veth"), false)
      .toBuffer();
    expect(attrs.toString("hex")).toBe(
      "0800" +
        "0300" +
        "62723000" + // IFLA_IFNAME "br0\0"
        "0500" +
        "0700" +
        "01000000" + // u8 + 3 bytes padding
        "0c00" +
        "0c80" +
        "0500" +
        "0400" +
        "01000000" + // nested, 0x8000 set
        "1000" +
        "1200" +
        "0900" +
        "0100" +
        "7665746800000000", // nested without the flag; inner "veth\0" padded to 8
    );
    const reader = new AttrReader(attrs);
    expect(reader.str(3)).toBe("br0");
    expect(reader.list.map((a) => [a.type, a.nested])).toEqual([
      [3, false],
      [7, false],
      [12, true],
      [18, false],
    ]);
    expect(reader.nested(12)?.u8(4)).toBe(1);
    expect(reader.nested(18)?.str(1)).toBe("veth");
  });

  it("veth: the peer is an ifinfomsg with its name and IFLA_NET_NS_FD inside VETH_INFO_PEER", () => {
    const { handle, sent } = recordingHandle();
    addVeth(handle, { name: "host0", peerName: "eth0", peerNetns: 42, mtu: 1400, peerMac: "02:00:00:00:00:02" });
    const request = sent[0];
    expect(request?.type).toBe(Rtm.NEWLINK);
    // NLM_F_ECHO: the kernel's copy of the new host end names the peer's index (IFLA_LINK).
    expect(request?.flags).toBe(NlmF.REQUEST | NlmF.ACK | NlmF.CREATE | NlmF.EXCL | NlmF.ECHO);
    const attrs = new AttrReader(request?.payload.subarray(IFINFOMSG_LEN) ?? Buffer.alloc(0));
    expect(attrs.str(Ifla.IFNAME)).toBe("host0");
    expect(attrs.u32(Ifla.MTU)).toBe(1400);
    const info = attrs.nested(Ifla.LINKINFO);
    expect(info?.str(IflaInfo.KIND)).toBe("veth");
    const peer = info?.nested(IflaInfo.DATA)?.get(VETH_INFO_PEER) ?? Buffer.alloc(0);
    expect(decodeIfInfo(peer)).toEqual({ family: 0, type: 0, index: 0, flags: 0, change: 0 });
    const peerAttrs = new AttrReader(peer.subarray(IFINFOMSG_LEN));
    expect(peerAttrs.str(Ifla.IFNAME)).toBe("eth0");
    expect(peerAttrs.u32(Ifla.NET_NS_FD)).toBe(42);
    expect(peerAttrs.u32(Ifla.MTU)).toBe(1400);
    expect(peerAttrs.get(Ifla.ADDRESS)?.toString("hex")).toBe("020000000002");
    expect(NLA_F_NESTED).toBe(0x8000);
  });
});

describe("an IPv4 route via an IPv6 gateway (RFC 5549)", () => {
  // What `ip route add 10.10.2.0/24 via inet6 fd00:18::2` sent (strace, iproute2 6.1), after its header.
  const iproute2 = [
    "02180000fe03000100000000", // rtmsg: AF_INET, /24, main, boot, universe, unicast
    "080001000a0a0200", // RTA_DST 10.10.2.0
    "160012000a00fd000018000000000000000000000002", // RTA_VIA: AF_INET6, fd00:18::2
    "0000", // padding
  ].join("");

  it("carries the gateway in RTA_VIA with its family, byte for byte as iproute2", () => {
    const { handle, sent } = recordingHandle();
    addRoute(handle, { dst: "10.10.2.0/24", gw: "fd00:18::2" });
    expect(sent[0]?.payload.toString("hex")).toBe(iproute2);
    expect(sent[0]?.flags).toBe(NlmF.REQUEST | NlmF.ACK | NlmF.CREATE | NlmF.EXCL);
  });

  it("still refuses an IPv6 route via an IPv4 gateway", () => {
    const { handle } = recordingHandle();
    expect(() => addRoute(handle, { dst: "fd10::/64", gw: "10.0.0.1" })).toThrow(/not of the destination's family/);
  });
});
