/**
 * Formatter for the uBPF / bpf_conformance syntax. Every valid instruction gets a spelling that
 * `assembleUbpf` turns back into the same bytes; invalid encodings print as `.insn 0x<u64>` (the raw slot as
 * a little-endian 64-bit word, the notation of bpf_conformance `-- raw` sections), which also re-assembles.
 */
import {
  ALU_OPS,
  AluOp,
  ATOMIC_OPS,
  AtomicOp,
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
  lddwValue,
  opAlu,
  opClass,
  opJmp,
  opMode,
  opSize,
  opSource,
  type Insn,
} from '../isa/index.js';
import { signedOffset } from './numbers.js';
import { PSEUDO_LD_NAME, pseudoHasOffset } from './pseudo.js';
import { rawSlot } from './slots.js';

const ALU_NAME = new Map(ALU_OPS.map((a) => [a.op, a]));
const JMP_NAME = new Map(JMP_OPS.map((j) => [j.op, j.name]));
const SIZE_SUFFIX = new Map(SIZES.map((s) => [s.size as number, s.suffix]));
const ATOMIC_NAME = new Map(ATOMIC_OPS.map((a) => [a.imm, a.name]));

/** Options for per-slot formatting. */
export interface UbpfFormatOptions {
  /** Name jump/call targets: slot index → label. Targets without a name print as `+N`/`-N`. */
  labels?: ReadonlyMap<number, string>;
}

const r = (n: number) => `%r${n}`;
const memOp = (reg: number, off: number) => (off === 0 ? `[%r${reg}]` : `[%r${reg}${off > 0 ? '+' : ''}${off}]`);

/**
 * Format the instruction starting at slot `pc` (uBPF syntax); a valid lddw covers `pc` and `pc + 1`
 * (see `insnSlots`). Invalid instructions format as `.insn 0x...`.
 */
export function formatUbpf(insns: readonly Insn[], pc: number, opts: UbpfFormatOptions = {}): string {
  const i = insns[pc]!;
  if (checkInsn(insns, pc)) return `.insn ${rawSlot(i)}`;
  const target = (rel: number) => opts.labels?.get(pc + 1 + rel) ?? signedOffset(rel);
  const { code, dst, src, off, imm } = i;
  const cls = opClass(code);
  switch (cls) {
    case Class.ALU:
    case Class.ALU64: {
      const sfx = cls === Class.ALU ? '32' : '';
      const aop = opAlu(code);
      if (aop === AluOp.END) {
        if (cls === Class.ALU64) return `bswap${imm} ${r(dst)}`;
        return `${opSource(code) === EndSource.TO_BE ? 'be' : 'le'}${imm} ${r(dst)}`;
      }
      if (aop === AluOp.NEG) return `neg${sfx} ${r(dst)}`;
      if (aop === AluOp.MOV && off !== 0) return `movsx${off}${cls === Class.ALU ? '32' : '64'} ${r(dst)}, ${r(src)}`;
      const info = ALU_NAME.get(aop)!;
      const name = off === 1 && info.signedName ? info.signedName : info.name;
      return `${name}${sfx} ${r(dst)}, ${opSource(code) === Source.X ? r(src) : imm}`;
    }
    case Class.JMP:
    case Class.JMP32: {
      const jop = opJmp(code);
      if (jop === JmpOp.JA) return cls === Class.JMP ? `ja ${target(off)}` : `ja32 ${target(imm)}`;
      if (jop === JmpOp.EXIT) return 'exit';
      if (jop === JmpOp.CALL) {
        if (opSource(code) === Source.X) return `callx ${r(dst)}`;
        if (src === PseudoCall.CALL) return `call local ${target(imm)}`;
        if (src === PseudoCall.KFUNC) return `call runtime ${imm}`;
        return `call ${imm}`;
      }
      const sfx = cls === Class.JMP32 ? '32' : '';
      const rhs = opSource(code) === Source.X ? r(src) : String(imm);
      return `${JMP_NAME.get(jop)}${sfx} ${r(dst)}, ${rhs}, ${target(off)}`;
    }
    case Class.LD: {
      const sz = SIZE_SUFFIX.get(opSize(code))!;
      if (code === LDDW) {
        if (src === PseudoLd.IMM64) return `lddw ${r(dst)}, 0x${lddwValue(insns, pc).toString(16)}`;
        const name = PSEUDO_LD_NAME.get(src)!;
        const hi = insns[pc + 1]!.imm;
        return `lddw ${r(dst)}, ${name}(${imm}${pseudoHasOffset(src) ? `, ${hi}` : ''})`;
      }
      if (opMode(code) === Mode.ABS) return `ldabs${sz} ${imm}`;
      return `ldind${sz} ${r(src)}, ${imm}`;
    }
    case Class.LDX: {
      const sz = SIZE_SUFFIX.get(opSize(code))!;
      return `ldx${opMode(code) === Mode.MEMSX ? 's' : ''}${sz} ${r(dst)}, ${memOp(src, off)}`;
    }
    case Class.ST:
      return `st${SIZE_SUFFIX.get(opSize(code))} ${memOp(dst, off)}, ${imm}`;
    default: {
      // STX
      if (opMode(code) === Mode.ATOMIC) {
        const w = opSize(code) === Size.W ? '32' : '';
        const name = ATOMIC_NAME.get(imm)!;
        const spelled = imm === AtomicOp.XCHG || imm === AtomicOp.CMPXCHG ? name : name.replace('fetch_', 'fetch ');
        return `lock ${spelled}${w} ${memOp(dst, off)}, ${r(src)}`;
      }
      return `stx${SIZE_SUFFIX.get(opSize(code))} ${memOp(dst, off)}, ${r(src)}`;
    }
  }
}
