/**
 * Scalar abstract values: a tnum (known bits) plus unsigned/signed 64-bit and 32-bit ranges, kept consistent
 * with each other (the kernel verifier's reg_bounds_sync idea). ALU results are computed as exact intervals over
 * unbounded integers and then wrapped to the operation's width, which keeps overflow handling sound in one place.
 * All numbers are bigints; signed fields hold signed values, unsigned fields unsigned ones.
 */
import {
  TUNKNOWN,
  U32,
  U64,
  tAdd,
  tAnd,
  tArsh,
  tIn,
  tIntersect,
  tLsh,
  tMul,
  tOr,
  tRange,
  tRsh,
  tSext32,
  tSub,
  tSubreg,
  tTrunc,
  tWithSubreg,
  tXor,
  tconst,
  type Tnum,
} from './tnum.js';

/** What is known about a scalar (or about the variable part of a pointer's offset). */
export interface Scalar {
  readonly t: Tnum;
  readonly umin: bigint;
  readonly umax: bigint;
  readonly smin: bigint;
  readonly smax: bigint;
  readonly u32min: bigint;
  readonly u32max: bigint;
  readonly s32min: bigint;
  readonly s32max: bigint;
}

export const S64_MIN = -(1n << 63n);
export const S64_MAX = (1n << 63n) - 1n;
export const S32_MIN = -(1n << 31n);
export const S32_MAX = (1n << 31n) - 1n;

const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);
const asS64 = (x: bigint) => BigInt.asIntN(64, x);
const asU64 = (x: bigint) => BigInt.asUintN(64, x);

/** Nothing known. */
export const UNKNOWN: Scalar = {
  t: TUNKNOWN,
  umin: 0n,
  umax: U64,
  smin: S64_MIN,
  smax: S64_MAX,
  u32min: 0n,
  u32max: U32,
  s32min: S32_MIN,
  s32max: S32_MAX,
};

/** Constants made from JS numbers (instruction immediates repeat; scalars are immutable, so they are shared). */
const CONSTS = new Map<number, Scalar>();
const MAX_CACHED_CONSTS = 4096;

/** A known constant (any bigint; taken modulo 2^64). */
export function sconst(v: bigint | number): Scalar {
  if (typeof v === 'number') {
    let s = CONSTS.get(v);
    if (!s) {
      s = makeConst(v);
      if (CONSTS.size < MAX_CACHED_CONSTS) CONSTS.set(v, s);
    }
    return s;
  }
  return makeConst(v);
}

function makeConst(v: bigint | number): Scalar {
  const u = asU64(BigInt(v));
  const lo = u & U32;
  return { t: tconst(u), umin: u, umax: u, smin: asS64(u), smax: asS64(u), u32min: lo, u32max: lo, s32min: BigInt.asIntN(32, lo), s32max: BigInt.asIntN(32, lo) };
}

/** Unsigned range [lo, hi]. */
export function srange(lo: bigint, hi: bigint): Scalar {
  return sync({ ...UNKNOWN, umin: lo, umax: hi }) ?? UNKNOWN;
}

export const isConst = (s: Scalar): boolean => s.t.mask === 0n;
/** The constant, when known. */
export const constOf = (s: Scalar): bigint | undefined => (s.t.mask === 0n ? s.t.value : undefined);
export const isConst32 = (s: Scalar): boolean => (s.t.mask & U32) === 0n;

/** [lo, hi] of a `bits`-wide unsigned wrap of every integer in [lo, hi]. */
function wrapU(lo: bigint, hi: bigint, bits: 32 | 64): [bigint, bigint] {
  const full = bits === 64 ? U64 : U32;
  if (hi - lo > full) return [0n, full];
  const a = BigInt.asUintN(bits, lo);
  const b = BigInt.asUintN(bits, hi);
  return a <= b ? [a, b] : [0n, full];
}

function wrapS(lo: bigint, hi: bigint, bits: 32 | 64): [bigint, bigint] {
  const full = bits === 64 ? U64 : U32;
  const smin = bits === 64 ? S64_MIN : S32_MIN;
  const smax = bits === 64 ? S64_MAX : S32_MAX;
  if (hi - lo > full) return [smin, smax];
  const a = BigInt.asIntN(bits, lo);
  const b = BigInt.asIntN(bits, hi);
  return a <= b ? [a, b] : [smin, smax];
}

const SIGN64 = 1n << 63n;
const SIGN32 = 1n << 31n;

