// The fixed headers that precede the attributes of each rtnetlink message kind.

/** struct ifinfomsg (16 bytes). */
export interface IfInfoMsg {
  family: number;
  /** ARPHRD_* device type. */
  type: number;
  index: number;
  /** IFF_* flags. */
  flags: number;
  /** Which IFF_* bits a SETLINK changes. */
  change: number;
}
export const IFINFOMSG_LEN = 16;

export function encodeIfInfo(msg: Partial<IfInfoMsg>): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(msg.family ?? 0, 0);
  b.writeUInt16LE(msg.type ?? 0, 2);
  b.writeInt32LE(msg.index ?? 0, 4);
  b.writeUInt32LE((msg.flags ?? 0) >>> 0, 8);
  b.writeUInt32LE((msg.change ?? 0) >>> 0, 12);
  return b;
}

export function decodeIfInfo(b: Buffer): IfInfoMsg {
  requireLength(b, IFINFOMSG_LEN, "ifinfomsg");
  return {
    family: b.readUInt8(0),
    type: b.readUInt16LE(2),
    index: b.readInt32LE(4),
    flags: b.readUInt32LE(8),
    change: b.readUInt32LE(12),
  };
}

/** struct ifaddrmsg (8 bytes). */
export interface IfAddrMsg {
  family: number;
  prefixLen: number;
  /** IFA_F_* flags that fit in 8 bits; the full set travels in IFA_FLAGS. */
  flags: number;
  scope: number;
  index: number;
}
export const IFADDRMSG_LEN = 8;

export function encodeIfAddr(msg: Partial<IfAddrMsg>): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b.writeUInt8(msg.family ?? 0, 0);
  b.writeUInt8(msg.prefixLen ?? 0, 1);
  b.writeUInt8((msg.flags ?? 0) & 0xff, 2);
  b.writeUInt8(msg.scope ?? 0, 3);
  b.writeUInt32LE(msg.index ?? 0, 4);
  return b;
}

export function decodeIfAddr(b: Buffer): IfAddrMsg {
  requireLength(b, IFADDRMSG_LEN, "ifaddrmsg");
  return {
    family: b.readUInt8(0),
    prefixLen: b.readUInt8(1),
    flags: b.readUInt8(2),
    scope: b.readUInt8(3),
    index: b.readUInt32LE(4),
  };
}

/** struct rtmsg (12 bytes). */
export interface RtMsg {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}
export const RTMSG_LEN = 12;

export function encodeRt(msg: Partial<RtMsg>): Buffer {
  const b = Buffer.alloc(RTMSG_LEN);
  b.writeUInt8(msg.family ?? 0, 0);
  b.writeUInt8(msg.dstLen ?? 0, 1);
  b.writeUInt8(msg.srcLen ?? 0, 2);
  b.writeUInt8(msg.tos ?? 0, 3);
  b.writeUInt8(msg.table ?? 0, 4);
  b.writeUInt8(msg.protocol ?? 0, 5);
  b.writeUInt8(msg.scope ?? 0, 6);
  b.writeUInt8(msg.type ?? 0, 7);
  b.writeUInt32LE((msg.flags ?? 0) >>> 0, 8);
  return b;
}

export function decodeRt(b: Buffer): RtMsg {
  requireLength(b, RTMSG_LEN, "rtmsg");
  return {
    family: b.readUInt8(0),
    dstLen: b.readUInt8(1),
    srcLen: b.readUInt8(2),
    tos: b.readUInt8(3),
    table: b.readUInt8(4),
    protocol: b.readUInt8(5),
    scope: b.readUInt8(6),
    type: b.readUInt8(7),
    flags: b.readUInt32LE(8),
  };
}

/** struct ndmsg (12 bytes). */
export interface NdMsg {
  family: number;
  index: number;
  /** NUD_* state. */
  state: number;
  /** NTF_* flags. */
  flags: number;
  type: number;
}
export const NDMSG_LEN = 12;

export function encodeNd(msg: Partial<NdMsg>): Buffer {
  const b = Buffer.alloc(NDMSG_LEN);
  b.writeUInt8(msg.family ?? 0, 0);
  b.writeInt32LE(msg.index ?? 0, 4);
  b.writeUInt16LE(msg.state ?? 0, 8);
  b.writeUInt8(msg.flags ?? 0, 10);
  b.writeUInt8(msg.type ?? 0, 11);
  return b;
}

export function decodeNd(b: Buffer): NdMsg {
  requireLength(b, NDMSG_LEN, "ndmsg");
  return {
    family: b.readUInt8(0),
    index: b.readInt32LE(4),
    state: b.readUInt16LE(8),
    flags: b.readUInt8(10),
    type: b.readUInt8(11),
  };
}

function requireLength(b: Buffer, want: number, what: string): void {
  if (b.length < want) throw new Error(`${what} too short: ${b.length} bytes, want ${want}`);
}
