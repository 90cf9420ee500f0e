// contentDigest outside Bun (vitest runs on node): the JS lanes. Same bytes, same digest,
// wherever they sit in memory; any changed byte or length, another digest.
import { describe, expect, it } from "vitest";
import { contentDigest } from "../../../src/ip/content-digest";

const bytes = Buffer.from(Array.from({ length: 1027 }, (_, index) => (index * 7 + 3) & 0xff));

describe("contentDigest", () => {
  it("is 16 hex digits, the same for a string and its UTF-8 bytes", () => {
    expect(contentDigest(bytes)).toMatch(/^[0-9a-f]{16}$/);
    expect(contentDigest("peers\n198.18.0.2")).toBe(contentDigest(Buffer.from("peers\n198.18.0.2")));
  });

  it("does not depend on where the bytes sit (an unaligned view of a larger buffer)", () => {
    const larger = Buffer.concat([Buffer.from([9]), bytes]);
    expect(contentDigest(larger.subarray(1))).toBe(contentDigest(bytes));
  });

  it("changes with any byte, and with the length", () => {
    const seen = new Set([contentDigest(bytes)]);
    for (const at of [0, 1, 2, 3, 511, 1023, 1024, 1026]) {
      const changed = Buffer.from(bytes);
      changed[at] = (changed[at] ?? 0) ^ 0x01;
      seen.add(contentDigest(changed));
    }
    seen.add(contentDigest(bytes.subarray(0, 1026)));
    seen.add(contentDigest(Buffer.concat([bytes, Buffer.from([0])])));
    seen.add(contentDigest(""));
    expect(seen.size).toBe(12);
  });
});
