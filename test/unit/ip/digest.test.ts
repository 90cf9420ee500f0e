import { describe, expect, it } from "vitest";
import { macFromHex, randomLocalMac, shortDigest } from "../../../src/ip/digest";

describe("shortDigest", () => {
  it("is stable, sized as asked and spreads nearby inputs", () => {
    expect(shortDigest("abc\0eth0", 11)).toBe(shortDigest("abc\0eth0", 11));
    expect(shortDigest("abc\0eth0", 40)).toHaveLength(40);
    expect(shortDigest("abc\0eth0", 40)).toMatch(/^[0-9a-f]+$/);
    const names = new Set(Array.from({ length: 20_000 }, (_, i) => shortDigest(`container-${i}\0eth0`, 11)));
    expect(names.size).toBe(20_000);
  });

  it("matches the FNV-1a 64 reference value", () => {
    // FNV-1a 64 of "a" is af63dc4c8601ec8c (the published test vector).
    expect(shortDigest("a", 16)).toBe("af63dc4c8601ec8c");
  });
});

describe("MACs", () => {
  it("are locally administered unicast", () => {
    for (const mac of [macFromHex("ffffffffffff"), randomLocalMac(), randomLocalMac()]) {
      expect(mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      const first = Number.parseInt(mac.slice(0, 2), 16);
      expect(first & 0x01).toBe(0);
      expect(first & 0x02).toBe(2);
    }
  });
});
