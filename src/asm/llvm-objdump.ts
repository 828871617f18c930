/**
 * Emulation of `llvm-objdump -d` (LLVM 14, the version this project targets, default features: no alu32)
 * for BPF: given the slots of a section, produce exactly the instruction text objdump prints, including its
 * quirks — fields its decoder ignores, `<unknown>` for encodings LLVM 14 does not know (mod, sdiv/smod,
 * movsx, ldsx, bswap, st-immediate, gotol, jset-immediate, most 32-bit atomics), decimal immediates,
 * `ld_pseudo` for pseudo lddw, and `<sym+0xoff>` branch-target annotations.
 *
 * The rules were derived from LLVM 14's BPF TableGen description and checked against the installed
 * llvm-objdump by test/asm/llvm-objdump.test.ts over many random slots.
 */
import {
  AluOp,
  Class,
  JmpOp,
  LDDW,
  Mode,
  SIZES,
  Size,
  Source,
  opAlu,
  opClass,
  opJmp,
  opMode,
  opSize,
  opSource,
  type Insn,
} from '../isa/index.js';

/** Turns a branch target (slot index) into objdump's annotation, e.g. `<LBB0_3>` or `<.text+0x78>`. */
export type Symbolizer = (targetPc: number) => string | undefined;

/** Options of `formatLlvm`. */
export interface LlvmObjdumpOptions {
  /** Annotate jump targets like llvm-objdump (see `objdumpSymbolizer`). Without it no annotation is printed. */
  symbolize?: Symbolizer;
}

/** A symbol for `objdumpSymbolizer`: name and byte offset within the section. */
export interface SectionSymbol {
  name: string;
  offset: number;
}

/**
 * llvm-objdump's target annotation: the closest symbol at or before the target byte offset
 * (`<name>` when exact, `<name+0xoff>` otherwise), else `<section+0xoff>`.
 */
export function objdumpSymbolizer(sectionName: string, symbols: readonly SectionSymbol[] = []): Symbolizer {
  const sorted = [...symbols].sort((a, b) => a.offset - b.offset);
  return (targetPc) => {
    const at = targetPc * 8;
    if (at < 0) return `<${sectionName}+0x${(2n ** 64n + BigInt(at)).toString(16)}>`;
    let best: SectionSymbol | undefined;
    for (const s of sorted) if (s.offset <= at) best = s;
    if (!best) return at === 0 ? `<${sectionName}>` : `<${sectionName}+0x${at.toString(16)}>`;
    return best.offset === at ? `<${best.name}>` : `<${best.name}+0x${(at - best.offset).toString(16)}>`;
  };
}

const ALU14 = new Map<number, string>([
  [AluOp.ADD, '+='],
  [AluOp.SUB, '-='],
  [AluOp.MUL, '*='],
  [AluOp.DIV, '/='],
  [AluOp.OR, '|='],
  [AluOp.AND, '&='],
  [AluOp.LSH, '<<='],
  [AluOp.RSH, '>>='],
  [AluOp.XOR, '^='],
  [AluOp.MOV, '='],
  [AluOp.ARSH, 's>>='],
]);

/** LLVM 14 knows every conditional jump except jset... with the exceptions found by testing. */
const JMP14 = new Map<number, string>([
  [JmpOp.JEQ, '=='],
  [JmpOp.JGT, '>'],
  [JmpOp.JGE, '>='],
  [JmpOp.JNE, '!='],
  [JmpOp.JSGT, 's>'],
  [JmpOp.JSGE, 's>='],
  [JmpOp.JLT, '<'],
  [JmpOp.JLE, '<='],
  [JmpOp.JSLT, 's<'],
  [JmpOp.JSLE, 's<='],
]);

/** Atomic operation (imm bits 7-4) → [fetch name, operator]. */
const ATOMIC14 = new Map<number, [string, string]>([
  [0x00, ['add', '+=']],
  [0x40, ['or', '|=']],
  [0x50, ['and', '&=']],
  [0xa0, ['xor', '^=']],
]);

const CTYPE = new Map(SIZES.map((s) => [s.size as number, s.ctype]));

/** How many slots llvm-objdump consumes at `pc`: 2 for a decodable lddw with its second slot present. */
export function llvmObjdumpSlots(insns: readonly Insn[], pc: number): 1 | 2 {
  const i = insns[pc]!;
  return i.code === LDDW && i.off === 0 && pc + 1 < insns.length && !isFiRi(i) ? 2 : 1;
}

/**
 * `18 20 00 00 00 00 00 00` (lddw r0 with pseudo source 2 and zero imm) matches LLVM 14's internal FI_ri
 * (`lea`) pseudo-instruction: objdump then takes ONE slot and prints uninitialized operands or crashes.
 * We print just `lea` for it; no exact emulation is possible.
 */
const isFiRi = (i: Insn) => i.code === LDDW && i.dst === 0 && i.src === 2 && i.off === 0 && i.imm === 0;

/** Thrown when a register field does not name one of LLVM's r0..r11 (the decoder then fails). */
class NoReg {}
const reg = (w: boolean, n: number): string => {
  if (n > 11) throw new NoReg();
  return `${w ? 'w' : 'r'}${n}`;
};
const memText = (r: string, off: number) => (off >= 0 ? `${r} + ${off}` : `${r} - ${-off}`);

