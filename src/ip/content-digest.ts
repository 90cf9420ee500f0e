// A 64-bit digest of a large buffer (a peersFile of 10,000 hosts is about 530 KB), for
// telling "the same bytes as last time" from a stamp. In Bun (the executable) it is
// Bun.hash, native wyhash: 0.03-0.1 ms for 530 KB. Elsewhere (vitest, node dist/js) two
// MurmurHash3-style 32-bit lanes in JS, four bytes a step: 2-20 ms for the same bytes in
// a fresh process, which is why it is not the only one (byte-at-a-time FNV, as digest.ts
// does for short names, took 6-8 ms for 300 KB). The two give different digests: a digest
// is only ever compared with one the same build made (callers put the build id in what
// they hash), never stored for another. Not a security boundary: whoever can change the
// input can change what it means anyway.

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const SEED_A = 0x9747b28c;
const SEED_B = 0x3c6ef372;

function mixWord(hash: number, word: number): number {
  let k = Math.imul(word, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  const h = hash ^ k;
  return (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) | 0;
}

function finish(hash: number, length: number): number {
  let h = hash ^ length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

type BunHash = (data: Uint8Array | string) => number | bigint;
const bunHash = (globalThis as { Bun?: { hash?: BunHash } }).Bun?.hash;

/** 16 hex digits over `bytes`. */
export function contentDigest(bytes: Uint8Array | string): string {
  const data = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
  if (bunHash !== undefined)
    return BigInt.asUintN(64, BigInt(bunHash(data)))
      .toString(16)
      .padStart(16, "0");
  return murmurDigest(data);
}

function murmurDigest(bytes: Uint8Array): string {
  const words = bytes.length >>> 2;
  // An aligned copy when the buffer is not (a pooled Buffer's offset): one memcpy.
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes.subarray(0, words * 4));
  const view = new Int32Array(aligned.buffer, aligned.byteOffset, words);
  let a = SEED_A;
  let b = SEED_B;
  for (let index = 0; index < words; index++) {
    const word = view[index] as number;
    a = mixWord(a, word);
    b = mixWord(b, word ^ 0x5bd1e995);
  }
  let tail = 0;
  for (let index = bytes.length - 1; index >= words * 4; index--) tail = (tail << 8) | (bytes[index] as number);
  a = mixWord(a, tail);
  b = mixWord(b, tail ^ 0x5bd1e995);
  return finish(a, bytes.length).toString(16).padStart(8, "0") + finish(b, bytes.length).toString(16).padStart(8, "0");
}
