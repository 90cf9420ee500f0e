// NLMSG_ERROR parsing: captured NACKs (with and without extack) and synthetic ones
// (capped and uncapped echo of the request).
import { describe, expect, it } from "vitest";
import { AttrWriter } from "../../../src/netlink/codec/attrs";
import { NlmF, NlmsgType, NlmsgerrAttr } from "../../../src/netlink/codec/constants";
import {
  COMMON_ERRNOS,
  NetlinkError,
  NotFoundError,
  isExists,
  isNotFound,
  netlinkError,
  parseDoneStatus,
  parseNlmsgerr,
} from "../../../src/netlink/codec/errors";
import { encodeMessage, splitMessages } from "../../../src/netlink/codec/header";
import { datagrams } from "./fixtures";

function capturedNack(name: string): { errno: number; extack?: string } {
  const msg = splitMessages(datagrams(`error-${name}`)[0] ?? Buffer.alloc(0))[0];
  expect(msg?.type).toBe(NlmsgType.ERROR);
  return parseNlmsgerr(msg?.payload ?? Buffer.alloc(0), msg?.flags ?? 0);
}

describe("captured kernel NACKs", () => {
  it("EEXIST without extack", () => {
    expect(capturedNack("eexist")).toEqual({ errno: 17 });
  });

  it("ERANGE with the kernel's text", () => {
    expect(capturedNack("erange-extack")).toMatchObject({ errno: 34, extack: "VXLAN ID must be lower than 16777216" });
  });

  it("EADDRNOTAVAIL on delete carries extack and is a not-found", () => {
    const parsed = capturedNack("eaddrnotavail-extack");
    expect(parsed).toMatchObject({ errno: 99, extack: "ipv4: Address not found" });
    const err = netlinkError({ ...parsed, op: "delete address", deleting: true });
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toMatch(/^delete address: .*: ipv4: Address not found \(EADDRNOTAVAIL\)$/);
  });

  it("ENODEV for a missing link", () => {
    expect(capturedNack("enodev")).toEqual({ errno: 19 });
  });
});

function nack(errno: number, capped: boolean, extack?: string): { payload: Buffer; flags: number } {
  const request = encodeMessage({ type: 16, flags: 5, seq: 7, pid: 0 }, Buffer.alloc(24, 0xee));
  const tlvs =
    extack === undefined
      ? Buffer.alloc(0)
      : new AttrWriter().string(NlmsgerrAttr.MSG, extack).u32(NlmsgerrAttr.OFFS, 20).toBuffer();
  const status = Buffer.alloc(4);
  status.writeInt32LE(-errno);
  const payload = Buffer.concat([status, capped ? request.subarray(0, 16) : request, tlvs]);
  const flags = (capped ? NlmF.CAPPED : 0) | (extack === undefined ? 0 : NlmF.ACK_TLVS);
  return { payload, flags };
}

describe("synthetic NLMSG_ERROR", () => {
  it("an ACK is errno 0", () => {
    const { payload, flags } = nack(0, true);
    expect(parseNlmsgerr(payload, flags)).toEqual({ errno: 0 });
  });

  it("extack after a capped echo and after a full echo", () => {
    for (const capped of [true, false]) {
      const { payload, flags } = nack(22, capped, "bad attribute");
      expect(parseNlmsgerr(payload, flags)).toEqual({ errno: 22, extack: "bad attribute", extackOffset: 20 });
    }
  });

  it("without ACK_TLVS trailing bytes are not read as extack", () => {
    const { payload } = nack(22, false, "ignored");
    expect(parseNlmsgerr(payload, 0)).toEqual({ errno: 22 });
  });

  it("NLMSG_DONE with a negative status and extack", () => {
    const status = Buffer.alloc(4);
    status.writeInt32LE(-95);
    const payload = Buffer.concat([status, new AttrWriter().string(NlmsgerrAttr.MSG, "no dump here").toBuffer()]);
    expect(parseDoneStatus(payload, NlmF.ACK_TLVS)).toEqual({ errno: 95, extack: "no dump here" });
  });
});

describe("error classes", () => {
  it("keeps errno, code, op and extack", () => {
    const err = netlinkError({ errno: 17, op: 'add bridge "br0"', extack: "exists" });
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).not.toBeInstanceOf(NotFoundError);
    expect({ errno: err.errno, code: err.code, op: err.op, extack: err.extack }).toEqual({
      errno: 17,
      code: "EEXIST",
      op: 'add bridge "br0"',
      extack: "exists",
    });
    expect(err.message).toContain('add bridge "br0"');
    expect(err.message).toContain("(EEXIST)");
    expect(isExists(err)).toBe(true);
  });

  it("not-found: ENODEV, ENOENT, ESRCH always; EADDRNOTAVAIL only when deleting", () => {
    for (const errno of [19, 2, 3]) expect(isNotFound(netlinkError({ errno, op: "x" }))).toBe(true);
    expect(isNotFound(netlinkError({ errno: 99, op: "add" }))).toBe(false);
    expect(isNotFound(netlinkError({ errno: 99, op: "del", deleting: true }))).toBe(true);
    expect(netlinkError({ errno: 95, op: "x" }).code).toBe("EOPNOTSUPP");
  });
});

describe("not-found errnos", () => {
  it("are the numbers this system's headers give", async () => {
    const { errno } = (await import("node:os")).constants;
    for (const name of ["ENOENT", "ESRCH", "ENODEV"] as const) {
      expect(netlinkError({ errno: errno[name], op: "get link" })).toBeInstanceOf(NotFoundError);
    }
    expect(netlinkError({ errno: errno.EADDRNOTAVAIL, op: "delete address", deleting: true })).toBeInstanceOf(
      NotFoundError,
    );
    expect(netlinkError({ errno: errno.EADDRNOTAVAIL, op: "add address" })).not.toBeInstanceOf(NotFoundError);
    expect(netlinkError({ errno: errno.EEXIST, op: "add link" }).code).toBe("EEXIST");
  });

  it("the common ones need no table, and say what the tables say", async () => {
    const { errno } = (await import("node:os")).constants;
    const systemErrors = (await import("node:util")).getSystemErrorMap();
    for (const [number, [code, text]] of COMMON_ERRNOS) {
      expect(errno[code as keyof typeof errno]).toBe(number);
      expect(systemErrors.get(-number)).toEqual([code, text]);
      expect(netlinkError({ errno: number, op: "op" }).message).toBe(`op: ${text} (${code})`);
    }
  });
});
