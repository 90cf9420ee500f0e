// nfnetlink_queue (linux/netfilter/nfnetlink_queue.h): bind a queue number, receive the
// packets netfilter hands it (NFQNL_MSG_PACKET), answer each with a verdict, optionally
// with a rewritten packet. Queue numbers are per network namespace.
import { AttrReader, AttrWriter } from "./codec/attrs";
import { AF_UNSPEC } from "./codec/constants";
import type { NlMessage } from "./codec/header";
import { NFGENMSG_LEN, NfnlSubsys, type NfnlSocket, encodeNfgen, nfnlType } from "./nfnetlink";

export const NfqnlMsg = { PACKET: 0, VERDICT: 1, CONFIG: 2 } as const;
const NfqaCfg = { CMD: 1, PARAMS: 2, QUEUE_MAXLEN: 3 } as const;
// Only BIND: closing the socket unbinds (the kernel drops a queue with its listener).
const NfqnlCfgCmd = { BIND: 1 } as const;
const NFQNL_COPY_PACKET = 2;
const Nfqa = { PACKET_HDR: 1, VERDICT_HDR: 2, IFINDEX_OUTDEV: 6, PAYLOAD: 10 } as const;

/** Netfilter verdicts (linux/netfilter.h). */
export const Verdict = { DROP: 0, ACCEPT: 1 } as const;

export interface QueueBinding {
  queue: number;
  /** Bytes of each packet copied to us (the rest is kept by the kernel and sent as is). */
  copyRange: number;
  /** Packets the kernel holds for us at most; beyond that it drops, as netem's limit does. */
  maxLength: number;
}

function config(queue: number, build: (attrs: AttrWriter) => void): { type: number; payload: Buffer } {
  const attrs = new AttrWriter();
  build(attrs);
  return {
    type: nfnlType(NfnlSubsys.QUEUE, NfqnlMsg.CONFIG),
    payload: Buffer.concat([encodeNfgen(AF_UNSPEC, queue), attrs.toBuffer()]),
  };
}

function command(cmd: number): Buffer {
  // struct nfqnl_msg_config_cmd {u8 command; u8 pad; be16 pf}: pf is unused by BIND/UNBIND.
  return Buffer.from([cmd, 0, 0, 0]);
}

function be32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

/** Makes `socket` the listener of `queue` in its namespace and asks for whole packets. EBUSY if another socket has it. */
export function bindQueue(socket: NfnlSocket, binding: QueueBinding): void {
  socket.request(
    config(binding.queue, (attrs) => attrs.bytes(NfqaCfg.CMD, command(NfqnlCfgCmd.BIND))),
    `bind nfqueue ${binding.queue}`,
  );
  const params = Buffer.alloc(5);
  params.writeUInt32BE(binding.copyRange, 0);
  params.writeUInt8(NFQNL_COPY_PACKET, 4);
  socket.request(
    config(binding.queue, (attrs) =>
      attrs.bytes(NfqaCfg.PARAMS, params).bytes(NfqaCfg.QUEUE_MAXLEN, be32(binding.maxLength)),
    ),
    `configure nfqueue ${binding.queue}`,
  );
}

export interface QueuedPacket {
  queue: number;
  id: number;
  /** Ethertype in host order (0x0800 IPv4). */
  hwProtocol: number;
  hook: number;
  outIndex?: number;
  /** The packet from its network header on. */
  payload: Buffer;
}

/** A NFQNL_MSG_PACKET message, or undefined for any other message. */
export function decodeQueuedPacket(msg: NlMessage): QueuedPacket | undefined {
  if (msg.type !== nfnlType(NfnlSubsys.QUEUE, NfqnlMsg.PACKET) || msg.payload.length < NFGENMSG_LEN) return undefined;
  const queue = msg.payload.readUInt16BE(2);
  const attrs = new AttrReader(msg.payload.subarray(NFGENMSG_LEN));
  const header = attrs.get(Nfqa.PACKET_HDR);
  const payload = attrs.get(Nfqa.PAYLOAD);
  if (!header || header.length < 7 || !payload) return undefined;
  const outdev = attrs.get(Nfqa.IFINDEX_OUTDEV);
  return {
    queue,
    id: header.readUInt32BE(0),
    hwProtocol: header.readUInt16BE(4),
    hook: header.readUInt8(6),
    ...(outdev && outdev.length >= 4 && { outIndex: outdev.readUInt32BE(0) }),
    payload,
  };
}

/** The payload of a verdict message; with `replacement`, the kernel sends those bytes instead. */
export function verdictMessage(
  queue: number,
  id: number,
  verdict: number,
  replacement?: Buffer,
): { type: number; payload: Buffer } {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(verdict, 0);
  header.writeUInt32BE(id >>> 0, 4);
  const attrs = new AttrWriter().bytes(Nfqa.VERDICT_HDR, header);
  if (replacement) attrs.bytes(Nfqa.PAYLOAD, replacement);
  return {
    type: nfnlType(NfnlSubsys.QUEUE, NfqnlMsg.VERDICT),
    payload: Buffer.concat([encodeNfgen(AF_UNSPEC, queue), attrs.toBuffer()]),
  };
}
