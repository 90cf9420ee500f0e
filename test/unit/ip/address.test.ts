import { describe, expect, it } from "vitest";
import { formatIp, formatV6, parseCidr, parseIp } from "../../../src/ip/address";

describe("addresses format like Go's net.IP.String() (lease file names)", () => {
  const cases: Array<[string, string]> = [
    ["10.1.0.2", "10.1.0.2"],
    ["FD00:0:0:0:0:0:0:2", "fd00::2"],
    ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:0db8:0001:0000:0001:0001:0001:0001", "2001:db8:1:0:1:1:1:1"],
    ["::", "::"],
    ["::1", "::1"],
    ["fd00::", "fd00::"],
    ["::ffff:10.1.2.3", "10.1.2.3"],
    ["64:ff9b::10.1.2.3", "64:ff9b::a01:203"],
  ];
  for (const [input, expected] of cases) {
    it(`${input} -> ${expected}`, () => {
      const address = parseIp(input);
      expect(address).toBeDefined();
      expect(formatIp(address!)).toBe(expected);
    });
  }

  it("refuses what is not an address", () => {
    for (const bad of ["", "10.1.0", "10.1.0.256", "fe80::1%eth0", "x::1", "10.1.0.2/24"])
      expect(parseIp(bad)).toBeUndefined();
  });

  it("parses CIDRs and clears host bits", () => {
    expect(parseCidr("10.1.0.5/24")).toEqual({ network: { family: 4, value: 0x0a010000n }, prefix: 24 });
    expect(parseCidr("fd00::5/64")?.prefix).toBe(64);
    expect(parseCidr("10.1.0.0/33")).toBeUndefined();
    expect(parseCidr("10.1.0.0")).toBeUndefined();
  });
});

describe("one IPv4-mapped rule", () => {
  it("formatV6 (the kernel's view, the codec's text) writes ::ffff:a.b.c.d; formatIp (Go's) the dotted quad", () => {
    const mapped = (0xffffn << 32n) | 0x0a010203n;
    expect(formatV6(mapped)).toBe("::ffff:10.1.2.3");
    expect(formatIp({ family: 6, value: mapped })).toBe("10.1.2.3");
    // Only ::ffff:0:0/96 is mapped: its neighbours are ordinary IPv6 addresses.
    expect(formatV6((0xfffen << 32n) | 0x0a010203n)).toBe("::fffe:a01:203");
    expect(formatV6(0x0a010203n)).toBe("::a01:203");
  });
});
