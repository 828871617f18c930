/**
 * Formatters for the LLVM / kernel assembly syntax:
 * - `formatLlvmAsm`: the complete, re-assemblable LLVM syntax (spellings of LLVM's BPFInstrInfo.td,
 *   including the cpu v4 additions `s/=`, `(s8)r1`, `*(s8 *)`, `bswap16`, `gotol`), extended where LLVM
 *   has no spelling: `call pc+N` (local call), `call kernel-function#N` (kfunc), `r1 = map[id:N][0]+M`.
 * - `formatKernel`: what the kernel verifier log prints (kernel/bpf/disasm.c): `(bf) r1 = r2`,
 *   `goto pc+3`, `*(u64 *)(r10 -8) = r1`, `call bpf_map_lookup_elem#1`, `if r1 > 0x5 goto pc+3`.
 * For byte-exact llvm-objdump 14 output see `formatLlvm` in llvm-objdump.ts.
 */
import {
  AluOp,
  ALU_OPS,
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
  helperById,
  lddwValue,
  opAlu,
  opClass,
  opJmp,
  opMode,
  opSize,
  opSource,
  type Insn,
} from '../isa/index.js';
import { rawSlot } from './slots.js';

const ALU = new Map(ALU_OPS.map((a) => [a.op, a]));
const JMP = new Map(JMP_OPS.map((j) => [j.op, j.llvm]));
const SZ = new Map(SIZES.map((s) => [s.size as number, s]));
const ATOMIC_NAMES = new Map<number, string>([
  [AtomicOp.ADD, 'add'],
  [AtomicOp.OR, 'or'],
  [AtomicOp.AND, 'and'],
  [AtomicOp.XOR, 'xor'],
]);

/** Options of the LLVM-syntax formatters. */
export interface LlvmFormatOptions {
  /** Name jump/call targets: slot index → label (LLVM syntax only; the kernel style always prints pc+N). */
  labels?: ReadonlyMap<number, string>;
}

/** Options of `formatKernel`. */
export interface KernelFormatOptions {
  /** Prefix with the opcode in parentheses, `(bf) `, as the verifier log does (default true). */
  opcode?: boolean;
}

type Style = 'llvm' | 'kernel';

/** Format the instruction starting at `pc` in the complete LLVM syntax (re-assemblable). */
export function formatLlvmAsm(insns: readonly Insn[], pc: number, opts: LlvmFormatOptions = {}): string {
  return format(insns, pc, 'llvm', opts.labels);
}

/** Format the instruction starting at `pc` the way the kernel verifier log prints it. */
export function formatKernel(insns: readonly Insn[], pc: number, opts: KernelFormatOptions = {}): string {
  const text = format(insns, pc, 'kernel');
  if (opts.opcode === false || text.startsWith('.insn')) return text;
  return `(${insns[pc]!.code.toString(16).padStart(2, '0')}) ${text}`;
}

