/**
 * Random valid eBPF programs for the JIT's differential tests (the shape of test/vm/fuzz.test.ts's generator,
 * extended): every ALU/JMP/JMP32 op, loads and stores of every size on the stack and on an input region through
 * r1, atomics, lddw, bpf-to-bpf calls, helper calls, callx, random jumps (loops, irreducible flow, jumps across
 * functions) — so runs end normally or with every kind of fault, budget included.
 */
import { helperByName } from '../../src/isa/helpers.js';
import { insn, lddw, type Insn } from '../../src/isa/insn.js';
import { ALU_OPS, ATOMIC_IMMS, AluOp, Class, JMP_OPS, JmpOp, Mode, PseudoCall, SIZES, Size, Source } from '../../src/isa/opcodes.js';

/** xorshift32 PRNG: `r(n)` is an integer in [0, n). */
export function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

export const PRANDOM = helperByName('get_prandom_u32')!.id;

type Unit = { insns: Insn[]; jump?: 'off' | 'imm' | 'call'; target?: number };

/** A random valid program of `n` units (plus a final exit); jump and call targets are random units. */
export function randomProgram(r: (n: number) => number, n: number): Insn[] {
  const reg = () => r(10);
  const anyReg = () => r(11);
  const imm = () => [0, 1, -1, 7, 8, 16, 32, 63, 64, 0x7fffffff, -0x80000000, r(1 << 30) - (1 << 29), -2, 3][r(14)]!;
  const base = () => [10, 10, 1, 1, anyReg()][r(5)]!;
  const memOff = (b: number) => (b === 10 ? -8 * (1 + r(66)) + r(8) : r(48) - 4);
  const units: Unit[] = [];
  for (let u = 0; u < n; u++) {
    const k = r(21);
    if (k < 6) {
      const info = ALU_OPS[r(ALU_OPS.length)]!;
      const is64 = r(2) === 1;
      const cls = is64 ? Class.ALU64 : Class.ALU;
      if (info.op === AluOp.END) {
        const code = r(3) === 0 ? Class.ALU64 | AluOp.END : cls === Class.ALU ? Class.ALU | AluOp.END | (r(2) ? Source.X : 0) : Class.ALU64 | AluOp.END;
        units.push({ insns: [insn(code, reg(), 0, 0, [16, 32, 64][r(3)]!)] });
      } else if (info.op === AluOp.NEG) {
        units.push({ insns: [insn(cls | AluOp.NEG, reg())] });
      } else {
        const x = r(2) === 1;
        let off = 0;
        if ((info.op === AluOp.DIV || info.op === AluOp.MOD) && r(2)) off = 1;
        if (info.op === AluOp.MOV && x && r(2)) off = is64 ? [8, 16, 32][r(3)]! : [8, 16][r(2)]!;
        units.push({ insns: [insn(cls | info.op | (x ? Source.X : Source.K), reg(), x ? anyReg() : 0, off, x ? 0 : imm())] });
      }
    } else if (k < 9) {
      const j = JMP_OPS.filter((o) => o.conditional)[r(11)]!;
      const x = r(2) === 1;
      const cls = r(2) ? Class.JMP : Class.JMP32;
      units.push({ insns: [insn(cls | j.op | (x ? Source.X : Source.K), anyReg(), x ? anyReg() : 0, 0, x ? 0 : imm())], jump: 'off', target: r(n) });
    } else if (k === 9) {
      units.push(r(2) ? { insns: [insn(Class.JMP | JmpOp.JA)], jump: 'off', target: r(n) } : { insns: [insn(Class.JMP32 | JmpOp.JA)], jump: 'imm', target: r(n) });
    } else if (k < 12) {
      const s = SIZES[r(4)]!;
      const sx = s.size !== Size.DW && r(3) === 0;
      const b = base();
      units.push({ insns: [insn(Class.LDX | (sx ? Mode.MEMSX : Mode.MEM) | s.size, reg(), b, memOff(b))] });
    } else if (k < 14) {
      const s = SIZES[r(4)]!;
      const b = base();
      units.push({ insns: [r(2) ? insn(Class.STX | Mode.MEM | s.size, b, anyReg(), memOff(b)) : insn(Class.ST | Mode.MEM | s.size, b, 0, memOff(b), imm())] });
    } else if (k === 14) {
      const b = base();
      const op = ATOMIC_IMMS[r(ATOMIC_IMMS.length)]!;
      units.push({ insns: [insn(Class.STX | Mode.ATOMIC | (r(2) ? Size.W : Size.DW), b, reg(), memOff(b) & ~3, op)] });
    } else if (k === 15) {
      units.push({ insns: lddw(reg(), (BigInt(r(1 << 30)) << 34n) ^ BigInt(imm())) });
    } else if (k === 16) {
      units.push({ insns: [insn(Class.JMP | JmpOp.CALL, 0, PseudoCall.CALL, 0, 0)], jump: 'call', target: r(n) });
    } else if (k === 17) {
      units.push({ insns: [insn(Class.JMP | JmpOp.CALL, 0, PseudoCall.HELPER, 0, PRANDOM)] });
    } else if (k === 18) {
      units.push({ insns: [insn(Class.JMP | JmpOp.CALL | Source.X, reg())] });
    } else if (k === 19) {
      // A small in-range value in a register (callx targets, shift counts, divisors, offsets).
      units.push({ insns: [insn(Class.ALU64 | AluOp.MOV | Source.K, reg(), 0, 0, r(2) ? r(n) : [-1, 0, 1, 2][r(4)]!)] });
    } else {
      units.push({ insns: [insn(Class.JMP | JmpOp.EXIT)] });
    }
  }
  units.push({ insns: [insn(Class.JMP | JmpOp.EXIT)] });
  const start: number[] = [];
  let slot = 0;
  for (const u of units) {
    start.push(slot);
    slot += u.insns.length;
  }
  const out: Insn[] = [];
  units.forEach((u, i) => {
    if (u.jump) {
      const delta = start[u.target!]! - (start[i]! + 1);
      const j = u.insns[0]!;
      u.insns[0] = u.jump === 'off' ? { ...j, off: delta } : { ...j, imm: delta };
    }
    out.push(...u.insns);
  });
  return out;
}
