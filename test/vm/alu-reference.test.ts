// Differential test of the interpreter's ALU and jump semantics (hi/lo int32 halves) against a BigInt reference
// model written from RFC 9669, over edge values and seeded random values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { insn, lddw, type Insn } from '../../src/isa/insn.js';
import { AluOp, Class, JmpOp, Source } from '../../src/isa/opcodes.js';
import { Vm } from '../../src/vm/index.js';
import { xorshift32 } from '../fixtures/random.js';

const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;
const u64 = (v: bigint) => v & M64;
const s64 = (v: bigint) => BigInt.asIntN(64, v);
const s32 = (v: bigint) => BigInt.asIntN(32, v);
const sext = (v: bigint, bits: number) => u64(BigInt.asIntN(bits, v));


const EDGES = [0n, 1n, 2n, 7n, 31n, 32n, 63n, 64n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x7fffffffffffffffn, 0x8000000000000000n, M64, M64 - 1n, 0x123456789abcdef0n, 0xfffffffbn];
const IMM_EDGES = [0, 1, -1, 2, 31, 32, 63, 0x7fffffff, -0x80000000, 0xffff, -7, 3];

function rand64(r: () => number): bigint {
  const k = r() % 4;
  if (k === 0) return EDGES[r() % EDGES.length]!;
  if (k === 1) return BigInt(r() % 100);
  if (k === 2) return u64(-BigInt(r() % 100));
  return (BigInt(r()) << 32n) | BigInt(r());
}
function randImm(r: () => number): number {
  return r() % 2 ? IMM_EDGES[r() % IMM_EDGES.length]! : r() | 0;
}

/** Reference result of `op` (ALU opcode bits) on a (dst) and b (source value, already sign-extended for K). */
function refAlu(op: number, is64: boolean, off: number, a: bigint, b: bigint): bigint {
  if (is64) {
    switch (op) {
      case AluOp.ADD: return u64(a + b);
      case AluOp.SUB: return u64(a - b);
      case AluOp.MUL: return u64(a * b);
      case AluOp.DIV:
        if (off === 1) return b === 0n ? 0n : u64(s64(a) / s64(b));
        return b === 0n ? 0n : a / b;
      case AluOp.MOD:
        if (off === 1) return b === 0n ? a : u64(s64(a) % s64(b));
        return b === 0n ? a : a % b;
      case AluOp.OR: return a | b;
      case AluOp.AND: return a & b;
      case AluOp.XOR: return a ^ b;
      case AluOp.LSH: return u64(a << (b & 63n));
      case AluOp.RSH: return a >> (b & 63n);
      case AluOp.ARSH: return u64(s64(a) >> (b & 63n));
      case AluOp.NEG: return u64(-a);
      case AluOp.MOV: return off ? sext(b, off) : b;
    }
  } else {
    const x = a & M32;
    const y = b & M32;
    switch (op) {
      case AluOp.ADD: return (x + y) & M32;
      case AluOp.SUB: return (x - y) & M32;
      case AluOp.MUL: return (x * y) & M32;
      case AluOp.DIV:
        if (off === 1) return y === 0n ? 0n : BigInt.asUintN(32, s32(x) / s32(y));
        return y === 0n ? 0n : x / y;
      case AluOp.MOD:
        if (off === 1) return y === 0n ? x : BigInt.asUintN(32, s32(x) % s32(y));
        return y === 0n ? x : x % y;
      case AluOp.OR: return x | y;
      case AluOp.AND: return x & y;
      case AluOp.XOR: return x ^ y;
      case AluOp.LSH: return (x << (y & 31n)) & M32;
      case AluOp.RSH: return x >> (y & 31n);
      case AluOp.ARSH: return BigInt.asUintN(32, s32(x) >> (y & 31n));
      case AluOp.NEG: return (-x) & M32;
      case AluOp.MOV: return off ? BigInt.asUintN(32, BigInt.asIntN(off, y)) : y;
    }
  }
  throw new Error(`no reference for op ${op}`);
}

function run(prog: Insn[]): bigint {
  return new Vm(prog).run();
}

