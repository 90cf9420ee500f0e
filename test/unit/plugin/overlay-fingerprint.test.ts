// The l3 VTEP fingerprint on what the kernel sent (test/fixtures/netlink/capture-overlay.ts):
// the kernel's entries and the desired entries hash alike exactly when the diff is empty,
// and any entry added, dropped or changed changes the fingerprint.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { Rtm } from "../../../src/netlink/codec/constants";
import type { NlMessage } from "../../../src/netlink/codec/header";
import type { Handle, RequestSpec } from "../../../src/netlink/handle";
import {
  desiredFingerprint,
  desiredFloodFingerprint,
  kernelFingerprint,
  kernelFloodFingerprint,
} from "../../../overlay/kernel/fingerprint";
import { nextStamp, parseStamp, peerListDigest, stampText, stampedFingerprint } from "../../../overlay/kernel/stamp";
import { type PeerEntries, diffPeerEntries, isEmptyDiff } from "../../../overlay/kernel/peer-entries";
import { readPeerEntries } from "../../../overlay/kernel/reconcile";
import { dumpMessages, fixtureDir } from "../netlink/fixtures";

const vtep = (JSON.parse(fs.readFileSync(path.join(fixtureDir, "scan-requests.json"), "utf8")) as { vtepIndex: number })
  .vtepIndex;

interface Dumps {
  fdb: NlMessage[];
  neighbours: NlMessage[];
  routes: NlMessage[];
}
const captured = (): Dumps => ({
  fdb: dumpMessages("scan-fdb"),
  neighbours: dumpMessages("scan-neighs"),
  routes: dumpMessages("scan-routes"),
});

/** Answers each dump with its captured messages: the FDB one is asked with a 16-byte ifinfomsg. */
function replay(dumps: Dumps): Handle {
  const dump = (spec: RequestSpec) =>
    spec.type === Rtm.GETROUTE ? dumps.routes : spec.payload.length === 16 ? dumps.fdb : dumps.neighbours;
  const dumpEach = (spec: RequestSpec, visit: (buf: Buffer, start: number, end: number) => void) => {
    for (const msg of dump(spec)) visit(msg.payload, 0, msg.payload.length);
  };
  const request = () => [{ type: Rtm.NEWLINK, flags: 0, seq: 0, pid: 0, payload: linkPayload() }];
  return { dump, dumpEach, request } as unknown as Handle;
}

/** A minimal RTM_NEWLINK answer for getLink: ifinfomsg with the VTEP's index and its name. */
function linkPayload(): Buffer {
  const header = Buffer.alloc(16);
  header.writeInt32LE(vtep, 4);
  const name = Buffer.from("vx0\0");
  const attr = Buffer.alloc(8);
  attr.writeUInt16LE(4 + name.length, 0);
  attr.writeUInt16LE(3, 2); // IFLA_IFNAME
  name.copy(attr, 4);
  return Buffer.concat([header, attr]);
}

// The captured VTEP's entries as two l3 peers (198.18.0.2 dual-stack, 198.18.0.3), flood entry aside.
const desired: PeerEntries[] = [
  { underlayAddress: "198.18.0.2", subnet: "10.78.2.0/24", vtepMac: "02:00:00:00:00:02", vtepAddress: "10.78.2.0" },
  {
    underlayAddress: "198.18.0.2",
    subnet: "fd10:0:0:2::/64",
    vtepMac: "02:00:00:00:00:02",
    vtepAddress: "fd10:0:0:2::",
  },
  { underlayAddress: "198.18.0.3", subnet: "10.78.3.0/25", vtepMac: "0a:bc:de:f0:12:03", vtepAddress: "10.78.3.0" },
];
const isFlood = (msg: NlMessage) => msg.payload.includes(Buffer.from([8, 0, 1, 0, 198, 18, 0, 4]));
const withoutFlood = (): Dumps => ({ ...captured(), fdb: captured().fdb.filter((msg) => !isFlood(msg)) });

