import { describe, expect, it } from "vitest";
import { canonicalMac, isMacAddress } from "../../../src/ip/mac";
import { parseMac } from "../../../src/netlink/codec/ip-bytes";

describe("MAC syntax (one definition for CNI_ARGS, args.cni.mac, the capability and the codec)", () => {
  it.each(["0a:58:0a:f4:00:05", "0A:58:0A:F4:00:05", "0a-58-0a-f4-00-05"])("accepts %s", (text) => {
    expect(isMacAddress(text)).toBe(true);
    expect(canonicalMac(text)).toBe("0a:58:0a:f4:00:05");
    expect([...parseMac(text)]).toEqual([0x0a, 0x58, 0x0a, 0xf4, 0x00, 0x05]);
  });

  it.each(["0a:58:0a:f4:00", "0a:58:0a:f4:00:05:06", "0a:58-0a:f4:00:05", "0a58.0af4.0005", "g0:58:0a:f4:00:05", ""])(
    "refuses %j",
    (text) => {
      expect(isMacAddress(text)).toBe(false);
      expect(canonicalMac(text)).toBeUndefined();
      expect(() => parseMac(text)).toThrow(/not a MAC address/);
    },
  );
});