test('ALU operations match the BigInt reference model (64- and 32-bit, K and X, signed variants)', () => {
  const r = xorshift32(12345);
  const ops = [AluOp.ADD, AluOp.SUB, AluOp.MUL, AluOp.DIV, AluOp.MOD, AluOp.OR, AluOp.AND, AluOp.XOR, AluOp.LSH, AluOp.RSH, AluOp.ARSH, AluOp.NEG, AluOp.MOV];
  let n = 0;
  for (let iter = 0; iter < 120; iter++) {
    for (const op of ops) {
      for (const is64 of [true, false]) {
        for (const x of op === AluOp.NEG ? [false] : [false, true]) {
          const offs = op === AluOp.DIV || op === AluOp.MOD ? [0, 1] : op === AluOp.MOV && x ? (is64 ? [0, 8, 16, 32] : [0, 8, 16]) : [0];
          for (const off of offs) {
            const a = rand64(r);
            const bReg = rand64(r);
            const imm = randImm(r);
            const cls = is64 ? Class.ALU64 : Class.ALU;
            const b = x ? bReg : u64(BigInt(imm));
            const prog = [
              ...lddw(1, a),
              ...lddw(2, bReg),
              op === AluOp.NEG ? insn(cls | op, 1) : insn(cls | op | (x ? Source.X : Source.K), 1, x ? 2 : 0, off, x ? 0 : imm),
              insn(Class.ALU64 | AluOp.MOV | Source.X, 0, 1),
              insn(Class.JMP | JmpOp.EXIT),
            ];
            const want = refAlu(op, is64, off, a, b);
            const got = run(prog);
            assert.equal(got, want, `${is64 ? 'alu64' : 'alu32'} op 0x${op.toString(16)} ${x ? 'X' : 'K'} off ${off}: a=0x${a.toString(16)} b=0x${b.toString(16)}`);
            n++;
          }
        }
      }
    }
  }
  assert.ok(n > 4000);
});

test('byte swaps match the reference model', () => {
  const r = xorshift32(777);
  const swap = (v: bigint, bits: number) => {
    let out = 0n;
    for (let i = 0; i < bits / 8; i++) out = (out << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
    return out;
  };
  for (let iter = 0; iter < 200; iter++) {
    const a = rand64(r);
    for (const width of [16, 32, 64]) {
      const mask = (1n << BigInt(width)) - 1n;
      const cases: [number, bigint][] = [
        [Class.ALU | AluOp.END | Source.K, a & mask], // le
        [Class.ALU | AluOp.END | Source.X, swap(a & mask, width)], // be
        [Class.ALU64 | AluOp.END | Source.K, swap(a & mask, width)], // bswap
      ];
      for (const [code, want] of cases) {
        const got = run([...lddw(0, a), insn(code, 0, 0, 0, width), insn(Class.JMP | JmpOp.EXIT)]);
        assert.equal(got, want, `code 0x${code.toString(16)} width ${width} a=0x${a.toString(16)}`);
      }
    }
  }
});

test('conditional jumps match the reference model (64- and 32-bit, signed and unsigned)', () => {
  const r = xorshift32(4242);
  const cmp: Record<number, (a: bigint, b: bigint, sa: bigint, sb: bigint) => boolean> = {
    [JmpOp.JEQ]: (a, b) => a === b,
    [JmpOp.JNE]: (a, b) => a !== b,
    [JmpOp.JSET]: (a, b) => (a & b) !== 0n,
    [JmpOp.JGT]: (a, b) => a > b,
    [JmpOp.JGE]: (a, b) => a >= b,
    [JmpOp.JLT]: (a, b) => a < b,
    [JmpOp.JLE]: (a, b) => a <= b,
    [JmpOp.JSGT]: (_a, _b, sa, sb) => sa > sb,
    [JmpOp.JSGE]: (_a, _b, sa, sb) => sa >= sb,
    [JmpOp.JSLT]: (_a, _b, sa, sb) => sa < sb,
    [JmpOp.JSLE]: (_a, _b, sa, sb) => sa <= sb,
  };
  for (let iter = 0; iter < 150; iter++) {
    for (const [jop, f] of Object.entries(cmp)) {
      for (const is64 of [true, false]) {
        for (const x of [false, true]) {
          let a = rand64(r);
          let bReg = rand64(r);
          const imm = randImm(r);
          if (r() % 4 === 0) bReg = a; // equal operands
          if (!x && r() % 4 === 0) a = u64(BigInt(imm));
          const b = x ? bReg : u64(BigInt(imm));
          const [A, B] = is64 ? [a, b] : [a & M32, b & M32];
          const [SA, SB] = is64 ? [s64(A), s64(B)] : [s32(A), s32(B)];
          const want = f(A, B, SA, SB) ? 1n : 0n;
          const cls = is64 ? Class.JMP : Class.JMP32;
          const prog = [
            ...lddw(1, a),
            ...lddw(2, bReg),
            insn(cls | Number(jop) | (x ? Source.X : Source.K), 1, x ? 2 : 0, 2, x ? 0 : imm),
            insn(Class.ALU64 | AluOp.MOV | Source.K, 0, 0, 0, 0),
            insn(Class.JMP | JmpOp.EXIT),
            insn(Class.ALU64 | AluOp.MOV | Source.K, 0, 0, 0, 1),
            insn(Class.JMP | JmpOp.EXIT),
          ];
          assert.equal(run(prog), want, `${is64 ? 'jmp' : 'jmp32'} 0x${Number(jop).toString(16)} ${x ? 'X' : 'K'} a=0x${a.toString(16)} b=0x${b.toString(16)}`);
        }
      }
    }
  }
});
