// One rtnetlink socket inside one network namespace. The socket is created inside
// the namespace once (by the addon, which enters it only around socket()); every
// later request goes through it without switching anything.
import { type NetnsTarget, native } from "../../native";
import { checkNetnsPath } from "../netns/netns";
import { NETLINK_ROUTE, NlmF, NlmsgType } from "./codec/constants";
import { NetlinkError, netlinkError, parseDoneStatus, parseNlmsgerr } from "./codec/errors";
import { align4 } from "./codec/attrs";
import { NLMSG_HDRLEN, type NlMessage, decodeHeader, encodeMessage, splitMessages } from "./codec/header";

export interface RequestSpec {
  /** RTM_* message type. */
  type: number;
  /** Flags besides NLM_F_REQUEST and NLM_F_ACK, which every request carries. */
  flags?: number;
  /** The fixed struct followed by the attributes. */
  payload: Buffer;
  /** What this request does, for error messages: `add link "veth0"`. */
  op: string;
  /** A delete: EADDRNOTAVAIL then means "not there" too. */
  deleting?: boolean;
}

const DUMP_ATTEMPTS = 5;
const EINTR = 4;
const ETIMEDOUT = 110;
/** The kernel answers in microseconds, a 10,000-link dump in well under a second: past this it never will. */
export const REPLY_TIMEOUT_MS = 10_000;

/** One reply of a dump: its payload is datagram[start, end). */
export type MessageVisitor = (datagram: Buffer, start: number, end: number) => void;

function messageAt(datagram: Buffer, start: number, end: number): NlMessage {
  const { type, flags, seq, pid } = decodeHeader(datagram, start - NLMSG_HDRLEN);
  return { type, flags, seq, pid, payload: datagram.subarray(start, end) };
}

/** Sees every datagram sent and received (debugging, golden-data capture). */
export type DatagramTap = (direction: "send" | "recv", datagram: Buffer) => void;

export class Handle {
  /** The namespace as given to `at` (null: the caller's own). */
  readonly netns: NetnsTarget;
  tap: DatagramTap | undefined;
  private fd: number;
  private seq: number;
  /** Our port: the kernel's replies to our requests are addressed to it (nlmsg_pid). */
  private readonly portId: number;

  private constructor(netns: NetnsTarget, fd: number) {
    this.netns = netns;
    this.fd = fd;
    this.portId = native().netlinkPortId(fd);
    // Distinct start per handle so replies to a closed handle's fd number are never mistaken.
    this.seq = Math.floor(Math.random() * 0x7fffffff);
  }

  /** Opens a socket in the namespace at `netns` (path, open fd, or null for the current one). */
  static at(netns: NetnsTarget): Handle {
    if (typeof netns === "string") checkNetnsPath(netns);
    return new Handle(netns, native().netlinkOpen(netns, NETLINK_ROUTE));
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    native().close(fd);
  }

  /**
   * Sends one request on a thread of its own (native netlinkSendDetached) and gives that
   * thread this handle's socket: the handle is closed for us from here on. Returns the
   * socket on which the thread reports the ACK's errno (int32, 0: success). See detached.ts.
   */
  requestDetached(spec: RequestSpec): number {
    if (this.fd < 0) throw new Error(`${spec.op}: netlink handle is closed`);
    const request = this.encode(spec);
    this.tap?.("send", request);
    const report = native().netlinkSendDetached(this.fd, request);
    this.fd = -1;
    return report;
  }

  /** The next sequence number's message for `spec`, with NLM_F_REQUEST and NLM_F_ACK. */
  private encode(spec: RequestSpec): Buffer {
    this.seq = (this.seq + 1) >>> 0;
    const flags = NlmF.REQUEST | NlmF.ACK | (spec.flags ?? 0);
    return encodeMessage({ type: spec.type, flags, seq: this.seq, pid: 0 }, spec.payload);
  }

  /** Sends one request with NLM_F_ACK and returns the replies before its ACK; throws NetlinkError on a NACK. */
  request(spec: RequestSpec): NlMessage[] {
    const messages: NlMessage[] = [];
    this.exchange(spec, false, (datagram, start, end) => messages.push(messageAt(datagram, start, end)));
    return messages;
  }

  /** Sends a dump request and collects every part until NLMSG_DONE; retries a dump the kernel interrupted. */
  dump(spec: RequestSpec): NlMessage[] {
    let messages: NlMessage[] = [];
    this.dumpEach(
      spec,
      (datagram, start, end) => messages.push(messageAt(datagram, start, end)),
      () => {
        messages = [];
      },
    );
    return messages;
  }

  /**
   * dump() without a message object per entry: `visit` gets each reply's payload as a
   * range of the datagram it came in (valid during the call only). A dump the kernel
   * interrupted is asked again, after `restart` (forget what was visited). For dumps of
   * tens of thousands of entries: the objects and views cost about a microsecond each.
   */
  dumpEach(spec: RequestSpec, visit: MessageVisitor, restart: () => void): void {
    for (let attempt = 1; ; attempt++) {
      const result = this.exchange({ ...spec, flags: (spec.flags ?? 0) | NlmF.DUMP }, true, visit);
      if (!result.interrupted) return;
      if (attempt >= DUMP_ATTEMPTS) {
        throw new NetlinkError({
          errno: EINTR,
          op: spec.op,
          extack: `dump interrupted ${attempt} times by concurrent changes`,
        });
      }
      restart();
    }
  }

