// Netlink attributes (struct nlattr): u16 length, u16 type, payload, padded to 4 bytes.
import { NLA_F_NESTED, NLA_TYPE_MASK } from "./constants";

export const NLA_HDRLEN = 4;

export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Builds a list of attributes; nested lists are built by a callback on a child writer. */
export class AttrWriter {
  private readonly parts: Buffer[] = [];

  bytes(type: number, payload: Buffer): this {
    const attr = Buffer.alloc(align4(NLA_HDRLEN + payload.length));
    attr.writeUInt16LE(NLA_HDRLEN + payload.length, 0);
    attr.writeUInt16LE(type, 2);
    payload.copy(attr, NLA_HDRLEN);
    this.parts.push(attr);
    return this;
  }

  flag(type: number): this {
    return this.bytes(type, Buffer.alloc(0));
  }

  u8(type: number, value: number): this {
    return this.bytes(type, Buffer.from([value & 0xff]));
  }

  u16(type: number, value: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(value);
    return this.bytes(type, b);
  }

  /** A 16-bit value in network byte order (ports). */
  be16(type: number, value: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(value);
    return this.bytes(type, b);
  }

  u32(type: number, value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value >>> 0);
    return this.bytes(type, b);
  }

  s32(type: number, value: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(value);
    return this.bytes(type, b);
  }

  /** A NUL-terminated string, as the kernel's NLA_STRING/NLA_NUL_STRING policies accept. */
  string(type: number, value: string): this {
    return this.bytes(type, Buffer.from(`${value}\0`, "utf8"));
  }

  /**
   * A nested attribute list. `markNested` sets NLA_F_NESTED, which strict policies
   * (IFLA_PROTINFO, IFLA_AF_SPEC children) want and lenient ones ignore.
   */
  nest(type: number, build: (child: AttrWriter) => void, markNested = true): this {
    const child = new AttrWriter();
    build(child);
    return this.bytes(markNested ? type | NLA_F_NESTED : type, child.toBuffer());
  }

  get length(): number {
    return this.parts.reduce((sum, part) => sum + part.length, 0);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export interface RawAttr {
  type: number;
  nested: boolean;
  payload: Buffer;
}

/** Splits a buffer into attributes; a truncated trailing attribute is an error, not silently dropped. */
export function splitAttrs(buf: Buffer): RawAttr[] {
  const attrs: RawAttr[] = [];
  let offset = 0;
  while (offset + NLA_HDRLEN <= buf.length) {
    const len = buf.readUInt16LE(offset);
    const rawType = buf.readUInt16LE(offset + 2);
    if (len < NLA_HDRLEN || offset + len > buf.length) {
      throw new Error(
        `malformed netlink attribute at offset ${offset}: length ${len}, ${buf.length - offset} bytes left`,
      );
    }
    attrs.push({
      type: rawType & NLA_TYPE_MASK,
      nested: (rawType & NLA_F_NESTED) !== 0,
      payload: buf.subarray(offset + NLA_HDRLEN, offset + len),
    });
    offset += align4(len);
  }
  return attrs;
}

/**
 * The payload of the last attribute of `type` in buf, found by walking the headers only:
 * for one value out of a long list (a bridge's IFLA_INFO_DATA holds about 45), where an
 * AttrReader would cut out and index every one.
 */
export function findAttr(buf: Buffer, type: number): Buffer | undefined {
  let found: Buffer | undefined;
  for (let offset = 0; offset + NLA_HDRLEN <= buf.length; ) {
    const len = buf.readUInt16LE(offset);
    if (len < NLA_HDRLEN || offset + len > buf.length)
      throw new Error(
        `malformed netlink attribute at offset ${offset}: length ${len}, ${buf.length - offset} bytes left`,
      );
    if ((buf.readUInt16LE(offset + 2) & NLA_TYPE_MASK) === type)
      found = buf.subarray(offset + NLA_HDRLEN, offset + len);
    offset += align4(len);
  }
  return found;
}

/** Typed access to one attribute list; for a repeated type the last one wins, `all` gives every one. */
export class AttrReader {
  readonly list: RawAttr[];
  private readonly byType = new Map<number, Buffer>();

  constructor(buf: Buffer) {
    this.list = splitAttrs(buf);
    for (const attr of this.list) this.byType.set(attr.type, attr.payload);
  }

  has(type: number): boolean {
    return this.byType.has(type);
  }

  get(type: number): Buffer | undefined {
    return this.byType.get(type);
  }

  all(type: number): Buffer[] {
    return this.list.filter((attr) => attr.type === type).map((attr) => attr.payload);
  }

  u8(type: number): number | undefined {
    const b = this.get(type);
    return b && b.length >= 1 ? b.readUInt8(0) : undefined;
  }

  u16(type: number): number | undefined {
    const b = this.get(type);
    return b && b.length >= 2 ? b.readUInt16LE(0) : undefined;
  }

  be16(type: number): number | undefined {
    const b = this.get(type);
    return b && b.length >= 2 ? b.readUInt16BE(0) : undefined;
  }

  u32(type: number): number | undefined {
    const b = this.get(type);
    return b && b.length >= 4 ? b.readUInt32LE(0) : undefined;
  }

  s32(type: number): number | undefined {
    const b = this.get(type);
    return b && b.length >= 4 ? b.readInt32LE(0) : undefined;
  }

  /** A string attribute without its NUL terminator. */
  str(type: number): string | undefined {
    const b = this.get(type);
    if (!b) return undefined;
    const end = b.indexOf(0);
    return b.toString("utf8", 0, end < 0 ? b.length : end);
  }

  nested(type: number): AttrReader | undefined {
    const b = this.get(type);
    return b ? new AttrReader(b) : undefined;
  }
}
