// Loads the golden data captured by test/fixtures/netlink/capture.ts.
import * as fs from "node:fs";
import * as path from "node:path";
import { type NlMessage, splitMessages } from "../../../src/netlink/codec/header";
import { NlmF, NlmsgType } from "../../../src/netlink/codec/constants";
import type { Handle, RequestSpec } from "../../../src/netlink/handle";

export const fixtureDir = path.join(__dirname, "..", "..", "fixtures", "netlink");

export function datagrams(name: string): Buffer[] {
  return fs
    .readFileSync(path.join(fixtureDir, `${name}.hex`), "utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => Buffer.from(line, "hex"));
}

/** The object messages of a captured dump (DONE and errors left out). */
export function dumpMessages(name: string): NlMessage[] {
  return datagrams(name)
    .flatMap((datagram) => splitMessages(datagram))
    .filter((msg) => msg.type !== NlmsgType.DONE && msg.type !== NlmsgType.ERROR);
}

export function ipJson<T>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(fixtureDir, `${name}.ip.json`), "utf8")) as T;
}

export interface TracedIpRequest {
  argv: string[];
  type: number;
  flags: number;
  payload: string;
}

export function ipRequests(): Record<string, TracedIpRequest> {
  return JSON.parse(fs.readFileSync(path.join(fixtureDir, "requests.json"), "utf8")) as Record<string, TracedIpRequest>;
}

/** A Handle stand-in that records requests instead of sending them (no socket, no root). */
export function recordingHandle(): { handle: Handle; sent: { type: number; flags: number; payload: Buffer }[] } {
  const sent: { type: number; flags: number; payload: Buffer }[] = [];
  const record = (spec: RequestSpec): never[] => {
    sent.push({ type: spec.type, flags: NlmF.REQUEST | NlmF.ACK | (spec.flags ?? 0), payload: spec.payload });
    return [];
  };
  return { handle: { request: record, dump: record } as unknown as Handle, sent };
}
