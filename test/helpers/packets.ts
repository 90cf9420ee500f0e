// Frames built byte by byte for decoder tests (capture, trace): Ethernet, IPv4, UDP.
export const mac = (text: string): Buffer => Buffer.from(text.replace(/:/g, ""), "hex");
export const ipv4 = (text: string): Buffer => Buffer.from(text.split(".").map(Number));

/** IPv4 flags (DF is 0x4000) and fragment offset in one field, as on the wire. */
export const DONT_FRAGMENT = 0x4000;

export function ethernet(dst: string, src: string, etherType: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(14);
  mac(dst).copy(header, 0);
  mac(src).copy(header, 6);
  header.writeUInt16BE(etherType, 12);
  return Buffer.concat([header, payload]);
}

export function ipv4Packet(src: string, dst: string, protocol: number, payload: Buffer, flagsAndOffset = 0): Buffer {
  const header = Buffer.alloc(20);
  header[0] = 0x45;
  header.writeUInt16BE(20 + payload.length, 2);
  header.writeUInt16BE(flagsAndOffset, 6);
  header[8] = 64;
  header[9] = protocol;
  ipv4(src).copy(header, 12);
  ipv4(dst).copy(header, 16);
  return Buffer.concat([header, payload]);
}

export function udp(srcPort: number, dstPort: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16BE(srcPort, 0);
  header.writeUInt16BE(dstPort, 2);
  header.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([header, payload]);
}
