// ipFamily replaces node:net's isIP on the plugin start-up path; it must answer the same.
import * as net from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ipFamily } from "../../../src/ip/address";
import { addressOf, cidrContains, firstHostOf, networkOf, prefixLengthOf, sameAddress } from "../../../src/ip/cidr";

const samples = [
  "10.0.0.1",
  "255.255.255.255",
  "0.0.0.0",
  "256.1.1.1",
  "01.2.3.4",
  "1.2.3",
  "1.2.3.4.5",
  "1.2.3.4 ",
  "",
  "::",
  "::1",
  "fd00::1",
  "fe80::1%eth0",
  "fe80::1%",
  "1:2:3:4:5:6:7:8",
  "1:2:3:4:5:6:7:8:9",
  "1::2::3",
  "::ffff:10.1.2.3",
  "1:2:3:4:5:6:1.2.3.4",
  "1:2:3:4:5:6:7:1.2.3.4",
  "12345::",
  "g::1",
  ":1",
  "1:",
  "::1.2.3.4",
  "1:2:3:4:5:6:7::",
  "::2:3:4:5:6:7:8",
  "1::8",
  "abcd:ef01:2345:6789:abcd:ef01:2345:6789",
];

describe("ipFamily", () => {
  it.each(samples)("answers like net.isIP for %j", (text) => {
    expect(ipFamily(text)).toBe(net.isIP(text));
  });

  it("answers like net.isIP for generated addresses and near-misses", () => {
    const v4 = fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300), fc.nat(300)).map((parts) => parts.join("."));
    const v6 = fc
      .array(
        fc.oneof(fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF.%"), maxLength: 5 }), fc.constant("")),
        { minLength: 1, maxLength: 10 },
      )
      .map((groups) => groups.join(":"));
    fc.assert(
      fc.property(fc.oneof(v4, v6, fc.string()), (text) => ipFamily(text) === net.isIP(text)),
      { numRuns: 3000, seed: 42 },
    );
  });
});

describe("cidr helpers", () => {
  it("computes networks, gateways and prefixes", () => {
    expect(networkOf("10.1.0.5/24")).toBe("10.1.0.0/24");
    expect(firstHostOf("10.1.0.5/24")).toBe("10.1.0.1");
    expect(networkOf("fd00:1::7/64")).toBe("fd00:1::/64");
    expect(firstHostOf("fd00:1::7/64")).toBe("fd00:1::1");
    expect(addressOf("fd00:0:0::5/64")).toBe("fd00::5");
    expect(prefixLengthOf("10.1.0.5/24")).toBe(24);
    expect(prefixLengthOf("10.1.0.5")).toBe(32);
    expect(sameAddress("fd00::1", "fd00:0::1")).toBe(true);
    expect(sameAddress("10.0.0.1", "10.0.0.2")).toBe(false);
    expect(cidrContains("10.1.0.0/16", "10.1.200.3")).toBe(true);
    expect(cidrContains("10.1.0.0/16", "fd00::1")).toBe(false);
  });
});