/** Tighten every field from the others; undefined when no value is possible (a dead branch). */
export function sync(x: Scalar): Scalar | undefined {
  let { t, umin, umax, smin, smax, u32min, u32max, s32min, s32max } = x;
  // Up to three rounds; a round that changes nothing has reached the fixpoint (later rounds would repeat it).
  for (let round = 0; round < 3; round++) {
    const before = { t, umin, umax, smin, smax, u32min, u32max, s32min, s32max };
    const tv = t.value;
    const tm = t.mask;
    umin = max(umin, tv);
    umax = min(umax, tv | tm);
    // Signed bounds of the tnum (64 and 32 bits): with the sign bit unknown, from "negative" to "positive".
    if (tm & SIGN64) {
      smin = max(smin, asS64(tv | SIGN64));
      smax = min(smax, asS64((tv | tm) & ~SIGN64));
    } else {
      smin = max(smin, asS64(tv));
      smax = min(smax, asS64(tv | tm));
    }
    const sv = tv & U32;
    const sm = tm & U32;
    u32min = max(u32min, sv);
    u32max = min(u32max, sv | sm);
    if (sm & SIGN32) {
      s32min = max(s32min, BigInt.asIntN(32, sv | SIGN32));
      s32max = min(s32max, BigInt.asIntN(32, (sv | sm) & ~SIGN32));
    } else {
      s32min = max(s32min, BigInt.asIntN(32, sv));
      s32max = min(s32max, BigInt.asIntN(32, sv | sm));
    }
    if (umin >> 63n === umax >> 63n) {
      smin = max(smin, asS64(umin));
      smax = min(smax, asS64(umax));
    }
    if (smin >= 0n || smax < 0n) {
      umin = max(umin, asU64(smin));
      umax = min(umax, asU64(smax));
    }
    if (u32min >> 31n === u32max >> 31n) {
      s32min = max(s32min, BigInt.asIntN(32, u32min));
      s32max = min(s32max, BigInt.asIntN(32, u32max));
    }
    if (s32min >= 0n || s32max < 0n) {
      u32min = max(u32min, BigInt.asUintN(32, s32min));
      u32max = min(u32max, BigInt.asUintN(32, s32max));
    }
    // The low 32 bits of every value of the 64-bit ranges (unsigned, then signed; both as they are now).
    const ulo = umin;
    const uhi = umax;
    const slo = smin;
    const shi = smax;
    for (let k = 0; k < 2; k++) {
      const lo = k === 0 ? ulo : slo;
      const hi = k === 0 ? uhi : shi;
      if (lo > hi) return undefined;
      if (hi - lo > U32) {
        u32min = max(u32min, 0n);
        u32max = min(u32max, U32);
        s32min = max(s32min, S32_MIN);
        s32max = min(s32max, S32_MAX);
        continue;
      }
      let a = BigInt.asUintN(32, lo);
      let b = BigInt.asUintN(32, hi);
      if (a > b) [a, b] = [0n, U32];
      u32min = max(u32min, a);
      u32max = min(u32max, b);
      a = BigInt.asIntN(32, lo);
      b = BigInt.asIntN(32, hi);
      if (a > b) [a, b] = [S32_MIN, S32_MAX];
      s32min = max(s32min, a);
      s32max = min(s32max, b);
    }
    if (umin >> 32n === umax >> 32n) {
      const hi = umin & ~U32 & U64;
      umin = max(umin, hi | u32min);
      umax = min(umax, hi | u32max);
    }
    if (smin >> 32n === smax >> 32n) {
      const hi = (smin >> 32n) << 32n;
      smin = max(smin, hi + u32min);
      smax = min(smax, hi + u32max);
    }
    if (umin > umax || smin > smax || u32min > u32max || s32min > s32max) return undefined;
    const ti = tIntersect(t, tRange(umin, umax));
    if (!ti) return undefined;
    const si = tIntersect(tSubreg(ti), tRange(u32min, u32max));
    if (!si) return undefined;
    t = tWithSubreg(ti, si);
    if (
      t.value === before.t.value &&
      t.mask === before.t.mask &&
      umin === before.umin &&
      umax === before.umax &&
      smin === before.smin &&
      smax === before.smax &&
      u32min === before.u32min &&
      u32max === before.u32max &&
      s32min === before.s32min &&
      s32max === before.s32max
    ) {
      break;
    }
  }
  if (umin > umax || smin > smax || u32min > u32max || s32min > s32max) return undefined;
  return { t, umin, umax, smin, smax, u32min, u32max, s32min, s32max };
}

