/**
 * Classic BPF to eBPF, with the semantics of the kernel's bpf_convert_filter (net/core/filter.c): A in r0,
 * X in r7, the context kept in r6, M[k] at fp-(16-k)*4, A and X zeroed first, packet loads as the eBPF
 * legacy LD_ABS/LD_IND instructions (an out-of-range load ends the program with 0), `div x`/`mod x` by zero
 * returning 0, unsigned compares against constants with bit 31 set done through a scratch register, and a
 * conditional jump becoming one eBPF jump (inverted when only the false branch moves) or a jump plus `ja`.
 *
 * The output is loadable as a BPF_PROG_TYPE_SOCKET_FILTER: where the kernel reads `struct sk_buff` fields
 * directly (something only the kernel itself may do), the translation reads the UAPI `struct __sk_buff`
 * instead and calls the public helpers for `cpu` and `rand`. Ancillary loads with no UAPI equivalent
 * (hatype, nla, nlan, poff) are refused with CbpfError. The scratch register for `ldx 4*([k]&0xf)` is r8
 * (the kernel's r2 would be clobbered by LD_ABS in this UAPI form).
 */
import { CbpfError } from '../errors.js';
import { type Insn, insn } from '../isa/insn.js';
import { AluOp, Class, EndSource, JmpOp, Mode, Size, Source } from '../isa/opcodes.js';
import { SK_BUFF as SK_BUFF_LAYOUT, fieldNamed } from '../isa/contexts.js';
import { HelperId } from '../isa/helpers.js';
import { type SockFilter, isAncillary } from './insn.js';
import { CClass, CMode, MiscOp, Rval, SKF_AD_OFF, SkfAd, cls, mode, op, rval, size, src } from './opcodes.js';

const R0 = 0;
const R1 = 1;
const A = 0;
const X = 7;
const CTX = 6;
const TMP = 8;
const FP = 10;

/** The `struct __sk_buff` fields ancillary loads and `len` read, with their offsets from the one layout table. */
const SKB_FIELDS = ['len', 'pkt_type', 'mark', 'queue_mapping', 'protocol', 'vlan_present', 'vlan_tci', 'vlan_proto', 'ifindex', 'hash'] as const;
/** Offsets in the UAPI `struct __sk_buff` (src/isa/contexts.ts) of the fields the translation reads. */
export const SK_BUFF = Object.fromEntries(SKB_FIELDS.map((n) => [n, fieldNamed(SK_BUFF_LAYOUT, n)!.offset])) as Readonly<
  Record<(typeof SKB_FIELDS)[number], number>
>;
/** Size of `struct __sk_buff` to give a context region in a userspace run. */
export const SK_BUFF_SIZE = SK_BUFF_LAYOUT.size;

const HELPER_GET_PRANDOM_U32 = HelperId.get_prandom_u32;
const HELPER_GET_SMP_PROCESSOR_ID = HelperId.get_smp_processor_id;

const alu32 = (aop: number, s: number, dst: number, srcReg = 0, imm = 0) => insn(Class.ALU | aop | s, dst, srcReg, 0, imm);
const mov64 = (dst: number, srcReg: number) => insn(Class.ALU64 | AluOp.MOV | Source.X, dst, srcReg);
const ldxw = (dst: number, srcReg: number, off: number) => insn(Class.LDX | Mode.MEM | Size.W, dst, srcReg, off);
const stxw = (dst: number, srcReg: number, off: number) => insn(Class.STX | Mode.MEM | Size.W, dst, srcReg, off);
const exit = () => insn(Class.JMP | JmpOp.EXIT);
const call = (id: number) => insn(Class.JMP | JmpOp.CALL, 0, 0, 0, id);

/** One classic instruction's eBPF, with jumps left symbolic (classic target pcs). */
interface Piece {
  insns: Insn[];
  /** For each jump insn in `insns`: index within insns and the classic target pc. */
  jumps: { at: number; target: number }[];
}

