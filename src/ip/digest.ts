// Short stable digests for names the kernel and the disk limit in length (a host veth
// name, an nft rule comment, an index file, a derived MAC). Not a security boundary:
// FNV-1a over UTF-8, 64 bits per round. Loading node:crypto costs about 2 ms in the
// compiled executable, a tenth of a plugin call, for what these names need.
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = (1n << 64n) - 1n;

function fnv1a64(bytes: Uint8Array, seed: bigint): bigint {
  let hash = FNV_OFFSET ^ seed;
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * FNV_PRIME) & MASK64;
  return hash;
}

/** `hexChars` lowercase hex digits derived from `text` (rounds of 64 bits chained by seed). */
export function shortDigest(text: string, hexChars: number): string {
  const bytes = new TextEncoder().encode(text);
  let out = "";
  for (let round = 0n; out.length < hexChars; round++) out += fnv1a64(bytes, round).toString(16).padStart(16, "0");
  return out.slice(0, hexChars);
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
