// Kernel errors keep their errno: callers test `code === "EEXIST"` or `isNotFound(err)`,
// never the message text. The kernel's extended-ack text (why it refused) is kept too.
import type * as util from "node:util";
import { COMMON_ERRNOS, errnoCode } from "../../../native/errno";
import { AttrReader, align4 } from "./attrs";
import { NlmF, NlmsgerrAttr } from "./constants";
import { NLMSG_HDRLEN, decodeHeader } from "./header";

export { COMMON_ERRNOS, errnoCode };

// Texts built on the first uncommon error only (node:util's table, about 1 ms).
let systemErrors: Map<number, [string, string]> | undefined;

function errnoText(errno: number): string {
  const common = COMMON_ERRNOS.get(errno);
  if (common) return common[1];
  systemErrors ??= (require("node:util") as typeof util).getSystemErrorMap();
  return systemErrors.get(-errno)?.[1] ?? `errno ${errno}`;
}

export interface NetlinkErrorInit {
  /** Positive errno. */
  errno: number;
  /** What we asked for, e.g. `add link "veth0"`. */
  op: string;
  extack?: string | undefined;
}

export class NetlinkError extends Error {
  /** The CNI code a kernel refusal answers when nothing above wrapped it (src/cni/errors.ts toCniError). */
  readonly cniCode = 102;
  readonly errno: number;
  readonly code: string;
  readonly op: string;
  readonly extack: string | undefined;

  constructor(init: NetlinkErrorInit, options?: { cause?: unknown }) {
    const code = errnoCode(init.errno);
    const reason = init.extack ? `${errnoText(init.errno)}: ${init.extack}` : errnoText(init.errno);
    super(`${init.op}: ${reason} (${code})`, options);
    this.name = "NetlinkError";
    this.errno = init.errno;
    this.code = code;
    this.op = init.op;
    this.extack = init.extack;
  }
}

/** The object (link, address, route, neighbour) is not there. DEL paths treat this as success. */
export class NotFoundError extends NetlinkError {
  constructor(init: NetlinkErrorInit, options?: { cause?: unknown }) {
    super(init, options);
    this.name = "NotFoundError";
  }
}

// Linux's numbers (asm-generic, as on x86-64 and arm64), so the common path needs no table.
const ENOENT = 2;
const ESRCH = 3;
const ENODEV = 19;
const EADDRNOTAVAIL = 99;

/** Builds the right class for an errno; `deleting` makes EADDRNOTAVAIL (address absent) a not-found. */
export function netlinkError(init: NetlinkErrorInit & { deleting?: boolean }): NetlinkError {
  const missing =
    init.errno === ENOENT ||
    init.errno === ESRCH ||
    init.errno === ENODEV ||
    (init.deleting === true && init.errno === EADDRNOTAVAIL);
  return missing ? new NotFoundError(init) : new NetlinkError(init);
}

export function isNotFound(err: unknown): err is NotFoundError {
  return err instanceof NotFoundError;
}

export function isExists(err: unknown): err is NetlinkError {
  return err instanceof NetlinkError && err.code === "EEXIST";
}

export interface ParsedNlmsgerr {
  /** Positive errno; 0 for an ACK. */
  errno: number;
  extack?: string;
  /** Byte offset in our request of the attribute the kernel blamed. */
  extackOffset?: number;
}

/** Parses the payload of an NLMSG_ERROR message (struct nlmsgerr, then extack TLVs). */
export function parseNlmsgerr(payload: Buffer, flags: number): ParsedNlmsgerr {
  if (payload.length < 4) throw new Error(`NLMSG_ERROR too short: ${payload.length} bytes`);
  const errno = 0 - payload.readInt32LE(0);
  const result: ParsedNlmsgerr = { errno };
  if ((flags & NlmF.ACK_TLVS) === 0 || payload.length < 4 + NLMSG_HDRLEN) return result;
  // The echoed request is either only its header (capped) or the whole message.
  const echoed = (flags & NlmF.CAPPED) !== 0 ? NLMSG_HDRLEN : align4(decodeHeader(payload, 4).length);
  const tlvStart = 4 + echoed;
  if (tlvStart >= payload.length) return result;
  const tlvs = new AttrReader(payload.subarray(tlvStart));
  const text = tlvs.str(NlmsgerrAttr.MSG);
  if (text) result.extack = text;
  const offset = tlvs.u32(NlmsgerrAttr.OFFS);
  if (offset !== undefined) result.extackOffset = offset;
  return result;
}

/** The payload of NLMSG_DONE: a status (negative errno when a dump failed), then extack TLVs. */
export function parseDoneStatus(payload: Buffer, flags: number): ParsedNlmsgerr {
  const errno = payload.length >= 4 ? 0 - payload.readInt32LE(0) : 0;
  const result: ParsedNlmsgerr = { errno };
  if ((flags & NlmF.ACK_TLVS) !== 0 && payload.length > 4) {
    const text = new AttrReader(payload.subarray(4)).str(NlmsgerrAttr.MSG);
    if (text) result.extack = text;
  }
  return result;
}
