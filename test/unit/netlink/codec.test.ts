// Addresses, structs, attribute reader edge cases, sysctl keys, strace parsing.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AttrReader, splitAttrs } from "../../../src/netlink/codec/attrs";
import { formatIp, formatMac, parseCidr, parseIp, parseMac } from "../../../src/netlink/codec/ip-bytes";
import { decodeNd, decodeRt, encodeNd, encodeRt } from "../../../src/netlink/codec/structs";
import { splitMessages } from "../../../src/netlink/codec/header";
import { interfaceSysctl, sysctlPath } from "../../../src/netlink/sysctl";
import { parseStraceRequests } from "../../fixtures/netlink/strace-parse";

describe("ip bytes", () => {
  it("formats IPv6 the RFC 5952 way", () => {
    const cases: [string, string][] = [
      ["fd00:0:0:0:0:0:0:1", "fd00::1"],
      ["0:0:0:0:0:0:0:0", "::"],
      ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"],
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
      // IPv4-mapped: RFC 5952 section 5, as inet_ntop and so iproute2 print it.
      ["::ffff:198.18.0.1", "::ffff:198.18.0.1"],
      ["0:0:0:0:0:ffff:c612:1", "::ffff:198.18.0.1"],
    ];
    for (const [input, canonical] of cases) expect(formatIp(parseIp(input).bytes)).toBe(canonical);
  });

  it("round-trips any 16 or 4 bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) =>
        parseIp(formatIp(Buffer.from(bytes))).bytes.equals(Buffer.from(bytes)),
      ),
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) =>
        parseIp(formatIp(Buffer.from(bytes))).bytes.equals(Buffer.from(bytes)),
      ),
    );
  });

  it("parses CIDRs and MACs, refuses garbage", () => {
    expect(parseCidr("10.0.0.1/24")).toMatchObject({ family: 2, prefixLen: 24 });
    expect(parseCidr("fd00::1")).toMatchObject({ family: 10, prefixLen: 128 });
    expect(() => parseCidr("10.0.0.1/33")).toThrow(/prefix/);
    expect(() => parseIp("10.0.0")).toThrow(/not an IP/);
    expect(formatMac(parseMac("02:AB:00:00:00:0f"))).toBe("02:ab:00:00:00:0f");
    expect(() => parseMac("02:ab:00:00:00")).toThrow(/MAC/);
  });
});

describe("structs and framing", () => {
  it("rtmsg and ndmsg round-trip", () => {
    const rt = { family: 10, dstLen: 64, srcLen: 0, tos: 0, table: 254, protocol: 3, scope: 0, type: 1, flags: 4 };
    expect(decodeRt(encodeRt(rt))).toEqual(rt);
    const nd = { family: 7, index: 5, state: 0xc0, flags: 2, type: 0 };
    expect(decodeNd(encodeNd(nd))).toEqual(nd);
  });

  it("refuses truncated attributes and messages instead of dropping them", () => {
    expect(() => splitAttrs(Buffer.from("0800030062", "hex"))).toThrow(/malformed netlink attribute/);
    expect(() => splitMessages(Buffer.from("20000000100000000000000000000000", "hex"))).toThrow(
      /malformed netlink message/,
    );
    expect(new AttrReader(Buffer.alloc(0)).str(3)).toBeUndefined();
  });
});

describe("sysctl keys", () => {
  it("dotted and slash forms, dots inside interface names", () => {
    expect(sysctlPath("net.ipv4.ip_forward")).toBe("/proc/sys/net/ipv4/ip_forward");
    expect(sysctlPath("net/ipv4/ip_forward")).toBe("/proc/sys/net/ipv4/ip_forward");
    expect(sysctlPath("net.ipv6.conf.eth0/100.accept_dad")).toBe("/proc/sys/net/ipv6/conf/eth0.100/accept_dad");
    expect(sysctlPath(interfaceSysctl(6, "eth0.100", "accept_dad"))).toBe(
      "/proc/sys/net/ipv6/conf/eth0.100/accept_dad",
    );
    expect(sysctlPath("/proc/sys/net/ipv4/conf/all/rp_filter")).toBe("/proc/sys/net/ipv4/conf/all/rp_filter");
  });

  it("refuses keys outside net and path tricks", () => {
    expect(() => sysctlPath("kernel.hostname")).toThrow(/only net/);
    expect(() => sysctlPath("net/ipv4/../../kernel/hostname")).toThrow(/bad component/);
    expect(() => sysctlPath(interfaceSysctl(4, "..", "forwarding"))).toThrow(/bad component/);
  });
});

describe("strace parsing used by capture.ts", () => {
  it("reads type, symbolic and numeric flags, payload", () => {
    const line = String.raw`sendmsg(3, {msg_iov=[{iov_base=[{nlmsg_len=24, nlmsg_type=0x1c /* NLMSG_??? */, nlmsg_flags=NLM_F_REQUEST|NLM_F_ACK|0xc00, nlmsg_seq=1, nlmsg_pid=0}, "\x07\x00\xab"], iov_len=24}]}, 0) = 24`;
    expect(parseStraceRequests(line)).toEqual([{ type: 0x1c, flags: 0xc05, payload: Buffer.from("0700ab", "hex") }]);
  });
});
