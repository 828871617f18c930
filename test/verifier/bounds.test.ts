/**
 * Soundness of the scalar domain: for random sets of concrete values, every concrete result of an ALU operation
 * or a comparison must be inside the abstract result (tnum and all eight bounds).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NEGATE, alu, branchTaken, byteSwap, narrow, sext, sync, UNKNOWN, sconst, type AluKind, type CmpKind, type Scalar } from '../../src/verifier/bounds.js';
import { tAdd, tMul, tRange, tconst, tIn } from '../../src/verifier/tnum.js';

const M64 = (1n << 64n) - 1n;
let seed = 12345;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed;
};
const pick = <T>(xs: readonly T[]): T => xs[rnd() % xs.length]!;

/** A random 64-bit value, biased towards small and boundary values. */
function value(): bigint {
  switch (rnd() % 6) {
    case 0:
      return BigInt(rnd() % 64);
    case 1:
      return BigInt.asUintN(64, -BigInt(rnd() % 64));
    case 2:
      return pick([0n, 1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, (1n << 63n) - 1n, 1n << 63n, M64]);
    case 3:
      return BigInt(rnd()) & 0xffffn;
    default:
      return (BigInt(rnd()) << 33n) ^ BigInt(rnd());
  }
}

/** The smallest abstract value holding all `vs` (joined constants through ranges and tnums). */
function abstract(vs: bigint[]): Scalar {
  let umin = M64;
  let umax = 0n;
  let smin = 1n << 63n;
  let smax = -(1n << 63n);
  for (const v of vs) {
    const u = BigInt.asUintN(64, v);
    const s = BigInt.asIntN(64, v);
    if (u < umin) umin = u;
    if (u > umax) umax = u;
    if (s < smin) smin = s;
    if (s > smax) smax = s;
  }
  let known = M64;
  for (const v of vs) known &= ~(v ^ vs[0]!) & M64;
  const t = { value: vs[0]! & known, mask: M64 & ~known };
  return sync({ ...UNKNOWN, t, umin, umax, smin, smax }) ?? UNKNOWN;
}

function contains(s: Scalar, v: bigint): boolean {
  const u = BigInt.asUintN(64, v);
  const sv = BigInt.asIntN(64, v);
  const lo = u & 0xffffffffn;
  const slo = BigInt.asIntN(32, lo);
  return s.umin <= u && u <= s.umax && s.smin <= sv && sv <= s.smax && s.u32min <= lo && lo <= s.u32max && s.s32min <= slo && slo <= s.s32max && tIn(s.t, tconst(u));
}

function concrete(op: AluKind, a: bigint, b: bigint, bits: 32 | 64): bigint {
  const W = BigInt(bits);
  const wrap = (x: bigint) => BigInt.asUintN(bits, x);
  const sw = (x: bigint) => BigInt.asIntN(bits, x);
  const x = wrap(a);
  const y = wrap(b);
  switch (op) {
    case 'add':
      return wrap(x + y);
    case 'sub':
      return wrap(x - y);
    case 'mul':
      return wrap(x * y);
    case 'div':
      return y === 0n ? 0n : x / y;
    case 'mod':
      return y === 0n ? x : x % y;
    case 'sdiv':
      return y === 0n ? 0n : wrap(sw(y) === -1n ? -sw(x) : sw(x) / sw(y));
    case 'smod':
      return y === 0n ? x : wrap(sw(y) === -1n ? 0n : sw(x) % sw(y));
    case 'and':
      return x & y;
    case 'or':
      return x | y;
    case 'xor':
      return x ^ y;
    case 'lsh':
      return wrap(x << (y % W));
    case 'rsh':
      return x >> (y % W);
    case 'arsh':
      return wrap(sw(x) >> (y % W));
  }
}

const OPS: AluKind[] = ['add', 'sub', 'mul', 'div', 'mod', 'sdiv', 'smod', 'and', 'or', 'xor', 'lsh', 'rsh', 'arsh'];

test('ALU results contain every concrete result (64 and 32 bits)', () => {
  for (let n = 0; n < 3000; n++) {
    const op = pick(OPS);
    const bits = pick([32, 64] as const);
    const as = Array.from({ length: 1 + (rnd() % 4) }, value);
    const shift = op === 'lsh' || op === 'rsh' || op === 'arsh';
    const bs = shift ? [BigInt(rnd() % bits)] : Array.from({ length: 1 + (rnd() % 3) }, value);
    const r = alu(op, abstract(as), abstract(bs), bits);
    for (const a of as) {
      for (const b of bs) {
        const c = concrete(op, a, b, bits);
        assert.ok(contains(r, c), `${op}${bits} ${a} ${b} = ${c} not in ${JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
      }
    }
  }
});

const CMPS: CmpKind[] = ['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'sgt', 'sge', 'slt', 'sle', 'set'];
function holds(op: CmpKind, a: bigint, b: bigint, bits: 32 | 64): boolean {
  const x = BigInt.asUintN(bits, a);
  const y = BigInt.asUintN(bits, b);
  const sx = BigInt.asIntN(bits, a);
  const sy = BigInt.asIntN(bits, b);
  return { eq: x === y, ne: x !== y, gt: x > y, ge: x >= y, lt: x < y, le: x <= y, sgt: sx > sy, sge: sx >= sy, slt: sx < sy, sle: sx <= sy, set: (x & y) !== 0n }[op];
}

test('branch narrowing keeps every pair that takes the branch, and decided branches are right', () => {
  for (let n = 0; n < 3000; n++) {
    const op = pick(CMPS);
    const bits = pick([32, 64] as const);
    const as = Array.from({ length: 1 + (rnd() % 4) }, value);
    const bs = rnd() % 2 ? [value()] : Array.from({ length: 1 + (rnd() % 3) }, value);
    const A = abstract(as);
    const B = abstract(bs);
    const decided = branchTaken(op, A, B, bits);
    for (const taken of [true, false]) {
      const kind = taken ? op : op === 'set' ? 'set' : NEGATE[op];
      const nr = narrow(kind, A, B, bits, !taken && op === 'set');
      for (const a of as) {
        for (const b of bs) {
          if (holds(op, a, b, bits) !== taken) continue;
          if (decided !== undefined) assert.equal(decided, taken, `${op}${bits} ${a} ${b} decided wrongly`);
          assert.ok(nr, `${op}${bits} ${a} ${b}: branch ${taken} judged impossible`);
          assert.ok(contains(nr![0], a) && contains(nr![1], b), `${op}${bits} ${a} ${b}: narrowed away`);
        }
      }
    }
  }
});

test('sign extension and byte swaps', () => {
  assert.equal(sext(sconst(0xffn), 8).smin, -1n);
  assert.equal(sext(sconst(0x7fn), 8).smax, 127n);
  assert.equal(byteSwap(sconst(0x1234n), 16, true).umin, 0x3412n);
  assert.equal(byteSwap(sconst(0x1_0000_1234n), 16, false).umax, 0x1234n);
  const u8 = abstract([0n, 255n]);
  assert.equal(sext(u8, 8).smin, -128n);
});

test('tnums', () => {
  assert.deepEqual(tRange(0n, 7n), { value: 0n, mask: 7n });
  assert.deepEqual(tAdd(tconst(3n), tconst(4n)), tconst(7n));
  assert.deepEqual(tMul(tconst(6n), tconst(7n)), tconst(42n));
  assert.ok(tIn(tRange(0n, 255n), tconst(17n)));
  assert.ok(!tIn(tconst(3n), tRange(0n, 3n)));
});