/** A width-specific view of a scalar: the 64-bit value, or the low 32 bits (zero- or sign-extended tnum). */
interface View {
  t: Tnum;
  umin: bigint;
  umax: bigint;
  smin: bigint;
  smax: bigint;
}

const view64 = (s: Scalar): View => ({ t: s.t, umin: s.umin, umax: s.umax, smin: s.smin, smax: s.smax });
const view32 = (s: Scalar): View => ({ t: tSubreg(s.t), umin: s.u32min, umax: s.u32max, smin: s.s32min, smax: s.s32max });

/** Build a result from its tnum and the exact (unwrapped) unsigned and signed intervals. */
function result(t: Tnum, u: [bigint, bigint] | undefined, sv: [bigint, bigint] | undefined, bits: 32 | 64): Scalar {
  const fullU: [bigint, bigint] = [0n, bits === 64 ? U64 : U32];
  const fullS: [bigint, bigint] = bits === 64 ? [S64_MIN, S64_MAX] : [S32_MIN, S32_MAX];
  const [ulo, uhi] = u ? wrapU(u[0], u[1], bits) : fullU;
  const [slo, shi] = sv ? wrapS(sv[0], sv[1], bits) : fullS;
  if (bits === 32) {
    const sub = tSubreg(t);
    let u32min = ulo;
    let u32max = uhi;
    let s32min = slo;
    let s32max = shi;
    if (sv) {
      const [a, b] = wrapU(sv[0], sv[1], 32);
      u32min = max(u32min, a);
      u32max = min(u32max, b);
    }
    if (u) {
      const [a, b] = wrapS(u[0], u[1], 32);
      s32min = max(s32min, a);
      s32max = min(s32max, b);
    }
    return zext32({ ...UNKNOWN, t: sub, u32min, u32max, s32min, s32max });
  }
  const x: Scalar = { ...UNKNOWN, t, umin: ulo, umax: uhi, smin: slo, smax: shi };
  return sync(x) ?? { ...UNKNOWN, t };
}

/** The 32-bit part of `s`, zero-extended into the whole register (what every ALU32 op does). */
export function zext32(s: Scalar): Scalar {
  const sub = tSubreg(s.t);
  let u32min = s.u32min;
  let u32max = s.u32max;
  if (u32min > u32max) [u32min, u32max] = [0n, U32];
  const x: Scalar = { t: sub, umin: u32min, umax: u32max, smin: u32min, smax: u32max, u32min, u32max, s32min: s.s32min, s32max: s.s32max };
  return sync(x) ?? { ...UNKNOWN, t: sub, umin: 0n, umax: U32, smin: 0n, smax: U32 };
}

/** Sign-extend the low `bits` bits (8, 16 or 32) to 64 (movsx, ldsx). */
export function sext(s: Scalar, bits: 8 | 16 | 32): Scalar {
  const lo = -(1n << BigInt(bits - 1));
  const hi = (1n << BigInt(bits - 1)) - 1n;
  if (s.smin >= lo && s.smax <= hi) return s;
  const c = constOf(s);
  if (c !== undefined) return sconst(BigInt.asIntN(bits, c));
  let t = tTrunc(s.t, bits / 8);
  if (bits === 32) t = tSext32(t);
  else {
    const sign = 1n << BigInt(bits - 1);
    const ext = U64 & ~((1n << BigInt(bits)) - 1n);
    if (t.mask & sign) t = { value: t.value, mask: t.mask | ext };
    else if (t.value & sign) t = { value: t.value | ext, mask: t.mask };
  }
  return sync({ ...UNKNOWN, t, smin: lo, smax: hi }) ?? UNKNOWN;
}

/** Zero-extend the low `bytes` bytes (truncating loads, le16/le32). */
export function truncate(s: Scalar, bytes: number): Scalar {
  if (bytes >= 8) return s;
  const lim = (1n << BigInt(bytes * 8)) - 1n;
  if (s.umax <= lim) return s;
  return sync({ ...UNKNOWN, t: tTrunc(s.t, bytes), umin: 0n, umax: lim }) ?? UNKNOWN;
}

/** ALU operations understood by `alu`. */
export type AluKind = 'add' | 'sub' | 'mul' | 'div' | 'sdiv' | 'mod' | 'smod' | 'or' | 'and' | 'xor' | 'lsh' | 'rsh' | 'arsh';

