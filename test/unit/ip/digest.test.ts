import { describe, expect, it } from "vitest";
import { digestMac, macFromHex, randomLocalMac, shortDigest } from "../../../src/ip/digest";

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

describe("shortDigest against FNV-1a 64 in bigint arithmetic", () => {
  // The reference definition: what the two-halves version must equal bit for bit (VTEP
  // MACs and veth names derived from it must not change between versions).
  const OFFSET = 0xcbf29ce484222325n;
  const PRIME = 0x100000001b3n;
  const MASK = (1n << 64n) - 1n;
  const reference = (text: string, hexChars: number): string => {
    const bytes = new TextEncoder().encode(text);
    let out = "";
    for (let round = 0n; out.length < hexChars; round++) {
      let hash = OFFSET ^ round;
      for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * PRIME) & MASK;
      out += hash.toString(16).padStart(16, "0");
    }
    return out.slice(0, hexChars);
  };

  it("agrees on 5,000 texts of every length and two rounds", () => {
    for (let index = 0; index < 5_000; index++) {
      const text = `cnikit-vxlan/${index}/fd00:18::${index.toString(16)}${"é".repeat(index % 4)}`;
      const hexChars = 1 + (index % 40);
      expect(shortDigest(text, hexChars)).toBe(reference(text, hexChars));
    }
    expect(shortDigest("", 16)).toBe("cbf29ce484222325");
  });
});

describe("digestMac", () => {
  it("is macFromHex(shortDigest(text, 12)), bit for bit (the VTEP MACs every host derives)", () => {
    const texts = [
      "",
      "a",
      "cnikit-vxlan/42/198.18.0.2",
      "cnikit-vxlan/16777215/fd00:18::ffff",
      "h\u00e9te", // non-ASCII goes the UTF-8 way
      ...Array.from(
        { length: 5_000 },
        (_, i) => `cnikit-vxlan/${i % 97}/198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
      ),
    ];
    for (const text of texts) expect(digestMac(text), text).toBe(macFromHex(shortDigest(text, 12)));
  });
});
