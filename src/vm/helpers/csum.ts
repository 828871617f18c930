/**
 * Internet checksum arithmetic exactly as the kernel does it on x86-64 (include/net/checksum.h,
 * arch/x86/lib/csum-partial_64.c): 32-bit `__wsum` ones'-complement adds with end-around carry, 16-bit folds,
 * and csum_partial over little-endian 64-bit words. Values are the raw in-memory (network order) numbers read as
 * little-endian, like the kernel's `__be16` / `__be32` on a little-endian machine.
 */

/** csum_add: 32-bit add with end-around carry. */
export function csumAdd(a: number, b: number): number {
  const r = (a >>> 0) + (b >>> 0);
  return (r + (r > 0xffffffff ? 1 : 0)) >>> 0;
}

/** csum_sub: add the complement. */
export function csumSub(a: number, b: number): number {
  return csumAdd(a, ~b >>> 0);
}

/** csum_fold: 32 → 16 bits, complemented. */
export function csumFold(sum: number): number {
  let s = sum >>> 0;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** csum16_add. */
function csum16Add(csum: number, addend: number): number {
  let r = (csum + addend) & 0xffff;
  r += r < addend ? 1 : 0;
  return r & 0xffff;
}

/** csum_replace4: new folded checksum after a 32-bit field changed from `from` to `to`. */
export function csumReplace4(sum: number, from: number, to: number): number {
  const tmp = csumSub(~sum & 0xffff, from);
  return csumFold(csumAdd(tmp, to));
}

/** csum_replace2: 16-bit variant (`~csum16_add(csum16_sub(~sum, old), new)`). */
export function csumReplace2(sum: number, from: number, to: number): number {
  const t = csum16Add(~sum & 0xffff, ~from & 0xffff);
  return ~csum16Add(t, to & 0xffff) & 0xffff;
}

/** csum_replace_by_diff: fold a precomputed difference into a checksum. */
export function csumReplaceByDiff(sum: number, diff: number): number {
  return csumFold(csumAdd(diff, ~sum & 0xffff));
}

/** csum_partial over `b` (length a multiple of 4 here) starting from `seed`, as x86-64 computes it. */
export function csumPartial(b: Uint8Array, seed: number): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let t = BigInt(seed >>> 0);
  const M = 0xffffffffffffffffn;
  const add = (x: bigint) => {
    t += x;
    if (t > M) t = (t & M) + 1n;
  };
  let i = 0;
  for (; i + 8 <= b.length; i += 8) add(dv.getBigUint64(i, true));
  if (b.length - i >= 1) {
    let trail = 0n;
    for (let k = b.length - 1; k >= i; k--) trail = (trail << 8n) | BigInt(b[k]);
    add(trail);
  }
  const hi = Number(t >> 32n);
  const lo = Number(t & 0xffffffffn);
  return csumAdd(hi, lo);
}

/** csum_from32to16: fold 32 → 16 bits without complementing. */
export function csumFrom32to16(sum: number): number {
  const s = ((sum >>> 0) + (((sum >>> 16) | (sum << 16)) >>> 0)) >>> 0;
  return s >>> 16;
}
