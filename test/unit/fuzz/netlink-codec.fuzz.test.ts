// Property-based fuzzing of the netlink message reader: whatever bytes arrive (random,
// golden kernel datagrams with bytes changed or cut, attribute trees with lying
// lengths), the reader either decodes or throws its own plain Error. A TypeError or
// RangeError (e.g. a Buffer read past the end) is a bug, and nothing may hang.
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AttrReader, NLA_HDRLEN, align4 } from "../../../src/netlink/codec/attrs";
import { NLA_F_NESTED, NlmF } from "../../../src/netlink/codec/constants";
import { NetlinkError, parseDoneStatus, parseNlmsgerr } from "../../../src/netlink/codec/errors";
import { NLMSG_HDRLEN, splitMessages } from "../../../src/netlink/codec/header";
import { decodeAddr } from "../../../src/netlink/addrs";
import { decodeLink } from "../../../src/netlink/link-decode";
import { decodeNeigh } from "../../../src/netlink/neigh";
import { decodeRoute } from "../../../src/netlink/routes";
import { datagrams } from "../netlink/fixtures";
import { FUZZ_RUNS, fuzzParams } from "./params";

/** The codec's own failures: plain Errors (malformed input) and NetlinkErrors. */
function isCodecError(err: unknown): boolean {
  return err instanceof NetlinkError || (err instanceof Error && err.constructor === Error);
}

function expectCodecErrorOnly(body: () => unknown): void {
  try {
    body();
  } catch (err) {
    if (!isCodecError(err))
      throw new Error(`reader threw ${(err as Error).name}: ${(err as Error).message}`, { cause: err });
  }
}

const DECODERS: Array<(payload: Buffer) => unknown> = [decodeLink, decodeAddr, decodeRoute, decodeNeigh];

/** Every typed read an attribute list offers, on every attribute it holds. */
function readEverything(reader: AttrReader, depth = 0): void {
  for (const attr of reader.list) {
    reader.u8(attr.type);
    reader.u16(attr.type);
    reader.be16(attr.type);
    reader.u32(attr.type);
    reader.s32(attr.type);
    reader.str(attr.type);
    reader.all(attr.type);
    if (depth < 4)
      expectCodecErrorOnly(() =>
        readEverything(reader.nested(attr.type) ?? new AttrReader(Buffer.alloc(0)), depth + 1),
      );
  }
}

/** Feeds one datagram through everything that reads kernel bytes. */
function readDatagram(datagram: Buffer, flags: number): void {
  expectCodecErrorOnly(() => {
    for (const message of splitMessages(datagram)) {
      for (const decode of DECODERS) expectCodecErrorOnly(() => decode(message.payload));
      expectCodecErrorOnly(() => parseNlmsgerr(message.payload, message.flags | flags));
      expectCodecErrorOnly(() => parseDoneStatus(message.payload, message.flags | flags));
    }
  });
  for (const decode of DECODERS) expectCodecErrorOnly(() => decode(datagram));
  expectCodecErrorOnly(() => parseNlmsgerr(datagram, flags));
  expectCodecErrorOnly(() => readEverything(new AttrReader(datagram)));
}

const GOLDEN = [
  "links",
  "addrs",
  "routes",
  "fdb",
  "neighs",
  "error-eexist",
  "error-erange-extack",
  "error-eaddrnotavail-extack",
].flatMap((name) => {
  try {
    return datagrams(name);
  } catch {
    return []; // a fixture that is not captured on this tree
  }
});

const ackFlags = fc.constantFrom(0, NlmF.ACK_TLVS, NlmF.ACK_TLVS | NlmF.CAPPED, NlmF.CAPPED);

