/**
 * Bob Jenkins' lookup3 hash as the kernel's <linux/jhash.h> implements it (jhash, jhash2). Used where the kernel
 * hashes with it and the result is visible: stack-trace ids, bloom filter bits (with BPF_F_ZERO_SEED the bits are
 * the kernel's), hash-map bucket order.
 */

const JHASH_INITVAL = 0xdeadbeef;

function rol(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) | 0;
}

function final(a: number, b: number, c: number): number {
  c ^= b; c = (c - rol(b, 14)) | 0;
  a ^= c; a = (a - rol(c, 11)) | 0;
  b ^= a; b = (b - rol(a, 25)) | 0;
  c ^= b; c = (c - rol(b, 16)) | 0;
  a ^= c; a = (a - rol(c, 4)) | 0;
  b ^= a; b = (b - rol(a, 14)) | 0;
  c ^= b; c = (c - rol(b, 24)) | 0;
  return c >>> 0;
}

/** jhash2: hash `length` little-endian u32 words of `bytes` starting at `off`. */
export function jhash2(bytes: Uint8Array, off: number, length: number, initval: number): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let a = (JHASH_INITVAL + (length << 2) + initval) | 0;
  let b = a;
  let c = a;
  let k = off;
  while (length > 3) {
    a = (a + dv.getUint32(k, true)) | 0;
    b = (b + dv.getUint32(k + 4, true)) | 0;
    c = (c + dv.getUint32(k + 8, true)) | 0;
    // __jhash_mix
    a = (a - c) | 0; a ^= rol(c, 4); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rol(a, 6); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rol(b, 8); b = (b + a) | 0;
    a = (a - c) | 0; a ^= rol(c, 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rol(a, 19); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rol(b, 4); b = (b + a) | 0;
    length -= 3;
    k += 12;
  }
  if (length === 0) return c >>> 0;
  if (length >= 3) c = (c + dv.getUint32(k + 8, true)) | 0;
  if (length >= 2) b = (b + dv.getUint32(k + 4, true)) | 0;
  a = (a + dv.getUint32(k, true)) | 0;
  return final(a, b, c);
}

/** jhash: hash `length` bytes of `bytes` starting at `off`. */
export function jhash(bytes: Uint8Array, off: number, length: number, initval: number): number {
  let a = (JHASH_INITVAL + length + initval) | 0;
  let b = a;
  let c = a;
  let k = off;
  const u32 = (i: number) => bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
  while (length > 12) {
    a = (a + u32(k)) | 0;
    b = (b + u32(k + 4)) | 0;
    c = (c + u32(k + 8)) | 0;
    a = (a - c) | 0; a ^= rol(c, 4); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rol(a, 6); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rol(b, 8); b = (b + a) | 0;
    a = (a - c) | 0; a ^= rol(c, 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rol(a, 19); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rol(b, 4); b = (b + a) | 0;
    length -= 12;
    k += 12;
  }
  if (length === 0) return c >>> 0;
  // The kernel's switch falls through from `length` down to 1.
  if (length >= 12) c = (c + (bytes[k + 11] << 24)) | 0;
  if (length >= 11) c = (c + (bytes[k + 10] << 16)) | 0;
  if (length >= 10) c = (c + (bytes[k + 9] << 8)) | 0;
  if (length >= 9) c = (c + bytes[k + 8]) | 0;
  if (length >= 8) b = (b + (bytes[k + 7] << 24)) | 0;
  if (length >= 7) b = (b + (bytes[k + 6] << 16)) | 0;
  if (length >= 6) b = (b + (bytes[k + 5] << 8)) | 0;
  if (length >= 5) b = (b + bytes[k + 4]) | 0;
  if (length >= 4) a = (a + (bytes[k + 3] << 24)) | 0;
  if (length >= 3) a = (a + (bytes[k + 2] << 16)) | 0;
  if (length >= 2) a = (a + (bytes[k + 1] << 8)) | 0;
  a = (a + bytes[k]) | 0;
  return final(a, b, c);
}

/** The hash the kernel's hash maps use for a key: jhash2 when the size is a multiple of 4, else jhash. */
export function htabHash(key: Uint8Array, seed: number): number {
  return key.length % 4 === 0 ? jhash2(key, 0, key.length >> 2, seed) : jhash(key, 0, key.length, seed);
}
