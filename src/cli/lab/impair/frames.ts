// How a queue reader hands netlink datagrams to the queue process over a pipe: each one
// prefixed by its length (u32, little-endian), so datagram boundaries survive the stream.

export function encodeFrame(datagram: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32LE(datagram.length);
  return Buffer.concat([header, datagram]);
}

/** Collects pipe chunks and yields whole datagrams. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    while (this.pending.length >= 4) {
      const length = this.pending.readUInt32LE(0);
      if (this.pending.length < 4 + length) break;
      frames.push(this.pending.subarray(4, 4 + length));
      this.pending = this.pending.subarray(4 + length);
    }
    return frames;
  }
}