/** A golden datagram with bytes overwritten, cut, or inserted. */
const mutatedGolden = fc
  .record({
    golden: fc.constantFrom(...GOLDEN),
    edits: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 8 }),
    cutAt: fc.option(fc.nat(), { nil: undefined }),
    insertAt: fc.option(fc.record({ at: fc.nat(), bytes: fc.uint8Array({ maxLength: 12 }) }), { nil: undefined }),
  })
  .map(({ golden, edits, cutAt, insertAt }) => {
    let bytes = Buffer.from(golden);
    for (const edit of edits) if (bytes.length > 0) bytes[edit.at % bytes.length] = edit.value;
    if (insertAt) {
      const at = insertAt.at % (bytes.length + 1);
      bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(insertAt.bytes), bytes.subarray(at)]);
    }
    if (cutAt !== undefined) bytes = bytes.subarray(0, cutAt % (bytes.length + 1));
    return bytes;
  });

interface AttrNode {
  type: number;
  nested: boolean;
  body: Buffer | AttrNode[];
  /** Added to the true length: a lying length field. */
  lengthSkew: number;
}

const attrTree: fc.Arbitrary<AttrNode[]> = fc.letrec<{ node: AttrNode; list: AttrNode[] }>((tie) => ({
  node: fc.record({
    type: fc.integer({ min: 0, max: 60 }),
    nested: fc.boolean(),
    body: fc.oneof(
      { depthSize: "small" },
      fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes)),
      tie("list"),
    ),
    lengthSkew: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: -8, max: 8 })),
  }),
  list: fc.array(tie("node"), { maxLength: 5 }),
})).list;

function encodeAttrs(nodes: AttrNode[]): Buffer {
  return Buffer.concat(
    nodes.map((node) => {
      const body = Array.isArray(node.body) ? encodeAttrs(node.body) : node.body;
      const header = Buffer.alloc(NLA_HDRLEN);
      header.writeUInt16LE(Math.max(0, Math.min(0xffff, NLA_HDRLEN + body.length + node.lengthSkew)), 0);
      header.writeUInt16LE(node.type | (node.nested ? NLA_F_NESTED : 0), 2);
      return Buffer.concat([header, body, Buffer.alloc(align4(body.length) - body.length)]);
    }),
  );
}

/** A message: header (length possibly lying), a fixed struct of 0-20 bytes, an attribute tree. */
const structuredDatagram = fc
  .record({
    type: fc.integer({ min: 0, max: 100 }),
    flags: fc.integer({ min: 0, max: 0xffff }),
    fixed: fc.uint8Array({ maxLength: 20 }),
    attrs: attrTree,
    lengthSkew: fc.integer({ min: -20, max: 20 }),
  })
  .map(({ type, flags, fixed, attrs, lengthSkew }) => {
    const payload = Buffer.concat([Buffer.from(fixed), encodeAttrs(attrs)]);
    const header = Buffer.alloc(NLMSG_HDRLEN);
    header.writeUInt32LE(Math.max(0, NLMSG_HDRLEN + payload.length + lengthSkew), 0);
    header.writeUInt16LE(type, 4);
    header.writeUInt16LE(flags, 6);
    return Buffer.concat([header, payload]);
  });

describe("fuzz: netlink message reader", () => {
  it("has golden datagrams to mutate", () => {
    expect(GOLDEN.length).toBeGreaterThan(0);
  });

  it(`random bytes (${FUZZ_RUNS} cases)`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), ackFlags, (bytes, flags) =>
        readDatagram(Buffer.from(bytes), flags),
      ),
      fuzzParams(1),
    );
  });

  it(`golden kernel datagrams with bytes changed, cut or inserted (${FUZZ_RUNS} cases)`, () => {
    fc.assert(
      fc.property(mutatedGolden, ackFlags, (bytes, flags) => readDatagram(bytes, flags)),
      fuzzParams(2),
    );
  });

  it(`attribute trees with lying lengths (${FUZZ_RUNS} cases)`, () => {
    fc.assert(
      fc.property(structuredDatagram, ackFlags, (bytes, flags) => readDatagram(bytes, flags)),
      fuzzParams(3),
    );
  });
});