function ancillary(k: number, pc: number): Insn[] {
  const sel = (k | 0) - SKF_AD_OFF;
  const field = (off: number) => [ldxw(A, CTX, off)];
  switch (sel) {
    case SkfAd.PROTOCOL:
      return [ldxw(A, CTX, SK_BUFF.protocol), insn(Class.ALU | AluOp.END | EndSource.TO_BE, A, 0, 0, 16)];
    case SkfAd.PKTTYPE:
      return field(SK_BUFF.pkt_type);
    case SkfAd.IFINDEX:
      return field(SK_BUFF.ifindex);
    case SkfAd.MARK:
      return field(SK_BUFF.mark);
    case SkfAd.QUEUE:
      return field(SK_BUFF.queue_mapping);
    case SkfAd.RXHASH:
      return field(SK_BUFF.hash);
    case SkfAd.VLAN_TAG:
      return field(SK_BUFF.vlan_tci);
    case SkfAd.VLAN_TAG_PRESENT:
      return field(SK_BUFF.vlan_present);
    case SkfAd.VLAN_TPID:
      return [ldxw(A, CTX, SK_BUFF.vlan_proto), insn(Class.ALU | AluOp.END | EndSource.TO_BE, A, 0, 0, 16)];
    case SkfAd.CPU:
      return [call(HELPER_GET_SMP_PROCESSOR_ID)];
    case SkfAd.RANDOM:
      return [call(HELPER_GET_PRANDOM_U32)];
    case SkfAd.ALU_XOR_X:
      return [alu32(AluOp.XOR, Source.X, A, X)];
  }
  throw new CbpfError(`insn ${pc}: ancillary load ${sel} has no UAPI eBPF equivalent (hatype, nla, nlan and poff are kernel-internal)`);
}

