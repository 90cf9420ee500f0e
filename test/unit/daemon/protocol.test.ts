// The daemon's wire format (src/daemon/PROTOCOL.md), byte for byte: the C front end
// (native/cnikit_front.c) is written against the same table.
import { describe, expect, it } from "vitest";
import {
  LIMITS,
  decodeEnvBlock,
  decodeFrames,
  decodeHello,
  encodeAccept,
  encodeAnswer,
  encodeEnvBlock,
  encodeFrame,
  encodeHello,
  encodeRefusal,
  overLimit,
} from "../../../src/daemon/protocol";

describe("daemon protocol", () => {
  it("lays the hello out as magic, four little-endian lengths and the build id", () => {
    const hello = encodeHello("CNK1", "abc", 6, 10, 300);
    expect(hello.toString("hex")).toBe(`434e4b31 03000000 06000000 0a000000 2c010000 616263`.replace(/ /g, ""));
    expect(decodeHello(hello)).toEqual({
      magic: "CNK1",
      buildIdLength: 3,
      pluginLength: 6,
      envLength: 10,
      stdinLength: 300,
    });
  });

  it("refuses a bad magic and names lengths over their bounds", () => {
    expect(() => decodeHello(Buffer.from("XXXX0000000000000000"))).toThrow(/magic "XXXX"/);
    expect(overLimit(decodeHello(encodeHello("CNK1", "id", 6, 0, LIMITS.stdin + 1)))).toMatch(
      /stdin of 67108865 bytes/,
    );
    expect(overLimit(decodeHello(encodeHello("CNK1", "id", 0, 0, 0)))).toMatch(/plugin name length 0/);
    expect(overLimit(decodeHello(encodeHello("CNKS", "id", 0, 0, 0)))).toBeUndefined();
  });

  it("encodes verdicts", () => {
    expect(encodeAccept(120_000).toString("hex")).toBe("59c0d40100");
    expect(encodeRefusal("B", "hi").toString("hex")).toBe("4e4202000000" + "6869");
  });

  it("round-trips frames: stderr pieces, stdout once, the exit status", () => {
    const bytes = Buffer.concat([
      encodeFrame("e", Buffer.from("a\n")),
      encodeFrame("e", Buffer.from("b\n")),
      encodeAnswer('{"ok":1}', 1),
    ]);
    expect(decodeFrames(bytes)).toEqual({ stdout: '{"ok":1}', stderr: "a\nb\n", status: 1 });
    expect(encodeAnswer("", 0).toString("hex")).toBe("780400000000000000");
    // Cut short: no status, and a partial frame is not read.
    expect(decodeFrames(bytes.subarray(0, bytes.length - 2)).status).toBeUndefined();
  });

  it("reads an environ block as the C library does", () => {
    const block = encodeEnvBlock({ CNI_COMMAND: "ADD", EMPTY: "", A: "x=y", GONE: undefined });
    expect(block.toString()).toBe("CNI_COMMAND=ADD\0EMPTY=\0A=x=y\0");
    expect(decodeEnvBlock(Buffer.concat([block, Buffer.from("NOEQUALS\0")]))).toEqual({
      CNI_COMMAND: "ADD",
      EMPTY: "",
      A: "x=y",
    });
  });
});
