import { describe, expect, it } from "vitest";
import { ackFor, decodeAck, encodeProbe } from "../../../src/cli/probe/protocol";
import { judge, renderReports } from "../../../src/cli/probe/report";
import type { PairResult } from "../../../src/cli/probe/runner";
import type { TargetResult } from "../../../src/cli/probe/protocol";

const pair = (from: string, to: string, result: Partial<TargetResult>): PairResult => ({
  from: { name: from, netns: `/run/netns/${from}` },
  to: { name: to, netns: `/run/netns/${to}` },
  address: "10.1.0.2",
  result: { address: "10.1.0.2", port: 4000, sent: 3, received: 3, ...result },
});
const rtt = { minMs: 0.05, avgMs: 0.1, maxMs: 0.2 };

describe("probe wire format", () => {
  it("acks a probe with its header and the size received, for the same token only", () => {
    const token = Buffer.from("0102030405060708", "hex");
    const probe = encodeProbe(token, 42, 1000);
    expect(probe.length).toBe(1000);
    const ack = ackFor(probe);
    expect(ack && decodeAck(ack, token)).toEqual({ seq: 42, receivedSize: 1000 });
    expect(ack && decodeAck(ack, Buffer.alloc(8))).toBeUndefined();
    expect(ackFor(Buffer.from("hello, not a probe"))).toBeUndefined();
  });
});

describe("probe verdicts", () => {
  it("ok when everything up to the one-packet limit and a fragmented datagram arrived", () => {
    const report = judge(
      pair("a", "b", { rtt, sizes: { limit: 1472, largest: 1472, fragmented: { size: 2944, crossed: true } } }),
    );
    expect(report).toMatchObject({ verdict: "ok", largestPayload: 1472, rttMs: { min: 0.05, avg: 0.1, max: 0.2 } });
  });

  it("names an MTU black hole with the size where datagrams stop", () => {
    const report = judge(
      pair("a", "b", { rtt, sizes: { limit: 1472, largest: 1422, fragmented: { size: 2944, crossed: false } } }),
    );
    expect(report.verdict).toBe("mtu-black-hole");
    expect(report.explanation).toBe(
      "datagrams over 1422 bytes are lost; the sender's route sends up to 1472 in one packet",
    );
  });

  it("unreachable when nothing came back, with the local error when there was one", () => {
    expect(judge(pair("a", "b", { received: 0 })).explanation).toBe("no answer to 3 datagrams");
    expect(judge(pair("a", "b", { received: 0, error: "send ENETUNREACH" })).explanation).toBe(
      "cannot send: send ENETUNREACH",
    );
  });

  it("renders the matrix with senders down, receivers across, and a summary", () => {
    const text = renderReports([judge(pair("a", "b", { rtt })), judge(pair("b", "a", { received: 0 }))]);
    expect(text.split("\n").slice(0, 3)).toEqual([
      "FROM \\ TO  a     b",
      "a          -     ok 0.10ms",
      "b          FAIL  -",
    ]);
    expect(text).toMatch(/1 of 2 pairs failed$/);
  });
});
