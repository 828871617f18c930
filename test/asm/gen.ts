/** Random generators of valid eBPF instructions (every class/op/size/mode/atomic/pseudo) for property tests. */
import {
  ALU_OPS,
  ATOMIC_OPS,
  AluOp,
  Class,
  EndSource,
  JMP_OPS,
  JmpOp,
  LDDW,
  Mode,
  PseudoCall,
  PseudoLd,
  SIZES,
  Size,
  Source,
  checkInsn,
  insn,
  type Insn,
} from '../../src/isa/index.js';

export class Gen {
  constructor(readonly rnd: () => number) {}
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  reg(): number {
    return this.int(11);
  }
  imm(): number {
    return this.pick([0, 1, -1, 7, -8, 255, 0x7fffffff, -0x80000000, this.int(2 ** 32) | 0, this.int(2000) - 1000]);
  }
  off(): number {
    return this.pick([0, 1, -1, 8, -8, 32767, -32768, this.int(65536) - 32768, this.int(64) - 32]);
  }

  /** One valid instruction (one or two slots). Jump offsets are arbitrary (not necessarily in range). */
  insn(): Insn[] {
    const kind = this.int(9);
    switch (kind) {
      case 0:
      case 1: {
        // ALU / ALU64
        const cls = this.pick([Class.ALU, Class.ALU64]);
        const a = this.pick(ALU_OPS);
        if (a.op === AluOp.NEG) return [insn(cls | AluOp.NEG, this.reg())];
        if (a.op === AluOp.END) {
          const bits = this.pick([16, 32, 64]);
          if (cls === Class.ALU64) return [insn(cls | AluOp.END, this.reg(), 0, 0, bits)];
          return [insn(cls | AluOp.END | this.pick([EndSource.TO_LE, EndSource.TO_BE]), this.reg(), 0, 0, bits)];
        }
        let off = 0;
        if (a.signedName && this.rnd() < 0.5) off = 1;
        if (this.rnd() < 0.5) {
          if (a.op === AluOp.MOV && this.rnd() < 0.5) off = this.pick(cls === Class.ALU64 ? [8, 16, 32] : [8, 16]);
          return [insn(cls | a.op | Source.X, this.reg(), this.reg(), off, 0)];
        }
        return [insn(cls | a.op | Source.K, this.reg(), 0, off, this.imm())];
      }
      case 2:
      case 3: {
        const cls = this.pick([Class.JMP, Class.JMP32]);
        const j = this.pick(JMP_OPS);
        if (j.op === JmpOp.JA) return cls === Class.JMP ? [insn(cls, 0, 0, this.off(), 0)] : [insn(cls, 0, 0, 0, this.imm())];
        if (j.op === JmpOp.EXIT || j.op === JmpOp.CALL) {
          if (j.op === JmpOp.EXIT) return [insn(Class.JMP | JmpOp.EXIT)];
          const k = this.int(4);
          if (k === 0) return [insn(Class.JMP | JmpOp.CALL | Source.X, this.reg())];
          return [insn(Class.JMP | JmpOp.CALL, 0, [PseudoCall.HELPER, PseudoCall.CALL, PseudoCall.KFUNC][k - 1], 0, k === 1 ? this.int(212) : this.imm())];
        }
        if (this.rnd() < 0.5) return [insn(cls | j.op | Source.X, this.reg(), this.reg(), this.off(), 0)];
        return [insn(cls | j.op | Source.K, this.reg(), 0, this.off(), this.imm())];
      }
      case 4: {
        const src = this.pick(Object.values(PseudoLd));
        const hi = src === PseudoLd.IMM64 || src === PseudoLd.MAP_VALUE || src === PseudoLd.MAP_IDX_VALUE ? this.imm() : 0;
        return [insn(LDDW, this.reg(), src, 0, this.imm()), insn(0, 0, 0, 0, hi)];
      }
      case 5: {
        const s = this.pick(SIZES.filter((x) => x.size !== Size.DW));
        if (this.rnd() < 0.5) return [insn(Class.LD | Mode.ABS | s.size, 0, 0, 0, this.imm())];
        return [insn(Class.LD | Mode.IND | s.size, 0, this.reg(), 0, this.imm())];
      }
      case 6: {
        const s = this.pick(SIZES);
        const mode = s.size !== Size.DW && this.rnd() < 0.4 ? Mode.MEMSX : Mode.MEM;
        return [insn(Class.LDX | mode | s.size, this.reg(), this.reg(), this.off(), 0)];
      }
      case 7: {
        const s = this.pick(SIZES);
        if (this.rnd() < 0.5) return [insn(Class.ST | Mode.MEM | s.size, this.reg(), 0, this.off(), this.imm())];
        return [insn(Class.STX | Mode.MEM | s.size, this.reg(), this.reg(), this.off(), 0)];
      }
      default: {
        const size = this.pick([Size.W, Size.DW]);
        return [insn(Class.STX | Mode.ATOMIC | size, this.reg(), this.reg(), this.off(), this.pick(ATOMIC_OPS).imm)];
      }
    }
  }

  /** A valid program of about `n` instructions. */
  program(n: number): Insn[] {
    const out: Insn[] = [];
    while (out.length < n) out.push(...this.insn());
    return out;
  }
}

/** Assert-friendly check that every slot of a generated program is valid. */
export function firstInvalid(insns: readonly Insn[]): string | undefined {
  for (let pc = 0; pc < insns.length; pc++) {
    const r = checkInsn(insns, pc);
    if (r) return `${pc}: ${r}`;
    if (insns[pc]!.code === LDDW) pc++;
  }
  return undefined;
}
