import { describe, expect, it } from "vitest";
import { parseNetConf } from "../../../src/cni/config";
import { CniError } from "../../../src/cni/errors";
import { MAX_JSON_DEPTH, depthExceededAt, parseJsonBounded, showJson } from "../../../src/cni/json-bounds";

const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

describe("json-bounds", () => {
  it("counts nesting outside strings only", () => {
    expect(depthExceededAt(nested(3), 3)).toBe(-1);
    expect(depthExceededAt(nested(4), 3)).toBe(3);
    expect(depthExceededAt(`{"a":"[[[[[\\"[[["}`, 1)).toBe(-1);
  });

  it("parses up to the bound and refuses past it, naming the limit", () => {
    expect(parseJsonBounded(nested(MAX_JSON_DEPTH))).toBeInstanceOf(Array);
    expect(() => parseJsonBounded(nested(MAX_JSON_DEPTH + 1))).toThrow(`nested deeper than ${MAX_JSON_DEPTH} levels`);
  });

  it("100,000 levels as the document or inside a field: code 6 naming the bound", () => {
    const field = `{"cniVersion":"1.1.0","name":"n","type":"bridge","mtu":${nested(100_000)}}`;
    for (const text of [nested(100_000), field]) {
      let caught: unknown;
      try {
        parseNetConf(Buffer.from(text));
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(CniError);
      expect((caught as CniError).code).toBe(6);
      expect((caught as CniError).message).toMatch(/nested deeper than 128 levels/);
    }
  });

  it("shows values within the budget, whatever their size", () => {
    expect(showJson({ a: [1, "x"], b: null })).toBe('{"a":[1,"x"],"b":null}');
    const wide = Array.from({ length: 1_000_000 }, (_, i) => i);
    expect(showJson(wide, 20)).toHaveLength(20);
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(showJson(deep, 30)).toBe(`${"[".repeat(27)}...`);
    expect(showJson("z".repeat(1000), 10)).toBe('"zzzzzz...');
  });
});