function translateOne(i: SockFilter, pc: number): Piece {
  const c = i.code;
  const k = i.k | 0;
  const one = (...insns: Insn[]): Piece => ({ insns, jumps: [] });
  switch (cls(c)) {
    case CClass.LD:
      switch (mode(c)) {
        case Mode.ABS:
          if (isAncillary(i.k)) return one(...ancillary(i.k, pc));
          return one(insn(Class.LD | Mode.ABS | size(c), 0, 0, 0, k));
        case Mode.IND:
          return one(insn(Class.LD | Mode.IND | size(c), 0, X, 0, k));
        case Mode.IMM:
          return one(alu32(AluOp.MOV, Source.K, A, 0, k));
        case Mode.MEM:
          return one(ldxw(A, FP, -(16 - i.k) * 4));
        case CMode.LEN:
          return one(ldxw(A, CTX, SK_BUFF.len));
      }
      break;
    case CClass.LDX:
      switch (mode(c)) {
        case Mode.IMM:
          return one(alu32(AluOp.MOV, Source.K, X, 0, k));
        case Mode.MEM:
          return one(ldxw(X, FP, -(16 - i.k) * 4));
        case CMode.LEN:
          return one(ldxw(X, CTX, SK_BUFF.len));
        case CMode.MSH:
          return one(
            mov64(TMP, A),
            insn(Class.LD | Mode.ABS | Size.B, 0, 0, 0, k),
            alu32(AluOp.AND, Source.K, A, 0, 0xf),
            alu32(AluOp.LSH, Source.K, A, 0, 2),
            alu32(AluOp.MOV, Source.X, X, A),
            mov64(A, TMP),
          );
      }
      break;
    case CClass.ST:
      return one(stxw(FP, A, -(16 - i.k) * 4));
    case CClass.STX:
      return one(stxw(FP, X, -(16 - i.k) * 4));
    case CClass.MISC:
      if (c === (CClass.MISC | MiscOp.TAX)) return one(alu32(AluOp.MOV, Source.X, X, A));
      if (c === (CClass.MISC | MiscOp.TXA)) return one(alu32(AluOp.MOV, Source.X, A, X));
      break;
    case CClass.RET:
      if (rval(c) === Rval.K) return one(alu32(AluOp.MOV, Source.K, R0, 0, k), exit());
      if (rval(c) === Rval.A) return one(exit());
      if (rval(c) === Rval.X) return one(alu32(AluOp.MOV, Source.X, R0, X), exit());
      break;
    case CClass.ALU: {
      const aop = op(c);
      if (aop === AluOp.NEG) return one(alu32(AluOp.NEG, Source.K, A));
      if (src(c)) {
        const guard =
          aop === AluOp.DIV || aop === AluOp.MOD
            ? [insn(Class.JMP | JmpOp.JNE | Source.K, X, 0, 2, 0), alu32(AluOp.XOR, Source.X, A, A), exit()]
            : [];
        return one(...guard, alu32(aop, Source.X, A, X));
      }
      return one(alu32(aop, Source.K, A, 0, k));
    }
    case CClass.JMP: {
      const jop = op(c);
      if (jop === JmpOp.JA) return { insns: [insn(Class.JMP | JmpOp.JA)], jumps: [{ at: 0, target: pc + 1 + i.k }] };
      const pre: Insn[] = [];
      let code = Class.JMP | jop | (src(c) ? Source.X : Source.K);
      let srcReg = src(c) ? X : 0;
      let imm = 0;
      if (!src(c)) {
        if (k < 0) {
          // eBPF sign-extends immediates; compare against the zero-extended constant in a register.
          pre.push(alu32(AluOp.MOV, Source.K, TMP, 0, k));
          code = Class.JMP | jop | Source.X;
          srcReg = TMP;
        } else imm = k;
      }
      const tTrue = pc + 1 + i.jt;
      const tFalse = pc + 1 + i.jf;
      const inverse: Record<number, number> = { [JmpOp.JEQ]: JmpOp.JNE, [JmpOp.JGT]: JmpOp.JLE, [JmpOp.JGE]: JmpOp.JLT };
      if (i.jf === 0) {
        return { insns: [...pre, insn(code, A, srcReg, 0, imm)], jumps: [{ at: pre.length, target: tTrue }] };
      }
      if (i.jt === 0 && inverse[jop] !== undefined) {
        const inv = (code & ~0xf0) | inverse[jop]!;
        return { insns: [...pre, insn(inv, A, srcReg, 0, imm)], jumps: [{ at: pre.length, target: tFalse }] };
      }
      return {
        insns: [...pre, insn(code, A, srcReg, 0, imm), insn(Class.JMP | JmpOp.JA)],
        jumps: [
          { at: pre.length, target: tTrue },
          { at: pre.length + 1, target: tFalse },
        ],
      };
    }
  }
  throw new CbpfError(`insn ${pc}: unknown opcode 0x${c.toString(16)}`);
}

/**
 * Translate a (valid) classic program into eBPF. The result expects r1 = the context (`struct __sk_buff`
 * for a socket filter) and returns A's final value or the `ret` constant in r0.
 */
export function classicToEbpf(prog: readonly SockFilter[]): Insn[] {
  const pieces = prog.map((i, pc) => translateOne(i, pc));
  // The kernel zeroes A and X with `xor`; a user-loaded program must not read uninitialised registers, so `mov`.
  const prologue = [alu32(AluOp.MOV, Source.K, A, 0, 0), alu32(AluOp.MOV, Source.K, X, 0, 0), mov64(CTX, R1)];
  const start: number[] = [];
  let at = prologue.length;
  for (const p of pieces) {
    start.push(at);
    at += p.insns.length;
  }
  start.push(at);
  const out: Insn[] = [...prologue];
  pieces.forEach((p) => {
    const base = out.length;
    const body = p.insns.map((x) => ({ ...x }));
    for (const j of p.jumps) {
      const target = start[j.target];
      if (target === undefined) throw new CbpfError(`jump to ${j.target} is past the end of the program`);
      const off = target - (base + j.at) - 1;
      if (off > 32767) throw new CbpfError('translated program has a jump too far for eBPF');
      body[j.at] = insn(body[j.at]!.code, body[j.at]!.dst, body[j.at]!.src, off, body[j.at]!.imm);
    }
    out.push(...body);
  });
  return out;
}