function format(insns: readonly Insn[], pc: number, style: Style, labels?: ReadonlyMap<number, string>): string {
  const i = insns[pc]!;
  if (checkInsn(insns, pc)) return `.insn ${rawSlot(i)}`;
  const k = style === 'kernel';
  const { code, dst, src, off, imm } = i;
  const cls = opClass(code);
  const mem = (reg: number, o: number) => (k ? `(r${reg} ${o >= 0 ? '+' : ''}${o})` : `(r${reg} ${o >= 0 ? '+' : '-'} ${Math.abs(o)})`);
  const target = (rel: number) => {
    const name = k ? undefined : labels?.get(pc + 1 + rel);
    return name ?? `${k ? 'pc' : ''}${rel >= 0 ? '+' : ''}${rel}`;
  };
  switch (cls) {
    case Class.ALU:
    case Class.ALU64: {
      const p = cls === Class.ALU ? 'w' : 'r';
      const aop = opAlu(code);
      if (aop === AluOp.END) {
        if (cls === Class.ALU64) return `r${dst} = bswap${imm} r${dst}`;
        return `r${dst} = ${opSource(code) === EndSource.TO_BE ? 'be' : 'le'}${imm} r${dst}`;
      }
      if (aop === AluOp.NEG) return `${p}${dst} = -${p}${dst}`;
      const info = ALU.get(aop)!;
      const op = off === 1 && info.signedLlvm ? info.signedLlvm : info.llvm;
      if (opSource(code) === Source.K) return `${p}${dst} ${op} ${imm}`;
      const cast = aop === AluOp.MOV && off !== 0 ? `(s${off})` : '';
      return `${p}${dst} ${op} ${cast}${p}${src}`;
    }
    case Class.JMP:
    case Class.JMP32: {
      const jop = opJmp(code);
      if (jop === JmpOp.JA) return cls === Class.JMP ? `goto ${target(off)}` : `gotol ${target(imm)}`;
      if (jop === JmpOp.EXIT) return 'exit';
      if (jop === JmpOp.CALL) {
        if (opSource(code) === Source.X) return `callx r${dst}`;
        if (src === PseudoCall.CALL) {
          const name = k ? undefined : labels?.get(pc + 1 + imm);
          return `call ${name ?? `pc${imm >= 0 ? '+' : ''}${imm}`}`;
        }
        if (src === PseudoCall.KFUNC) return `call kernel-function#${imm}`;
        if (!k) return `call ${imm}`;
        return `call ${helperById(imm)?.fullName ?? 'unknown'}#${imm}`;
      }
      const p = cls === Class.JMP32 ? 'w' : 'r';
      let rhs: string;
      if (opSource(code) === Source.X) rhs = `${p}${src}`;
      else rhs = k ? `0x${(imm >>> 0).toString(16)}` : String(imm);
      return `if ${p}${dst} ${JMP.get(jop)} ${rhs} goto ${target(off)}`;
    }
    case Class.LD: {
      const ct = SZ.get(opSize(code))!.ctype;
      if (code === LDDW) {
        const hi = insns[pc + 1]!.imm;
        switch (src) {
          case PseudoLd.IMM64: {
            const v = lddwValue(insns, pc);
            return k ? `r${dst} = 0x${v.toString(16)}` : `r${dst} = ${BigInt.asIntN(64, v)} ll`;
          }
          case PseudoLd.MAP_FD:
            return `r${dst} = map[id:${imm >>> 0}]`;
          case PseudoLd.MAP_VALUE:
            return `r${dst} = map[id:${imm >>> 0}][0]+${hi >>> 0}`;
          case PseudoLd.MAP_IDX:
            return `r${dst} = map[idx:${imm >>> 0}]`;
          case PseudoLd.MAP_IDX_VALUE:
            return `r${dst} = map[idx:${imm >>> 0}][0]+${hi >>> 0}`;
          default:
            return `ld_pseudo r${dst}, ${src}, ${imm >>> 0}`;
        }
      }
      if (opMode(code) === Mode.ABS) return `r0 = *(${ct} *)skb[${imm}]`;
      return !k && imm === 0 ? `r0 = *(${ct} *)skb[r${src}]` : `r0 = *(${ct} *)skb[r${src} + ${imm}]`;
    }
    case Class.LDX: {
      const s = SZ.get(opSize(code))!;
      return `r${dst} = *(${opMode(code) === Mode.MEMSX ? s.sctype : s.ctype} *)${mem(src, off)}`;
    }
    case Class.ST:
      return `*(${SZ.get(opSize(code))!.ctype} *)${mem(dst, off)} = ${imm}`;
    default: {
      const size = opSize(code);
      const ct = SZ.get(size)!.ctype;
      if (opMode(code) === Mode.MEM) return `*(${ct} *)${mem(dst, off)} = r${src}`;
      const w32 = size === Size.W;
      const p = w32 && !k ? 'w' : 'r';
      const m = mem(dst, off);
      if (imm === AtomicOp.XCHG) {
        if (k) return `r${src} = atomic${w32 ? '' : '64'}_xchg((${ct} *)${m}, r${src})`;
        return `${p}${src} = ${w32 ? 'xchg32_32' : 'xchg_64'}(${m.slice(1, -1)}, ${p}${src})`;
      }
      if (imm === AtomicOp.CMPXCHG) {
        if (k) return `r0 = atomic${w32 ? '' : '64'}_cmpxchg((${ct} *)${m}, r0, r${src})`;
        return `${p}0 = ${w32 ? 'cmpxchg32_32' : 'cmpxchg_64'}(${m.slice(1, -1)}, ${p}0, ${p}${src})`;
      }
      const name = ATOMIC_NAMES.get(imm & ~AtomicOp.FETCH)!;
      if (imm & AtomicOp.FETCH) {
        return `${p}${src} = atomic${k && !w32 ? '64' : ''}_fetch_${name}((${ct} *)${m}, ${p}${src})`;
      }
      return `lock *(${ct} *)${m} ${ALU.get(imm)!.llvm} ${p}${src}`;
    }
  }
}