const corners = (a: View, b: View, f: (x: bigint, y: bigint) => bigint): [bigint, bigint] => {
  const v = [f(a.smin, b.smin), f(a.smin, b.smax), f(a.smax, b.smin), f(a.smax, b.smax)];
  return [v.reduce(min), v.reduce(max)];
};

/** `a op b` at width `bits` (32-bit results are zero-extended, as in BPF). */
export function alu(op: AluKind, A: Scalar, B: Scalar, bits: 32 | 64): Scalar {
  const a = bits === 64 ? view64(A) : view32(A);
  const b = bits === 64 ? view64(B) : view32(B);
  const full = bits === 64 ? U64 : U32;
  const bc = b.t.mask === 0n ? b.t.value : undefined;
  switch (op) {
    case 'add':
      return result(tAdd(a.t, b.t), [a.umin + b.umin, a.umax + b.umax], [a.smin + b.smin, a.smax + b.smax], bits);
    case 'sub':
      return result(tSub(a.t, b.t), [a.umin - b.umax, a.umax - b.umin], [a.smin - b.smax, a.smax - b.smin], bits);
    case 'mul':
      return result(tMul(a.t, b.t), [a.umin * b.umin, a.umax * b.umax], corners(a, b, (x, y) => x * y), bits);
    case 'and': {
      const t = tAnd(a.t, b.t);
      const s: [bigint, bigint] | undefined = a.smin >= 0n ? [0n, b.smin >= 0n ? min(a.smax, b.smax) : a.smax] : b.smin >= 0n ? [0n, b.smax] : undefined;
      return result(t, [0n, min(a.umax, b.umax)], s, bits);
    }
    case 'or': {
      const t = tOr(a.t, b.t);
      return result(t, [max(a.umin, b.umin), full], a.smin >= 0n && b.smin >= 0n ? [max(a.smin, b.smin), full] : undefined, bits);
    }
    case 'xor': {
      const t = tXor(a.t, b.t);
      return result(t, [0n, full], undefined, bits);
    }
    case 'lsh':
    case 'rsh':
    case 'arsh': {
      if (bc === undefined || b.umax >= BigInt(bits)) return bits === 64 ? UNKNOWN : zext32(UNKNOWN);
      const k = Number(bc);
      const K = BigInt(k);
      if (op === 'lsh') return result(tLsh(a.t, k), [a.umin << K, a.umax << K], [a.smin << K, a.smax << K], bits);
      if (op === 'rsh') return result(tRsh(a.t, k), [a.umin >> K, a.umax >> K], a.smin >= 0n ? [a.smin >> K, a.smax >> K] : undefined, bits);
      return result(tArsh(a.t, k, bits), undefined, [a.smin >> K, a.smax >> K], bits);
    }
    case 'div': {
      // BPF: x / 0 == 0.
      if (bc === 0n) return result(tconst(0n), [0n, 0n], [0n, 0n], bits);
      if (bc !== undefined) return result(TUNKNOWN, [a.umin / bc, a.umax / bc], undefined, bits);
      return result(TUNKNOWN, [0n, a.umax], undefined, bits);
    }
    case 'mod': {
      // BPF: x % 0 == x.
      if (bc === 0n) return bits === 64 ? A : zext32(A);
      if (bc !== undefined && a.umax < bc) return bits === 64 ? A : zext32(A);
      const hi = bc !== undefined ? min(a.umax, bc - 1n) : a.umax;
      return result(TUNKNOWN, [0n, hi], undefined, bits);
    }
    case 'sdiv':
    case 'smod':
      if (bc !== undefined && a.t.mask === 0n) {
        const x = BigInt.asIntN(bits, a.t.value);
        const y = BigInt.asIntN(bits, bc);
        let v: bigint;
        if (y === 0n) v = op === 'sdiv' ? 0n : x;
        else if (y === -1n) v = op === 'sdiv' ? -x : 0n;
        else v = op === 'sdiv' ? x / y : x % y;
        return result(tconst(BigInt.asUintN(bits, v)), [BigInt.asUintN(bits, v), BigInt.asUintN(bits, v)], [v, v], bits);
      }
      return bits === 64 ? UNKNOWN : zext32(UNKNOWN);
  }
}

/** Byte swaps: `le` keeps the low `width` bits, `be`/`bswap` reverse them (value unknown unless constant). */
export function byteSwap(s: Scalar, width: 16 | 32 | 64, swap: boolean): Scalar {
  const bytes = width / 8;
  if (!swap) return truncate(s, bytes);
  const c = constOf(s);
  if (c !== undefined) {
    let v = 0n;
    for (let i = 0; i < bytes; i++) v = (v << 8n) | ((c >> BigInt(8 * i)) & 0xffn);
    return sconst(v);
  }
  return width === 64 ? UNKNOWN : srange(0n, (1n << BigInt(width)) - 1n);
}

