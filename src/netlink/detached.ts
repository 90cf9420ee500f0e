// A netlink request on a thread of its own (native netlinkSendDetached): the caller goes
// on while the kernel works, and collects the ACK later (link-delete.ts). Tried and not
// kept: a bridge ADD asking for its veth pair this way while host-local allocates saved
// 0.06-0.19 ms of a 5.6 ms ADD (100 rounds, two daemons side by side), less than the
// thread, the second socket and the extra request to join the bridge cost back, and it
// left the container end's operstate DOWN for a moment after ADD.
import { native } from "../../native";
import { netlinkError } from "./codec/errors";
import { type Handle, REPLY_TIMEOUT_MS, type RequestSpec } from "./handle";

const ETIMEDOUT = 110;

export interface Detached {
  /** The thread's socket that gets the ACK's errno; closed once read. */
  report: number;
  spec: RequestSpec;
  settled: boolean;
}

/** Sends `spec` through `handle` on a thread of its own; the handle is closed for us from here on (its socket went along). */
export function sendDetached(handle: Handle, spec: RequestSpec): Detached {
  return { report: handle.requestDetached(spec), spec, settled: false };
}

/**
 * The ACK's errno (0: success), waiting up to timeoutMs; undefined when none came in
 * time. Either way the request is settled: its report socket is closed.
 */
export function settleDetached(request: Detached, timeoutMs: number): number | undefined {
  if (request.settled) throw new Error(`${request.spec.op}: settled twice`);
  request.settled = true;
  try {
    const bytes = native().readTimeout(request.report, 4, timeoutMs);
    if (bytes === null) return undefined;
    return bytes.length === 4 ? bytes.readInt32LE(0) : ETIMEDOUT;
  } finally {
    native().close(request.report);
  }
}

/** Waits for the ACK (at most REPLY_TIMEOUT_MS) and throws the NetlinkError a NACK means, as Handle.request does. */
export function awaitDetached(request: Detached, timeoutMs = REPLY_TIMEOUT_MS): void {
  throwUnlessAcked(settleDetached(request, timeoutMs), request.spec);
}

export function throwUnlessAcked(errno: number | undefined, spec: RequestSpec): void {
  if (errno === 0) return;
  throw netlinkError({
    errno: errno ?? ETIMEDOUT,
    op: spec.op,
    extack: errno === undefined ? `no reply from the kernel within ${REPLY_TIMEOUT_MS / 1000} s` : undefined,
    deleting: spec.deleting === true,
  });
}
