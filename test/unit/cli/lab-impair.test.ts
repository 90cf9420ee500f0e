// Lab impairments without a kernel: values in tc's words, TARGET names, the topology's
// `impairments:` key, which mechanism carries what, the nftables rules, what the queue
// process does to a packet, and the framing between its reader and itself.
import { describe, expect, it } from "vitest";
import { planMechanisms } from "../../../src/cli/lab/impair/apply";
import { FrameReader, encodeFrame } from "../../../src/cli/lab/impair/frames";
import { nftRulesOf } from "../../../src/cli/lab/impair/nft";
import { corruptByte, decideFate, transportPayloadOffset } from "../../../src/cli/lab/impair/packet-fate";
import { formatImpairment, parseImpairment } from "../../../src/cli/lab/impair/spec";
import type { LinkRecord } from "../../../src/cli/lab/impair/store";
import { resolveTarget } from "../../../src/cli/lab/impair/targets";
import { planLab } from "../../../src/cli/lab/plan";
import { DEFAULT_TOPOLOGY_INPUT, normalizeTopology } from "../../../src/cli/lab/topology";

/** Every impairment there is, in tc's words (units, bare numbers, percentages). */
const EVERY_IMPAIRMENT = {
  delay: "20ms",
  jitter: "500us",
  loss: "0.5%",
  rate: "10mbit",
  corrupt: 1,
  duplicate: "2",
  reorder: "25%",
  mtu: 1400,
};

describe("impairment values", () => {
  it("reads tc's units and writes them back", () => {
    const impairment = parseImpairment(EVERY_IMPAIRMENT, "x");
    expect(impairment).toEqual({
      delayMs: 20,
      jitterMs: 0.5,
      lossPercent: 0.5,
      rateBitsPerSecond: 10_000_000,
      corruptPercent: 1,
      duplicatePercent: 2,
      reorderPercent: 25,
      mtu: 1400,
    });
    expect(formatImpairment(impairment)).toBe(
      "delay 20ms jitter 500us loss 0.5% rate 10mbit corrupt 1% duplicate 2% reorder 25% mtu 1400",
    );
    expect(parseImpairment({ delay: "1.5s", rate: "100kbps" }, "x")).toEqual({
      delayMs: 1500,
      rateBitsPerSecond: 800_000,
    });
    expect(parseImpairment({ loss: "0%", delay: 0 }, "x")).toEqual({});
  });

  it.each([
    [{ delay: "fast" }, "x.delay: must be a time like 20ms"],
    [{ loss: "120%" }, "x.loss: must be a percentage from 0 to 100"],
    [{ rate: "10" }, "x.rate: must be a rate with a unit"],
    [{ mtu: 40 }, "x.mtu: must be an integer from 68 to 65535"],
    [{ jitter: "5ms" }, "x.jitter: needs a delay"],
    [{ reorder: "5%" }, "x.reorder: needs a delay"],
    [
      { latency: "5ms" },
      "x.latency: unknown impairment (known: delay, jitter, loss, rate, corrupt, duplicate, reorder, mtu)",
    ],
  ])("refuses %j", (raw, message) => {
    expect(() => parseImpairment(raw, "x")).toThrow(message);
  });

  it("names options the CLI way", () => {
    expect(() => parseImpairment({ delay: "x" }, "", (key) => `--${key}`)).toThrow(/^--delay: /);
  });
});

describe("targets", () => {
  const plan = planLab(normalizeTopology({ ...DEFAULT_TOPOLOGY_INPUT, name: "t" }));

  it("names a host's underlay link, a container's link, or one interface", () => {
    expect(resolveTarget(plan, "h1")).toEqual({
      name: "h1",
      netns: "t-h1",
      ifName: "ul0",
      peer: { netns: "t-underlay", ifName: "p-h1" },
    });
    expect(resolveTarget(plan, "h1:ul0").name).toBe("h1");
    expect(resolveTarget(plan, "h2/c1")).toEqual({
      name: "h2/c1",
      netns: "t-h2-c1",
      ifName: "eth0",
      peer: { netns: "t-h2" },
    });
    expect(resolveTarget(plan, "h1:lab0")).toEqual({ name: "h1:lab0", netns: "t-h1", ifName: "lab0" });
  });

  it.each([
    ["h9", /has no host h9 \(hosts: h1, h2\)/],
    ["h1/c9", /has no container h1\/c9/],
    ["H1", /must be a host \(h1\), a container \(h1\/c1\)/],
    ["h1:a:b", /must be a host/],
  ])("refuses %s", (text, message) => {
    expect(() => resolveTarget(plan, text)).toThrow(message);
  });
});

describe("the topology's impairments key", () => {
  it("is checked against the hosts and containers, and keyed by canonical target", () => {
    const topology = normalizeTopology({
      ...DEFAULT_TOPOLOGY_INPUT,
      impairments: { "h1:ul0": { delay: "20ms" }, "h2/c2": { mtu: 1400, loss: "1%" } },
    });
    expect(topology.impairments).toEqual({ h1: { delayMs: 20 }, "h2/c2": { mtu: 1400, lossPercent: 1 } });
  });

  it.each([
    [{ h3: { delay: "1ms" } }, "topology impairments.h3: names no host of the topology"],
    [{ "h1/c7": { delay: "1ms" } }, "topology impairments.h1/c7: names no container"],
    [{ h1: { delay: "1ms" }, "h1:ul0": { loss: 1 } }, "the same link appears twice"],
    [{ h1: "20ms" }, "topology impairments.h1: must be a mapping"],
    [{ h1: { delay: "soon" } }, "topology impairments.h1.delay: must be a time"],
    [["h1"], "topology impairments: must be a mapping"],
  ])("refuses %j", (impairments, message) => {
    expect(() => normalizeTopology({ ...DEFAULT_TOPOLOGY_INPUT, impairments })).toThrow(message);
  });
});