/** Comparison operators of conditional jumps. */
export type CmpKind = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le' | 'sgt' | 'sge' | 'slt' | 'sle' | 'set';

/** The operator that holds on the other branch (`set` has no such simple negation and is handled apart). */
export const NEGATE: Readonly<Record<Exclude<CmpKind, 'set'>, CmpKind>> = {
  eq: 'ne',
  ne: 'eq',
  gt: 'le',
  ge: 'lt',
  lt: 'ge',
  le: 'gt',
  sgt: 'sle',
  sge: 'slt',
  slt: 'sge',
  sle: 'sgt',
};

/** Same comparison with operands swapped (`a < b` is `b > a`). */
export const SWAP: Readonly<Record<CmpKind, CmpKind>> = {
  eq: 'eq',
  ne: 'ne',
  gt: 'lt',
  ge: 'le',
  lt: 'gt',
  le: 'ge',
  sgt: 'slt',
  sge: 'sle',
  slt: 'sgt',
  sle: 'sge',
  set: 'set',
};

/** Whether `a op b` is always true, always false, or either (undefined). */
export function branchTaken(op: CmpKind, A: Scalar, B: Scalar, bits: 32 | 64): boolean | undefined {
  const a = bits === 64 ? view64(A) : view32(A);
  const b = bits === 64 ? view64(B) : view32(B);
  switch (op) {
    case 'eq':
    case 'ne': {
      let r: boolean | undefined;
      if (a.t.mask === 0n && b.t.mask === 0n) r = a.t.value === b.t.value;
      else if (a.umin > b.umax || a.umax < b.umin || a.smin > b.smax || a.smax < b.smin) r = false;
      else if ((a.t.value ^ b.t.value) & ~a.t.mask & ~b.t.mask) r = false;
      return r === undefined ? undefined : op === 'eq' ? r : !r;
    }
    case 'gt':
      return a.umin > b.umax ? true : a.umax <= b.umin ? false : undefined;
    case 'ge':
      return a.umin >= b.umax ? true : a.umax < b.umin ? false : undefined;
    case 'lt':
      return a.umax < b.umin ? true : a.umin >= b.umax ? false : undefined;
    case 'le':
      return a.umax <= b.umin ? true : a.umin > b.umax ? false : undefined;
    case 'sgt':
      return a.smin > b.smax ? true : a.smax <= b.smin ? false : undefined;
    case 'sge':
      return a.smin >= b.smax ? true : a.smax < b.smin ? false : undefined;
    case 'slt':
      return a.smax < b.smin ? true : a.smin >= b.smax ? false : undefined;
    case 'sle':
      return a.smax <= b.smin ? true : a.smin > b.smax ? false : undefined;
    case 'set':
      if (a.t.value & b.t.value) return true;
      if (((a.t.value | a.t.mask) & (b.t.value | b.t.mask)) === 0n) return false;
      return undefined;
  }
}

type Fields = { -readonly [K in keyof Scalar]: Scalar[K] };

/**
 * Narrow `a` and `b` assuming `a op b` holds (at width `bits`); `negated` for the false branch of `set`.
 * Returns undefined when the assumption is impossible.
 */
