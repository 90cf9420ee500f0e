// RTM_GETROUTE with a destination, against iproute2: the request payloads are what
// `strace -e sendmsg -xx ip route get ...` showed `ip` (iproute2 6.1) sending on this
// machine, and the answer is the kernel's reply to the first one (recvmsg).
import { describe, expect, it } from "vitest";
import { decodeRouteLookup, routeGetPayload } from "../../../src/netlink/route-get";

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ""), "hex");

describe("routeGetPayload", () => {
  it("is what `ip route get 10.10.2.2` sends (IPv4 asks for the table id)", () => {
    expect(routeGetPayload(undefined, { dst: "10.10.2.2" }).toString("hex")).toBe(
      hex("02200000 00000000 00100000 08000100 0a0a0202").toString("hex"),
    );
  });

  it("is what `ip route get 10.10.2.2 from 10.10.1.2 iif ul0` sends (ul0 was index 2)", () => {
    const expected = hex("02202000 00000000 00100000 08000100 0a0a0202 08000200 0a0a0102 08000300 02000000");
    expect(routeGetPayload(undefined, { dst: "10.10.2.2", src: "10.10.1.2", iif: 2 }).toString("hex")).toBe(
      expected.toString("hex"),
    );
  });

  it("is what `ip -6 route get fd00::1` sends", () => {
    const expected = hex("0a800000 00000000 00000000 14000100 fd000000 00000000 00000000 00000001");
    expect(routeGetPayload(undefined, { dst: "fd00::1" }).toString("hex")).toBe(expected.toString("hex"));
  });

  it("refuses a source of the other family", () => {
    expect(() => routeGetPayload(undefined, { dst: "10.0.0.1", src: "fd00::1" })).toThrow(/mixed address families/);
  });
});

describe("decodeRouteLookup", () => {
  it("reads the kernel's answer as `ip -j route get` shows it", () => {
    const reply = hex(
      "02200000 fe000001 00020000 08000f00 fe000000 08000100 0a0a0202 08000400 02000000 08000700 0a0a0102 08001900 00000000" +
        "24000c00 02000000 b2290000 00000000 00000000 00000000 00000000 00000000 00000000",
    );
    const lookup = decodeRouteLookup(reply);
    expect(lookup).toMatchObject({ family: 4, dst: "10.10.2.2/32", table: 254, oif: 2, prefsrc: "10.10.1.2", type: 1 });
    expect(lookup.expiresSeconds).toBeUndefined();
  });

  it("reads a learned path MTU and when it expires", () => {
    // The kernel's answer after an ICMP "fragmentation needed" (`ip route get` showed "cache expires 599sec mtu 1350").
    const reply = hex(
      "02200000 fe000001 00020000 08000f00 fe000000 08000100 0a0a0202 08000400 02000000 08000700 0a0a0102" +
        "0c000800 08000200 46050000 08001900 00000000 24000c00 02000000 9e390000 4aea0000 00000000 00000000 00000000 00000000 00000000",
    );
    expect(decodeRouteLookup(reply)).toMatchObject({ mtu: 1350, expiresSeconds: 599 });
  });
});