describe("the l3 VTEP fingerprint", () => {
  it("of the kernel's entries equals the desired entries' exactly when their diff is empty", () => {
    const exact = withoutFlood();
    expect(isEmptyDiff(diffPeerEntries(desired, readPeerEntries(replay(exact), "vx0")))).toBe(true);
    expect(kernelFingerprint(replay(exact), vtep)).toBe(desiredFingerprint(desired));
    // With the flood entry (not an l3 entry) the diff removes it, and the fingerprints differ.
    expect(isEmptyDiff(diffPeerEntries(desired, readPeerEntries(replay(captured()), "vx0")))).toBe(false);
    expect(kernelFingerprint(replay(captured()), vtep)).not.toBe(desiredFingerprint(desired));
  });

  it("leaves out what readPeerEntries leaves out: a stale neighbour, a route without gateway, another table, other devices", () => {
    // The capture holds all of those (capture-overlay.ts); the equality above is with them in the dumps.
    const dumps = withoutFlood();
    expect(dumps.neighbours.length).toBeGreaterThan(3);
    expect(dumps.routes.length).toBeGreaterThan(3);
  });

  it.each([
    ["a neighbour's MAC changed", (dumps: Dumps) => flipLastByteOf(dumps.neighbours, [2, 0, 0, 0, 0, 2])],
    ["an FDB entry's destination changed", (dumps: Dumps) => flipLastByteOf(dumps.fdb, [198, 18, 0, 3])],
    [
      "a route dropped",
      (dumps: Dumps) => void dumps.routes.splice(dumps.routes.findIndex(isRouteTo([10, 78, 3, 0])), 1),
    ],
    ["a route's onlink cleared", (dumps: Dumps) => clearOnlink(dumps.routes.find(isRouteTo([10, 78, 2, 0])))],
    ["an FDB entry dropped", (dumps: Dumps) => void dumps.fdb.pop()],
  ])("changes when %s", (_what, drift) => {
    const dumps = withoutFlood();
    drift(dumps);
    expect(kernelFingerprint(replay(dumps), vtep)).not.toBe(desiredFingerprint(desired));
  });

  it("keys its stamp by the peer list: another list, or no stamp, gives no fingerprint", () => {
    const peers = [{ underlayAddress: "198.18.0.2", subnet: "10.78.2.0/24" }];
    const digest = peerListDigest(42, peers);
    const alias = stampText({ digest, fingerprint: desiredFingerprint(desired), extra: undefined });
    expect(alias.length).toBeLessThanOrEqual(255);
    expect(stampedFingerprint(alias, digest)).toBe(desiredFingerprint(desired));
    expect(stampedFingerprint(alias, peerListDigest(43, peers))).toBeUndefined();
    expect(
      stampedFingerprint(alias, peerListDigest(42, [{ ...peers[0], subnet: "10.78.2.0/25" }] as typeof peers)),
    ).toBeUndefined();
    expect(stampedFingerprint(undefined, digest)).toBeUndefined();
    expect(stampedFingerprint("an operator's alias", digest)).toBeUndefined();
  });
});

describe("the l2 flood fingerprint", () => {
  // The capture's VTEP floods to 198.18.0.4 and has unicast entries through 198.18.0.2 and .3.
  const unicast = (msg: NlMessage) => !isFlood(msg) && !msg.payload.includes(Buffer.from([8, 0, 9, 0]));
  const floodOnly = (): Dumps => ({ ...captured(), fdb: captured().fdb.filter((msg) => !unicast(msg)) });

  it("is the flood list's, with unicast entries only through flooded peers", () => {
    expect(kernelFloodFingerprint(replay(floodOnly()), vtep)).toBe(desiredFloodFingerprint(["198.18.0.4"]));
    expect(desiredFloodFingerprint(["198.18.0.4", "198.18.0.4"])).toBe(desiredFloodFingerprint(["198.18.0.4"]));
    expect(kernelFloodFingerprint(replay(floodOnly()), vtep)).not.toBe(
      desiredFloodFingerprint(["198.18.0.4", "198.18.0.2"]),
    );
  });

  it("matches no list while an entry goes through a peer that is not flooded (the reconcile removes it)", () => {
    // The unicast entries through 198.18.0.2 and .3, which are not in the flood list.
    expect(captured().fdb.some(unicast)).toBe(true);
    expect(kernelFloodFingerprint(replay(captured()), vtep)).toMatch(/\+stray$/);
  });
});

describe("the VTEP stamp", () => {
  const digest = peerListDigest(42, [{ underlayAddress: "198.18.0.2", subnet: "10.78.2.0/24" }]);

  it("reads back what it wrote, and leaves out an extra that would not fit the alias", () => {
    const stamp = { digest, fingerprint: "3.a.b", extra: "key;198.18.0.2;198.18.0.1;10.78.1.0/24" };
    expect(parseStamp(stampText(stamp))).toEqual(stamp);
    const long = stampText({ ...stamp, extra: "x".repeat(300) });
    expect(long.length).toBeLessThanOrEqual(255);
    expect(parseStamp(long)).toEqual({ ...stamp, extra: undefined });
  });

  it("keeps a caller's extra while the list is the same, drops it for another list, takes a new one when given", () => {
    const alias = stampText({ digest, fingerprint: "3.a.b", extra: "claim" });
    expect(parseStamp(nextStamp(alias, digest, "3.a.b"))?.extra).toBe("claim");
    expect(parseStamp(nextStamp(alias, "other", "1.c.d"))?.extra).toBeUndefined();
    expect(parseStamp(nextStamp(alias, digest, "4.e.f"))?.extra).toBeUndefined();
    expect(parseStamp(nextStamp(alias, digest, "3.a.b", "new"))?.extra).toBe("new");
  });
});

function flipLastByteOf(messages: NlMessage[], bytes: number[]): void {
  const msg = messages.find((each) => each.payload.includes(Buffer.from(bytes)));
  if (!msg) throw new Error(`no captured message holds ${bytes.join(",")}`);
  const at = msg.payload.indexOf(Buffer.from(bytes)) + bytes.length - 1;
  msg.payload[at] = (msg.payload[at] ?? 0) ^ 1;
}

function isRouteTo(dst: number[]): (msg: NlMessage) => boolean {
  return (msg) => msg.payload.includes(Buffer.from([8, 0, 1, 0, ...dst]));
}

function clearOnlink(msg: NlMessage | undefined): void {
  if (!msg) throw new Error("no captured route");
  msg.payload.writeUInt32LE(msg.payload.readUInt32LE(8) & ~4, 8);
}
