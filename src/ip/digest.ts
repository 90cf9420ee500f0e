// Short stable digests for names the kernel and the disk limit in length (a host veth
// name, an nft rule comment, an index file, a derived MAC). Not a security boundary:
// FNV-1a over UTF-8, 64 bits per round. Loading node:crypto costs about 2 ms in the
// compiled executable, a tenth of a plugin call, for what these names need.
const FNV_OFFSET_HI = 0xcbf29ce4;
const FNV_OFFSET_LO = 0x84222325;
const TWO_32 = 4294967296;

/**
 * FNV-1a 64 (offset 0xcbf29ce484222325 ^ seed, prime 2^40 + 0x1b3) in two 32-bit
 * halves: bigint arithmetic made the VTEP MACs of 10,000 peers cost 70 ms per ADD.
 * Every product stays below 2^53, so each step is exact.
 */
function fnv1a64Hex(bytes: Uint8Array, seed: number): string {
  let hi = FNV_OFFSET_HI;
  let lo = (FNV_OFFSET_LO ^ seed) >>> 0;
  for (const byte of bytes) {
    lo = (lo ^ byte) >>> 0;
    const low = lo * 0x1b3;
    hi = (Math.imul(hi, 0x1b3) + Math.floor(low / TWO_32) + ((lo << 8) >>> 0)) >>> 0;
    lo = low >>> 0;
  }
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}

/** `hexChars` lowercase hex digits derived from `text` (rounds of 64 bits chained by seed). */
export function shortDigest(text: string, hexChars: number): string {
  const bytes = new TextEncoder().encode(text);
  let out = "";
  for (let round = 0; out.length < hexChars; round++) out += fnv1a64Hex(bytes, round);
  return out.slice(0, hexChars);
}

const HEX_BYTE = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/**
 * macFromHex(shortDigest(text, 12)), the same bits without the hex and regex round trip:
 * an l3 ADD derives the VTEP MAC of each of 10,000 peers (70 ms that way, cold). ASCII
 * text (every address) is hashed by its char codes, which are its UTF-8 bytes.
 */
export function digestMac(text: string): string {
  let hi = FNV_OFFSET_HI;
  let lo = FNV_OFFSET_LO;
  for (let index = 0; index < text.length; index++) {
    const byte = text.charCodeAt(index);
    if (byte > 0x7f) return macFromHex(shortDigest(text, 12));
    lo = (lo ^ byte) >>> 0;
    const low = lo * 0x1b3;
    hi = (Math.imul(hi, 0x1b3) + Math.floor(low / TWO_32) + ((lo << 8) >>> 0)) >>> 0;
    lo = low >>> 0;
  }
  const first = (((hi >>> 24) & 0xfe) | 0x02) & 0xff;
  return `${HEX_BYTE[first]}:${HEX_BYTE[(hi >>> 16) & 0xff]}:${HEX_BYTE[(hi >>> 8) & 0xff]}:${HEX_BYTE[hi & 0xff]}:${HEX_BYTE[lo >>> 24]}:${HEX_BYTE[(lo >>> 16) & 0xff]}`;
}

/** A locally administered unicast MAC from the first 12 hex digits of a digest. */
export function macFromHex(hex: string): string {
  const bytes = (hex.match(/../g) ?? []).slice(0, 6).map((pair) => Number.parseInt(pair, 16));
  bytes[0] = ((bytes[0] ?? 0) & 0xfe) | 0x02;
  return bytes.map((byte) => byte.toString(16).padStart(2, "0")).join(":");
}

/** A random locally administered unicast MAC (WebCrypto's getRandomValues needs no module load). */
export function randomLocalMac(): string {
  const random = globalThis.crypto.getRandomValues(new Uint8Array(6));
  return macFromHex([...random].map((byte) => byte.toString(16).padStart(2, "0")).join(""));
}
