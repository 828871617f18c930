/**
 * Tristate numbers ("tnums"): what is known about the bits of a 64-bit value. A bit whose `mask` bit is 1 is
 * unknown; otherwise it equals the corresponding `value` bit. Same idea as the kernel's tnum.c, written from its
 * documented semantics. All values are unsigned 64-bit bigints.
 */

/** Known bits of a 64-bit value. Invariant: `value & mask === 0n`. */
export interface Tnum {
  readonly value: bigint;
  readonly mask: bigint;
}

export const U64 = (1n << 64n) - 1n;
export const U32 = (1n << 32n) - 1n;
const u64 = (x: bigint) => BigInt.asUintN(64, x);

/** A tnum with every bit known. */
export const tconst = (v: bigint): Tnum => ({ value: u64(v), mask: 0n });
/** Nothing known. */
export const TUNKNOWN: Tnum = { value: 0n, mask: U64 };

export const tIsConst = (t: Tnum): boolean => t.mask === 0n;
export const tIsUnknown = (t: Tnum): boolean => t.mask === U64;

/** Number of bits of a positive bigint (the position of its highest 1, plus one). */
function bitLength(x: bigint): number {
  if (x < 0n) return x.toString(2).length;
  if (x < 0x100000000n) return 32 - Math.clz32(Number(x));
  if (x < 0x10000000000000000n) return 64 - Math.clz32(Number(x >> 32n));
  return x.toString(2).length;
}

/** The tightest tnum holding every value in [min, max] (unsigned). */
export function tRange(min: bigint, max: bigint): Tnum {
  const chi = min ^ max;
  if (chi === 0n) return tconst(min);
  const bits = BigInt(bitLength(chi));
  if (bits > 63n) return TUNKNOWN;
  const delta = (1n << bits) - 1n;
  return { value: min & ~delta & U64, mask: delta };
}

export function tAdd(a: Tnum, b: Tnum): Tnum {
  const sm = u64(a.mask + b.mask);
  const sv = u64(a.value + b.value);
  const sigma = u64(sm + sv);
  const chi = sigma ^ sv;
  const mu = chi | a.mask | b.mask;
  return { value: sv & ~mu & U64, mask: mu };
}

export function tSub(a: Tnum, b: Tnum): Tnum {
  const dv = u64(a.value - b.value);
  const alpha = u64(dv + a.mask);
  const beta = u64(dv - b.mask);
  const chi = alpha ^ beta;
  const mu = chi | a.mask | b.mask;
  return { value: dv & ~mu & U64, mask: mu };
}

export function tAnd(a: Tnum, b: Tnum): Tnum {
  const alpha = a.value | a.mask;
  const beta = b.value | b.mask;
  const v = a.value & b.value;
  return { value: v, mask: alpha & beta & ~v & U64 };
}

export function tOr(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask | b.mask;
  return { value: v, mask: mu & ~v & U64 };
}

export function tXor(a: Tnum, b: Tnum): Tnum {
  const v = a.value ^ b.value;
  const mu = a.mask | b.mask;
  return { value: v & ~mu & U64, mask: mu };
}

export function tLsh(a: Tnum, k: number): Tnum {
  const s = BigInt(k);
  return { value: u64(a.value << s), mask: u64(a.mask << s) };
}

export function tRsh(a: Tnum, k: number): Tnum {
  const s = BigInt(k);
  return { value: a.value >> s, mask: a.mask >> s };
}

/** Arithmetic shift right of a `bits`-wide value (64 or 32; a 32-bit result is zero-extended). */
export function tArsh(a: Tnum, k: number, bits: 64 | 32 = 64): Tnum {
  const s = BigInt(k);
  const v = BigInt.asUintN(bits, BigInt.asIntN(bits, a.value) >> s);
  const m = BigInt.asUintN(bits, BigInt.asIntN(bits, a.mask) >> s);
  return { value: v & ~m, mask: m };
}

/** Multiplication by long multiplication over the partially known bits. */
export function tMul(a: Tnum, b: Tnum): Tnum {
  if (tIsConst(a) && tIsConst(b)) return tconst(a.value * b.value);
  const accV = u64(a.value * b.value);
  let accM: Tnum = tconst(0n);
  let xv = a.value;
  let xm = a.mask;
  let yv = b.value;
  let ym = b.mask;
  while (xv || xm) {
    if (xv & 1n) accM = tAdd(accM, { value: 0n, mask: ym });
    else if (xm & 1n) accM = tAdd(accM, { value: 0n, mask: yv | ym });
    // x >>= 1, y <<= 1 (as tnums: value and mask shift alike).
    xv >>= 1n;
    xm >>= 1n;
    yv = u64(yv << 1n);
    ym = u64(ym << 1n);
  }
  return tAdd(tconst(accV), accM);
}

/** Bits known in both: undefined when they contradict (no value satisfies both). */
export function tIntersect(a: Tnum, b: Tnum): Tnum | undefined {
  if ((a.value ^ b.value) & ~a.mask & ~b.mask & U64) return undefined;
  const v = a.value | b.value;
  const mu = a.mask & b.mask;
  return { value: v & ~mu & U64, mask: mu };
}

/** Every value `b` may hold is one `a` may hold. */
export function tIn(a: Tnum, b: Tnum): boolean {
  if (b.mask & ~a.mask) return false;
  return a.value === (b.value & ~a.mask);
}

/** Low 32 bits, zero-extended. */
export const tSubreg = (a: Tnum): Tnum => ({ value: a.value & U32, mask: a.mask & U32 });
/** Low 32 bits, sign-extended to 64. */
export function tSext32(a: Tnum): Tnum {
  const v = BigInt.asUintN(64, BigInt.asIntN(32, a.value & U32));
  const m = BigInt.asUintN(64, BigInt.asIntN(32, a.mask & U32));
  return { value: v & ~m & U64, mask: m };
}
/** Low `bytes` bytes, zero-extended. */
export function tTrunc(a: Tnum, bytes: number): Tnum {
  const M = bytes >= 8 ? U64 : (1n << BigInt(bytes * 8)) - 1n;
  return { value: a.value & M, mask: a.mask & M };
}
/** Replace the low 32 bits of `a` by those of `sub`. */
export const tWithSubreg = (a: Tnum, sub: Tnum): Tnum => ({ value: (a.value & ~U32 & U64) | (sub.value & U32), mask: (a.mask & ~U32 & U64) | (sub.mask & U32) });

/** Kernel-log style `(0x0; 0xff)` rendering. */
export function tStr(t: Tnum): string {
  return `(0x${t.value.toString(16)}; 0x${t.mask.toString(16)})`;
}
