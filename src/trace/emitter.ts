/** A tiny eBPF instruction emitter with forward labels and map references, used by the trace codegen. */
import { AluOp, Class, JmpOp, LDDW, Mode, PseudoLd, Size, Source, insn, lddw, type Insn } from '../isa/index.js';
import type { InsnReference } from '../spec/program.js';

export const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R7 = 7, R8 = 8, R9 = 9, FP = 10;

const SIZE_OF: Record<number, number> = { 1: Size.B, 2: Size.H, 4: Size.W, 8: Size.DW };

export class Emitter {
  readonly insns: Insn[] = [];
  readonly refs: InsnReference[] = [];
  private readonly labels: number[] = [];
  private readonly fixups: { pc: number; label: number; imm?: boolean }[] = [];

  label(): number {
    this.labels.push(-1);
    return this.labels.length - 1;
  }
  /** Whether the last instruction is an unconditional jump (what follows is reachable only through a label). */
  endsWithJump(): boolean {
    const last = this.insns[this.insns.length - 1];
    return !!last && last.code === (Class.JMP | JmpOp.JA);
  }
  /** Whether any jump so far targets label `l`. */
  used(l: number): boolean {
    return this.fixups.some((f) => f.label === l);
  }
  bind(l: number): void {
    this.labels[l] = this.insns.length;
  }

  /** `dst = imm` (lddw when it does not fit a sign-extended 32-bit immediate). */
  movImm(dst: number, v: bigint | number): void {
    const b = BigInt.asIntN(64, BigInt(v));
    if (b >= -0x80000000n && b <= 0x7fffffffn) this.insns.push(insn(Class.ALU64 | AluOp.MOV | Source.K, dst, 0, 0, Number(b)));
    else this.insns.push(...lddw(dst, b));
  }
  mov(dst: number, src: number): void {
    this.insns.push(insn(Class.ALU64 | AluOp.MOV | Source.X, dst, src));
  }
  /** `wdst = wdst` — zero the upper 32 bits. */
  zext32(dst: number): void {
    this.insns.push(insn(Class.ALU | AluOp.MOV | Source.X, dst, dst));
  }
  alu(op: number, dst: number, src: number, off = 0): void {
    this.insns.push(insn(Class.ALU64 | op | Source.X, dst, src, off));
  }
  aluImm(op: number, dst: number, imm: number, off = 0): void {
    this.insns.push(insn(Class.ALU64 | op | Source.K, dst, 0, off, imm));
  }
  neg(dst: number): void {
    this.insns.push(insn(Class.ALU64 | AluOp.NEG | Source.K, dst));
  }
  ldx(bytes: number, dst: number, src: number, off: number): void {
    this.insns.push(insn(Class.LDX | Mode.MEM | SIZE_OF[bytes]!, dst, src, off));
  }
  stx(bytes: number, dst: number, off: number, src: number): void {
    this.insns.push(insn(Class.STX | Mode.MEM | SIZE_OF[bytes]!, dst, src, off));
  }
  st(bytes: number, dst: number, off: number, imm: number): void {
    this.insns.push(insn(Class.ST | Mode.MEM | SIZE_OF[bytes]!, dst, 0, off, imm));
  }
  /** `dst = fp + off`. */
  fpAddr(dst: number, off: number): void {
    this.mov(dst, FP);
    this.aluImm(AluOp.ADD, dst, off);
  }
  /** Conditional jump on a register. */
  jmp(op: number, dst: number, src: number, l: number): void {
    this.fixups.push({ pc: this.insns.length, label: l });
    this.insns.push(insn(Class.JMP | op | Source.X, dst, src));
  }
  jmpImm(op: number, dst: number, imm: number, l: number): void {
    this.fixups.push({ pc: this.insns.length, label: l });
    this.insns.push(insn(Class.JMP | op | Source.K, dst, 0, 0, imm));
  }
  ja(l: number): void {
    this.fixups.push({ pc: this.insns.length, label: l });
    this.insns.push(insn(Class.JMP | JmpOp.JA));
  }
  call(helper: number): void {
    this.insns.push(insn(Class.JMP | JmpOp.CALL, 0, 0, 0, helper));
  }
  /** `dst = map` (a reference the loader resolves to the map's fd). */
  ldMap(dst: number, map: string): void {
    this.refs.push({ kind: 'map', pc: this.insns.length, map, value: false });
    this.insns.push(...lddw(dst, 0, PseudoLd.MAP_FD));
  }
  /** `dst = &subprogram at label` (ld_imm64 BPF_PSEUDO_FUNC, for callbacks such as for_each_map_elem's). */
  ldFunc(dst: number, l: number): void {
    this.fixups.push({ pc: this.insns.length, label: l, imm: true });
    this.insns.push(...lddw(dst, 0, PseudoLd.FUNC));
  }
  exit(): void {
    this.insns.push(insn(Class.JMP | JmpOp.EXIT));
  }

  /** Resolve labels; returns the instructions. */
  finish(): Insn[] {
    for (const { pc, label, imm } of this.fixups) {
      const target = this.labels[label]!;
      if (target < 0) throw new Error(`trace codegen: unbound label ${label}`);
      this.insns[pc] = imm ? { ...this.insns[pc]!, imm: target - pc - 1 } : { ...this.insns[pc]!, off: target - pc - 1 };
    }
    return this.insns;
  }
}

export { LDDW };
