// struct nlmsghdr: u32 length, u16 type, u16 flags, u32 seq, u32 port id; payload padded to 4.
import { align4 } from "./attrs";

export const NLMSG_HDRLEN = 16;

export interface NlHeader {
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

export interface NlMessage extends NlHeader {
  /** The bytes after the header, up to the message's own length (no padding). */
  payload: Buffer;
}

export function encodeMessage(header: NlHeader, payload: Buffer): Buffer {
  const msg = Buffer.alloc(align4(NLMSG_HDRLEN + payload.length));
  msg.writeUInt32LE(NLMSG_HDRLEN + payload.length, 0);
  msg.writeUInt16LE(header.type, 4);
  msg.writeUInt16LE(header.flags, 6);
  msg.writeUInt32LE(header.seq >>> 0, 8);
  msg.writeUInt32LE(header.pid >>> 0, 12);
  payload.copy(msg, NLMSG_HDRLEN);
  return msg;
}

export function decodeHeader(buf: Buffer, offset = 0): NlHeader & { length: number } {
  return {
    length: buf.readUInt32LE(offset),
    type: buf.readUInt16LE(offset + 4),
    flags: buf.readUInt16LE(offset + 6),
    seq: buf.readUInt32LE(offset + 8),
    pid: buf.readUInt32LE(offset + 12),
  };
}

/** One datagram may carry several messages (a dump part, or a reply followed by its ACK). */
export function splitMessages(datagram: Buffer): NlMessage[] {
  const messages: NlMessage[] = [];
  let offset = 0;
  while (offset + NLMSG_HDRLEN <= datagram.length) {
    const header = decodeHeader(datagram, offset);
    if (header.length < NLMSG_HDRLEN || offset + header.length > datagram.length) {
      throw new Error(
        `malformed netlink message at offset ${offset}: length ${header.length}, ${datagram.length - offset} bytes left`,
      );
    }
    messages.push({
      type: header.type,
      flags: header.flags,
      seq: header.seq,
      pid: header.pid,
      payload: datagram.subarray(offset + NLMSG_HDRLEN, offset + header.length),
    });
    offset += align4(header.length);
  }
  return messages;
}