describe("mechanisms", () => {
  // Which mechanism carries an impairment depends on its key, not its value.
  const impairment = parseImpairment(EVERY_IMPAIRMENT, "x");

  it("all go to netem where the kernel has it, the MTU to the link", () => {
    expect(
      new Set(Object.entries(planMechanisms(impairment, true)).map(([key, mechanism]) => `${key}=${mechanism}`)),
    ).toEqual(
      new Set([
        "delayMs=netem",
        "jitterMs=netem",
        "lossPercent=netem",
        "rateBitsPerSecond=netem",
        "corruptPercent=netem",
        "duplicatePercent=netem",
        "reorderPercent=netem",
        "mtu=mtu",
      ]),
    );
  });

  it("without netem: tbf, nftables and the queue process", () => {
    // Told by mechanism: the queue process holds and alters packets, nftables drops and copies them, tbf shapes.
    const byMechanism = {
      nfqueue: ["delayMs", "jitterMs", "reorderPercent", "corruptPercent"],
      "nft-loss": ["lossPercent"],
      "nft-duplicate": ["duplicatePercent"],
      tbf: ["rateBitsPerSecond"],
      mtu: ["mtu"],
    };
    const expected = Object.entries(byMechanism).flatMap(([mechanism, keys]) => keys.map((key) => [key, mechanism]));
    expect(planMechanisms(impairment, false)).toEqual(Object.fromEntries(expected));
  });

  it("writes loss and duplication as numgen rules (plain drop at 100%)", () => {
    const record = (lossPercent: number): LinkRecord => ({
      target: "h1",
      netns: "t-h1",
      ifName: "ul0",
      impairment: { lossPercent, duplicatePercent: 2 },
      mechanisms: planMechanisms({ lossPercent, duplicatePercent: 2 }, false),
    });
    const [loss, duplicate] = nftRulesOf(record(12.5)) as { add: { rule: { comment: string; expr: unknown[] } } }[];
    expect(loss?.add.rule.comment).toBe("cnikit impair ul0 loss");
    expect(loss?.add.rule.expr).toEqual([
      { match: { op: "==", left: { meta: { key: "oifname" } }, right: "ul0" } },
      { match: { op: "<", left: { numgen: { mode: "random", mod: 10000, offset: 0 } }, right: 1250 } },
      { drop: null },
    ]);
    expect(duplicate?.add.rule.expr).toContainEqual({
      dup: { addr: { rt: { key: "nexthop", family: "ip" } }, dev: "ul0" },
    });
    const [total] = nftRulesOf(record(100)) as { add: { rule: { expr: unknown[] } } }[];
    expect(total?.add.rule.expr).toEqual([
      { match: { op: "==", left: { meta: { key: "oifname" } }, right: "ul0" } },
      { drop: null },
    ]);
  });
});

describe("what the queue process does to a packet", () => {
  // IPv4 (20 bytes) + UDP (8) + 4 payload bytes.
  const udp = Buffer.from("450000200001000040117ccdc612000ac6120014" + "d4311f900000c0de" + "01020304", "hex");
  const sequence =
    (...values: number[]) =>
    () =>
      values.shift() ?? 0.5;

  it("finds the transport payload", () => {
    expect(transportPayloadOffset(udp)).toBe(28);
    expect(transportPayloadOffset(udp.subarray(0, 28))).toBeUndefined();
    expect(transportPayloadOffset(Buffer.from("6000", "hex"))).toBeUndefined();
  });

  it("delays by delay ± jitter, never below zero; reordered packets go at once", () => {
    expect(decideFate({ delayMs: 20, jitterMs: 5 }, udp, sequence(0))).toEqual({ delayMs: 15 });
    expect(decideFate({ delayMs: 20, jitterMs: 5 }, udp, sequence(1))).toEqual({ delayMs: 25 });
    expect(decideFate({ delayMs: 2, jitterMs: 5 }, udp, sequence(0))).toEqual({ delayMs: 0 });
    expect(decideFate({ delayMs: 20, reorderPercent: 30 }, udp, sequence(0.29))).toEqual({ delayMs: 0 });
    expect(decideFate({ delayMs: 20, reorderPercent: 30 }, udp, sequence(0.31))).toEqual({ delayMs: 20 });
  });

  it("corrupts one payload byte and nothing else", () => {
    const fate = decideFate({ corruptPercent: 100 }, udp, sequence(0, 0.99));
    expect(fate).toEqual({ delayMs: 0, corruptOffset: 31 });
    const corrupted = corruptByte(udp, 31, () => 0);
    expect(corrupted.subarray(0, 31)).toEqual(udp.subarray(0, 31));
    expect(corrupted[31]).toBe(0x04 ^ 0x01);
  });
});

describe("reader frames", () => {
  it("keep datagram boundaries across arbitrary pipe chunks", () => {
    const stream = Buffer.concat([
      encodeFrame(Buffer.from("first")),
      encodeFrame(Buffer.alloc(0)),
      encodeFrame(Buffer.from("third datagram")),
    ]);
    const reader = new FrameReader();
    const frames = [...stream].flatMap((byte) => reader.push(Buffer.from([byte])));
    expect(frames.map((frame) => frame.toString())).toEqual(["first", "", "third datagram"]);
  });
});