export function narrow(op: CmpKind, A: Scalar, B: Scalar, bits: 32 | 64, setFalse = false): [Scalar, Scalar] | undefined {
  const a: Fields = { ...A };
  const b: Fields = { ...B };
  const [umin, umax, smin, smax] = bits === 64 ? (['umin', 'umax', 'smin', 'smax'] as const) : (['u32min', 'u32max', 's32min', 's32max'] as const);
  switch (op) {
    case 'eq': {
      for (const [lo, hi] of [
        [umin, umax],
        [smin, smax],
      ] as const) {
        a[lo] = b[lo] = max(a[lo], b[lo]);
        a[hi] = b[hi] = min(a[hi], b[hi]);
      }
      if (bits === 64) {
        const t = tIntersect(a.t, b.t);
        if (!t) return undefined;
        a.t = b.t = t;
      } else {
        const t = tIntersect(tSubreg(a.t), tSubreg(b.t));
        if (!t) return undefined;
        a.t = tWithSubreg(a.t, t);
        b.t = tWithSubreg(b.t, t);
      }
      break;
    }
    case 'ne': {
      const bump = (x: Fields, c: bigint) => {
        const sc = bits === 64 ? BigInt.asIntN(64, c) : BigInt.asIntN(32, c);
        if (x[umin] === c) x[umin] = c + 1n;
        else if (x[umax] === c) x[umax] = c - 1n;
        if (x[smin] === sc) x[smin] = sc + 1n;
        else if (x[smax] === sc) x[smax] = sc - 1n;
      };
      const ac = bits === 64 ? constOf(A) : isConst32(A) ? A.t.value & U32 : undefined;
      const bc = bits === 64 ? constOf(B) : isConst32(B) ? B.t.value & U32 : undefined;
      if (bc !== undefined) bump(a, bc);
      if (ac !== undefined) bump(b, ac);
      break;
    }
    case 'gt':
      a[umin] = max(a[umin], b[umin] + 1n);
      b[umax] = min(b[umax], a[umax] - 1n);
      break;
    case 'ge':
      a[umin] = max(a[umin], b[umin]);
      b[umax] = min(b[umax], a[umax]);
      break;
    case 'lt':
      a[umax] = min(a[umax], b[umax] - 1n);
      b[umin] = max(b[umin], a[umin] + 1n);
      break;
    case 'le':
      a[umax] = min(a[umax], b[umax]);
      b[umin] = max(b[umin], a[umin]);
      break;
    case 'sgt':
      a[smin] = max(a[smin], b[smin] + 1n);
      b[smax] = min(b[smax], a[smax] - 1n);
      break;
    case 'sge':
      a[smin] = max(a[smin], b[smin]);
      b[smax] = min(b[smax], a[smax]);
      break;
    case 'slt':
      a[smax] = min(a[smax], b[smax] - 1n);
      b[smin] = max(b[smin], a[smin] + 1n);
      break;
    case 'sle':
      a[smax] = min(a[smax], b[smax]);
      b[smin] = max(b[smin], a[smin]);
      break;
    case 'set': {
      const bc = bits === 64 ? constOf(B) : isConst32(B) ? B.t.value & U32 : undefined;
      if (bc === undefined) break;
      if (setFalse) {
        const t = tIntersect(a.t, { value: 0n, mask: U64 & ~bc });
        if (!t) return undefined;
        a.t = t;
      } else if (bc !== 0n && (bc & (bc - 1n)) === 0n) {
        const t = tIntersect(a.t, { value: bc, mask: U64 & ~bc });
        if (!t) return undefined;
        a.t = t;
      } else if (((a.t.value | a.t.mask) & bc) === 0n) return undefined;
      break;
    }
  }
  const na = sync(a);
  const nb = sync(b);
  if (!na || !nb) return undefined;
  return [na, nb];
}

/** Every value `cur` may hold, `old` may hold too (state pruning). */
export function within(old: Scalar, cur: Scalar): boolean {
  return (
    old.umin <= cur.umin &&
    cur.umax <= old.umax &&
    old.smin <= cur.smin &&
    cur.smax <= old.smax &&
    old.u32min <= cur.u32min &&
    cur.u32max <= old.u32max &&
    old.s32min <= cur.s32min &&
    cur.s32max <= old.s32max &&
    tIn(old.t, cur.t)
  );
}

export function scalarEquals(a: Scalar, b: Scalar): boolean {
  return within(a, b) && within(b, a);
}

/** Human rendering: `42`, `[0, 255]`, `[-8, 7]`, `any value`. */
export function describeScalar(s: Scalar): string {
  const c = constOf(s);
  if (c !== undefined) return c > 0xffffn ? `0x${c.toString(16)}` : String(asS64(c));
  if (s.umin === 0n && s.umax === U64 && s.smin === S64_MIN && s.smax === S64_MAX) return 'any value';
  if (s.smin >= 0n || s.umax <= S64_MAX) return `[${s.umin}, ${s.umax}]`;
  if (s.smin !== S64_MIN || s.smax !== S64_MAX) return `[${s.smin}, ${s.smax}] (signed)`;
  return `[${s.umin}, ${s.umax}]`;
}

/** Kernel-log style `smin=..,smax=..,umin=..,umax=..,var_off=(v; m)`. */
export function kernelScalar(s: Scalar): string {
  const c = constOf(s);
  if (c !== undefined) return `${asS64(c)}`;
  return `smin=${s.smin},smax=${s.smax},umin=${s.umin},umax=${s.umax},var_off=(0x${s.t.value.toString(16)}; 0x${s.t.mask.toString(16)})`;
}
