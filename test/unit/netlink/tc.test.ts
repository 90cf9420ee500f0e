// Our qdisc requests against the ones iproute2's `tc` sent for the same command (captured
// with strace by test/fixtures/netlink/capture-tc.ts, netem included although this
// machine's kernel refuses it), and the option decoders against our encoders.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { Handle } from "../../../src/netlink/handle";
import {
  addRootQdisc,
  decodeQdisc,
  deleteRootQdisc,
  replaceRootQdisc,
  rootQdiscPayload,
} from "../../../src/netlink/tc";
import { decodeNetemOptions, encodeNetemOptions } from "../../../src/netlink/tc-netem";
import { decodeTbfOptions, encodeTbfOptions } from "../../../src/netlink/tc-tbf";
import { percentToProbability, usToTicks } from "../../../src/netlink/tc-units";
import { fixtureDir, recordingHandle } from "./fixtures";

interface TracedTcRequest {
  argv: string[];
  ifindex: number;
  type: number;
  flags: number;
  payload: string;
}

const traced = JSON.parse(fs.readFileSync(path.join(fixtureDir, "tc-requests.json"), "utf8")) as Record<
  string,
  TracedTcRequest
>;
// The device the capture used: va, index 3 in its namespace.
const VA = 3;

const cases: [string, (h: Handle) => void][] = [
  [
    "netem-basic",
    (h) =>
      addRootQdisc(h, {
        link: VA,
        kind: "netem",
        options: encodeNetemOptions({ delayUs: 20_000, jitterUs: 5_000, lossPercent: 10 }),
      }),
  ],
  [
    "netem-full",
    (h) =>
      addRootQdisc(h, {
        link: VA,
        kind: "netem",
        options: encodeNetemOptions({
          limit: 2000,
          delayUs: 20_000,
          jitterUs: 5_000,
          delayCorrelationPercent: 25,
          reorderPercent: 30,
          reorderCorrelationPercent: 50,
          lossPercent: 10,
          lossCorrelationPercent: 5,
          duplicatePercent: 1,
          corruptPercent: 0.5,
          rateBytesPerSecond: 1_250_000,
        }),
      }),
  ],
  [
    "netem-replace",
    (h) =>
      replaceRootQdisc(h, {
        link: VA,
        kind: "netem",
        options: encodeNetemOptions({ delayUs: 100_000, duplicatePercent: 2, corruptPercent: 1 }),
      }),
  ],
  [
    "tbf",
    (h) =>
      addRootQdisc(h, {
        link: VA,
        kind: "tbf",
        options: encodeTbfOptions({ rateBytesPerSecond: 1_250_000, burstBytes: 32 * 1024, latencyUs: 50_000 }),
      }),
  ],
  ["del-root", (h) => deleteRootQdisc(h, VA)],
];

describe("qdisc requests are byte-identical to tc's", () => {
  for (const [name, build] of cases) {
    it(`${name}: ${traced[name]?.argv.join(" ")}`, () => {
      const expected = traced[name];
      if (!expected) throw new Error(`tc-requests.json has no ${name}: rerun capture-tc.ts`);
      expect(expected.ifindex).toBe(VA);
      const { handle, sent } = recordingHandle();
      build(handle);
      expect(sent).toHaveLength(1);
      expect({ type: sent[0]?.type, flags: sent[0]?.flags }).toEqual({ type: expected.type, flags: expected.flags });
      expect(sent[0]?.payload.toString("hex")).toBe(expected.payload);
    });
  }
});

describe("tc units and decoders", () => {
  it("converts the way iproute2 does", () => {
    expect(usToTicks(20_000)).toBe(312_500);
    expect(percentToProbability(10)).toBe(0x1999999a);
    expect(percentToProbability(30)).toBe(0x4ccccccc);
    expect(percentToProbability(50)).toBe(0x80000000);
    expect(percentToProbability(100)).toBe(0xffffffff);
    expect(() => percentToProbability(101)).toThrow(RangeError);
  });

  it("reads back what it wrote", () => {
    const netem = decodeQdisc(
      rootQdiscPayload(
        VA,
        "netem",
        encodeNetemOptions({
          delayUs: 20_000,
          jitterUs: 5_000,
          lossPercent: 10,
          reorderPercent: 25,
          corruptPercent: 1,
          rateBytesPerSecond: 1_250_000,
        }),
      ),
    );
    expect(netem).toMatchObject({ index: VA, root: true, kind: "netem" });
    const state = decodeNetemOptions(netem.options as Buffer);
    expect(state).toMatchObject({
      delayUs: 20_000,
      jitterUs: 5_000,
      gap: 1,
      rateBytesPerSecond: 1_250_000,
      limit: 1000,
    });
    expect(state.lossPercent).toBeCloseTo(10, 6);
    expect(state.reorderPercent).toBeCloseTo(25, 6);
    expect(
      decodeTbfOptions(encodeTbfOptions({ rateBytesPerSecond: 125_000, burstBytes: 4096, latencyUs: 400_000 })),
    ).toEqual({ rateBytesPerSecond: 125_000, limitBytes: 54_096, burstBytes: 4096 });
    expect(() => encodeNetemOptions({ reorderPercent: 10 })).toThrow(/needs a delay/);
  });
});
