// A reader for the classic pcap format (what `tcpdump -w` writes), fed in chunks as
// they come out of a pipe: a record is returned once all of its bytes are there.
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;

const GLOBAL_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;
/** tcpdump's largest snapshot length; a bigger record length means we lost our place. */
const MAX_RECORD_LEN = 262_144;

const MAGIC_MICROS = 0xa1b2c3d4;
const MAGIC_NANOS = 0xa1b23c4d;

export interface PcapHeader {
  littleEndian: boolean;
  /** Fraction of a second in records: microseconds (classic) or nanoseconds. */
  resolution: "us" | "ns";
  snapLength: number;
  linkType: number;
}

export interface PcapRecord {
  /** Seconds since the epoch, with the record's fraction. */
  timestamp: number;
  /** The bytes captured (at most the snapshot length). */
  data: Buffer;
  /** The packet's length on the wire. */
  originalLength: number;
}

function readHeader(bytes: Buffer): PcapHeader {
  const magicLittle = bytes.readUInt32LE(0);
  const magicBig = bytes.readUInt32BE(0);
  const known = [MAGIC_MICROS, MAGIC_NANOS];
  const littleEndian = known.includes(magicLittle);
  if (!littleEndian && !known.includes(magicBig))
    throw new Error(`not a pcap stream (magic 0x${magicBig.toString(16).padStart(8, "0")})`);
  const magic = littleEndian ? magicLittle : magicBig;
  const u32 = (offset: number): number => (littleEndian ? bytes.readUInt32LE(offset) : bytes.readUInt32BE(offset));
  return {
    littleEndian,
    resolution: magic === MAGIC_NANOS ? "ns" : "us",
    snapLength: u32(16),
    linkType: u32(20) & 0xffff,
  };
}

export class PcapStreamReader {
  header: PcapHeader | undefined;
  private pending: Buffer = Buffer.alloc(0);

  /** Takes the next chunk of the stream; returns every record it completes. */
  push(chunk: Buffer): PcapRecord[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    if (!this.header) {
      if (this.pending.length < GLOBAL_HEADER_LEN) return [];
      this.header = readHeader(this.pending);
      this.pending = this.pending.subarray(GLOBAL_HEADER_LEN);
    }
    const records: PcapRecord[] = [];
    for (;;) {
      const record = this.nextRecord(this.header);
      if (!record) break;
      records.push(record);
    }
    return records;
  }

  /** Bytes received that do not yet make a whole record (non-zero at the end: a cut stream). */
  get leftover(): number {
    return this.pending.length;
  }

  private nextRecord(header: PcapHeader): PcapRecord | undefined {
    if (this.pending.length < RECORD_HEADER_LEN) return undefined;
    const bytes = this.pending;
    const u32 = (offset: number): number =>
      header.littleEndian ? bytes.readUInt32LE(offset) : bytes.readUInt32BE(offset);
    const capturedLength = u32(8);
    if (capturedLength > Math.max(MAX_RECORD_LEN, header.snapLength))
      throw new Error(`pcap record of ${capturedLength} bytes: the stream is corrupt`);
    if (bytes.length < RECORD_HEADER_LEN + capturedLength) return undefined;
    const fraction = u32(4) / (header.resolution === "ns" ? 1e9 : 1e6);
    // Copied out: the pending buffer is reused and sliced again by later pushes.
    const data = Buffer.from(bytes.subarray(RECORD_HEADER_LEN, RECORD_HEADER_LEN + capturedLength));
    this.pending = bytes.subarray(RECORD_HEADER_LEN + capturedLength);
    return { timestamp: u32(0) + fraction, data, originalLength: u32(12) };
  }
}