/**
 * The text llvm-objdump 14 prints for the instruction at slot `pc` (what follows the tab after `N:` with
 * `--no-show-raw-insn`), or `<unknown>`. Jumps get the symbolizer's annotation when one is given. Note that
 * without `-z` llvm-objdump prints `...` instead of runs of all-zero slots.
 */
export function formatLlvm(insns: readonly Insn[], pc: number, opts: LlvmObjdumpOptions = {}): string {
  try {
    return format14(insns, pc, opts) ?? '<unknown>';
  } catch (e) {
    if (e instanceof NoReg) return '<unknown>';
    throw e;
  }
}

function format14(insns: readonly Insn[], pc: number, opts: LlvmObjdumpOptions): string | undefined {
  const i = insns[pc]!;
  const { code, dst, src, off, imm } = i;
  const cls = opClass(code);
  const br = (rel: number) => {
    const s = opts.symbolize?.(pc + 1 + rel);
    return `${rel >= 0 ? '+' : ''}${rel}${s ? ' ' + s : ''}`;
  };
  switch (cls) {
    case Class.ALU:
    case Class.ALU64: {
      const w = cls === Class.ALU;
      const aop = opAlu(code);
      const d = reg(w, dst);
      if (aop === AluOp.NEG) return opSource(code) === Source.K ? `${d} = -${d}` : undefined;
      if (aop === AluOp.END) {
        if (w && (imm === 16 || imm === 32 || imm === 64)) {
          const r = reg(false, dst);
          return `${r} = ${opSource(code) === Source.X ? 'be' : 'le'}${imm} ${r}`;
        }
        return undefined;
      }
      const op = ALU14.get(aop);
      if (!op) return undefined;
      if (opSource(code) === Source.X) return `${d} ${op} ${reg(w, src)}`;
      return `${d} ${op} ${imm}`;
    }
    case Class.JMP:
    case Class.JMP32: {
      const w = cls === Class.JMP32;
      const jop = opJmp(code);
      if (!w) {
        if (code === (Class.JMP | JmpOp.JA)) return `goto ${br(off)}`;
        if (code === (Class.JMP | JmpOp.CALL)) return `call ${imm}`;
        if (code === (Class.JMP | JmpOp.CALL | Source.X)) {
          return imm >= 0 && imm <= 11 ? `callx ${reg(false, imm)}` : undefined;
        }
        if (code === (Class.JMP | JmpOp.EXIT)) return imm === 0 ? 'exit' : undefined;
      }
      const op = JMP14.get(jop);
      if (!op) return undefined;
      const rhs = opSource(code) === Source.X ? reg(w, src) : String(imm);
      return `if ${reg(w, dst)} ${op} ${rhs} goto ${br(off)}`;
    }
    case Class.LD: {
      const mode = opMode(code);
      const size = opSize(code);
      if (code === LDDW) {
        if (isFiRi(i)) return 'lea';
        if (off !== 0 || pc + 1 >= insns.length) return undefined;
        const lo = BigInt(imm >>> 0);
        if (src === 0) {
          const hi = BigInt(insns[pc + 1]!.imm >>> 0);
          return `${reg(false, dst)} = ${BigInt.asIntN(64, (hi << 32n) | lo)} ll`;
        }
        return `ld_pseudo\t${reg(false, dst)}, ${src}, ${imm >>> 0}`;
      }
      if (size === Size.DW) return undefined;
      if (mode === Mode.ABS) return `r0 = *(${CTYPE.get(size)} *)skb[${imm}]`;
      if (mode === Mode.IND) return `r0 = *(${CTYPE.get(size)} *)skb[${reg(false, src)}]`;
      return undefined;
    }
    case Class.LDX:
      if (opMode(code) !== Mode.MEM) return undefined;
      return `${reg(false, dst)} = *(${CTYPE.get(opSize(code))} *)(${memText(reg(false, src), off)})`;
    case Class.ST:
      return undefined;
    default: {
      const mode = opMode(code);
      const size = opSize(code);
      const ct = CTYPE.get(size)!;
      const m = memText(reg(false, dst), off);
      if (mode === Mode.MEM) return `*(${ct} *)(${m}) = ${reg(false, src)}`;
      if (mode !== Mode.ATOMIC) return undefined;
      const s = reg(false, src);
      // The decoder looks at imm bits 7-4 (operation) and, for the fetch forms, bits 3-0 == 1.
      const op = imm & 0xf0;
      const fetch = (imm & 0x0f) === 1;
      if (size === Size.W) return op === 0 ? `lock *(u32 *)(${m}) += ${s}` : undefined;
      if (size !== Size.DW) return undefined;
      const name = ATOMIC14.get(op);
      if (fetch) {
        if (op === 0xe0) return `${s} = xchg_64(${m}, ${s})`;
        if (op === 0xf0) return `r0 = cmpxchg_64(${m}, r0, ${s})`;
        return name && `${s} = atomic_fetch_${name[0]}((u64 *)(${m}), ${s})`;
      }
      return name && `lock *(u64 *)(${m}) ${name[1]} ${s}`;
      return undefined;
    }
  }
}