  /**
   * Sends many requests, `window` to a datagram (the kernel handles every message of a
   * datagram in turn and acks each), and waits for all their ACKs before the next
   * datagram. Returns per request its NetlinkError or undefined; never throws a NACK,
   * so the caller decides what EEXIST or ENOENT mean. 128 small requests keep their
   * ACKs far inside the socket's 1 MiB receive buffer.
   */
  requestMany(specs: readonly RequestSpec[], window = 128): Array<NetlinkError | undefined> {
    if (this.fd < 0) throw new Error(`${specs[0]?.op ?? "request"}: netlink handle is closed`);
    const results: Array<NetlinkError | undefined> = new Array(specs.length).fill(undefined);
    for (let start = 0; start < specs.length; start += window) {
      const pending = new Map<number, number>();
      const messages: Buffer[] = [];
      for (let index = start; index < Math.min(start + window, specs.length); index++) {
        const spec = specs[index] as RequestSpec;
        messages.push(this.encode(spec));
        pending.set(this.seq, index);
      }
      const datagram = Buffer.concat(messages);
      this.tap?.("send", datagram);
      native().netlinkSend(this.fd, datagram);
      this.collectAcks(pending, specs, results);
    }
    return results;
  }

  private collectAcks(
    pending: Map<number, number>,
    specs: readonly RequestSpec[],
    results: Array<NetlinkError | undefined>,
  ): void {
    while (pending.size > 0) {
      const datagram = native().netlinkRecv(this.fd);
      this.tap?.("recv", datagram);
      for (const msg of splitMessages(datagram)) {
        const index = pending.get(msg.seq);
        if (index === undefined) continue;
        if (msg.type === NlmsgType.OVERRUN)
          throw new NetlinkError({ errno: 105, op: specs[index]?.op ?? "", extack: "netlink receive buffer overrun" });
        if (msg.type !== NlmsgType.ERROR) continue;
        pending.delete(msg.seq);
        const spec = specs[index] as RequestSpec;
        const parsed = parseNlmsgerr(msg.payload, msg.flags);
        if (parsed.errno !== 0)
          results[index] = netlinkError({
            errno: parsed.errno,
            op: spec.op,
            extack: parsed.extack,
            deleting: spec.deleting === true,
          });
      }
    }
  }

  /** Sends `spec` and hands every reply to `visit` until its ACK (or, dumping, NLMSG_DONE). */
  private exchange(spec: RequestSpec, dumping: boolean, visit: MessageVisitor): { interrupted: boolean } {
    if (this.fd < 0) throw new Error(`${spec.op}: netlink handle is closed`);
    const request = this.encode(spec);
    const seq = this.seq;
    this.tap?.("send", request);
    native().netlinkSend(this.fd, request);
    let interrupted = false;
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    for (;;) {
      // The addon drops datagrams not sent by the kernel; the wait for each is bounded.
      const datagram = native().netlinkRecvTimeout(this.fd, Math.max(0, deadline - Date.now()));
      if (datagram === null)
        throw new NetlinkError({
          errno: ETIMEDOUT,
          op: spec.op,
          extack: `no reply from the kernel within ${REPLY_TIMEOUT_MS / 1000} s`,
        });
      this.tap?.("recv", datagram);
      // The headers are read in place (splitMessages' objects, 30,000 per VTEP dump, cost ms).
      for (let offset = 0; offset + NLMSG_HDRLEN <= datagram.length; ) {
        const length = datagram.readUInt32LE(offset);
        if (length < NLMSG_HDRLEN || offset + length > datagram.length)
          throw new Error(
            `malformed netlink message at offset ${offset}: length ${length}, ${datagram.length - offset} bytes left`,
          );
        const at = offset;
        offset += align4(length);
        // Anything else is a late reply to an earlier request (e.g. an ACK after a dump),
        // or a message the kernel did not address to our port.
        if (datagram.readUInt32LE(at + 8) !== seq || datagram.readUInt32LE(at + 12) !== this.portId) continue;
        const type = datagram.readUInt16LE(at + 4);
        const flags = datagram.readUInt16LE(at + 6);
        if ((flags & NlmF.DUMP_INTR) !== 0) interrupted = true;
        if (type === NlmsgType.ERROR) {
          const parsed = parseNlmsgerr(datagram.subarray(at + NLMSG_HDRLEN, at + length), flags);
          if (parsed.errno !== 0)
            throw netlinkError({
              errno: parsed.errno,
              op: spec.op,
              extack: parsed.extack,
              deleting: spec.deleting === true,
            });
          if (!dumping) return { interrupted };
          continue;
        }
        if (type === NlmsgType.DONE) {
          // A dump that failed part-way ends with DONE carrying a negative errno.
          const status = parseDoneStatus(datagram.subarray(at + NLMSG_HDRLEN, at + length), flags);
          if (status.errno > 0) throw netlinkError({ errno: status.errno, op: spec.op, extack: status.extack });
          return { interrupted };
        }
        if (type === NlmsgType.OVERRUN)
          throw new NetlinkError({ errno: 105, op: spec.op, extack: "netlink receive buffer overrun" });
        if (type === NlmsgType.NOOP) continue;
        visit(datagram, at + NLMSG_HDRLEN, at + length);
      }
    }
  }
}
