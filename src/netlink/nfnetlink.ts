// A NETLINK_NETFILTER socket inside one namespace (nfnetlink: nf_tables, nfnetlink_queue).
// Messages start with struct nfgenmsg (family, version, res_id in network order); the
// type is subsystem << 8 | message. nf_tables changes travel in batches.
import { native } from "../../native";
import { checkNetnsPath } from "../netns/netns";
import { NlmF, NlmsgType } from "./codec/constants";
import { netlinkError, parseNlmsgerr } from "./codec/errors";
import { type NlMessage, encodeMessage, splitMessages } from "./codec/header";
import { REPLY_TIMEOUT_MS } from "./handle";

export const NETLINK_NETFILTER = 12;
export const NfnlSubsys = { QUEUE: 3, NFTABLES: 10 } as const;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
export const NFGENMSG_LEN = 4;

/** struct nfgenmsg: family, version (NFNETLINK_V0), res_id (big-endian: queue number, subsystem...). */
export function encodeNfgen(family: number, resId: number): Buffer {
  const b = Buffer.alloc(NFGENMSG_LEN);
  b.writeUInt8(family, 0);
  b.writeUInt16BE(resId, 2);
  return b;
}

export function nfnlType(subsystem: number, message: number): number {
  return (subsystem << 8) | message;
}

export interface NfnlMessageSpec {
  type: number;
  /** Besides NLM_F_REQUEST, which every message carries. */
  flags?: number;
  payload: Buffer;
}

export class NfnlSocket {
  readonly fd: number;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private closedFd = false;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** A socket in the namespace at `netns` (path), or in ours (null). */
  static at(netns: string | null): NfnlSocket {
    if (netns !== null) checkNetnsPath(netns);
    return new NfnlSocket(native().netlinkOpen(netns, NETLINK_NETFILTER));
  }

  close(): void {
    if (this.closedFd) return;
    this.closedFd = true;
    native().close(this.fd);
  }

  /** The message as bytes with the next sequence number (for a raw, unacknowledged send). */
  encode(spec: NfnlMessageSpec): Buffer {
    this.seq = (this.seq + 1) >>> 0;
    return encodeMessage(
      { type: spec.type, flags: NlmF.REQUEST | (spec.flags ?? 0), seq: this.seq, pid: 0 },
      spec.payload,
    );
  }

  /** Sends without waiting (verdicts: the kernel only answers if something is wrong). */
  sendRaw(datagram: Buffer): void {
    native().netlinkSend(this.fd, datagram);
  }

  /** One request with NLM_F_ACK; returns the replies before the ACK, throws NetlinkError on a NACK. */
  request(spec: NfnlMessageSpec, op: string): NlMessage[] {
    const datagram = this.encode({ ...spec, flags: (spec.flags ?? 0) | NlmF.ACK });
    const seq = this.seq;
    this.sendRaw(datagram);
    return this.awaitAck(seq, op);
  }

  /**
   * An nf_tables transaction: the messages between BATCH_BEGIN and BATCH_END, applied all
   * or nothing. Each carries NLM_F_ACK; the first error aborts the batch and is thrown.
   */
  batch(messages: NfnlMessageSpec[], op: string): void {
    const subsystem = encodeNfgen(0, NfnlSubsys.NFTABLES);
    const parts = [this.encode({ type: NFNL_MSG_BATCH_BEGIN, payload: subsystem })];
    for (const message of messages) parts.push(this.encode({ ...message, flags: (message.flags ?? 0) | NlmF.ACK }));
    const lastSeq = this.seq;
    parts.push(this.encode({ type: NFNL_MSG_BATCH_END, payload: subsystem }));
    this.sendRaw(Buffer.concat(parts));
    // Messages are acknowledged in order, so the last one's ACK means every one succeeded.
    this.awaitAck(lastSeq, op, lastSeq - messages.length + 1);
  }

  private awaitAck(seq: number, op: string, firstSeq = seq): NlMessage[] {
    const replies: NlMessage[] = [];
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    for (;;) {
      const datagram = native().netlinkRecvTimeout(this.fd, Math.max(0, deadline - Date.now()));
      if (datagram === null)
        throw netlinkError({ errno: 110, op, extack: `no reply from the kernel within ${REPLY_TIMEOUT_MS / 1000} s` });
      for (const msg of splitMessages(datagram)) {
        if (msg.seq < firstSeq || msg.seq > seq) continue;
        if (msg.type !== NlmsgType.ERROR) {
          replies.push(msg);
          continue;
        }
        const parsed = parseNlmsgerr(msg.payload, msg.flags);
        if (parsed.errno !== 0) throw netlinkError({ errno: parsed.errno, op, extack: parsed.extack });
        if (msg.seq === seq) return replies;
      }
    }
  }
}
