/**
 * The instruction model shared by every part of bpfkit, and its 8-byte encoding in both byte orders.
 *
 * A program is an `Insn[]` with the kernel's slot numbering: a 64-bit immediate load (`lddw`) takes two
 * slots, the second holding the upper 32 bits in its `imm` (its other fields are zero), and jump offsets
 * count slots. The verifier, interpreter, JIT, disassembler and kernel loader all read this one form.
 */
import { DecodeError } from '../errors.js';
import {
  ATOMIC_IMMS,
  AluOp,
  Class,
  JmpOp,
  LDDW,
  Mode,
  NUM_REGS,
  PseudoCall,
  PseudoLd,
  Size,
  Source,
  opAlu,
  opClass,
  opJmp,
  opMode,
  opSize,
  opSource,
} from './opcodes.js';

/** One 8-byte instruction slot. `off` is a signed 16-bit value, `imm` a signed 32-bit value. */
export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

/** Bytes per instruction slot. */
export const INSN_SIZE = 8;

/** Make an instruction, normalising `off` to s16 and `imm` to s32. */
export function insn(code: number, dst = 0, src = 0, off = 0, imm = 0): Insn {
  return { code: code & 0xff, dst: dst & 0xf, src: src & 0xf, off: (off << 16) >> 16, imm: imm | 0 };
}

/** The two slots of `lddw dst, value` (value as bigint or number), with an optional pseudo source. */
export function lddw(dst: number, value: bigint | number, src: number = PseudoLd.IMM64): [Insn, Insn] {
  const v = BigInt.asUintN(64, BigInt(value));
  const lo = Number(v & 0xffffffffn) | 0;
  const hi = Number(v >> 32n) | 0;
  return [insn(LDDW, dst, src, 0, lo), insn(0, 0, 0, 0, hi)];
}

/** The 64-bit value of the lddw starting at `pc`. */
export function lddwValue(insns: readonly Insn[], pc: number): bigint {
  const lo = BigInt(insns[pc]!.imm >>> 0);
  const hi = BigInt((insns[pc + 1]?.imm ?? 0) >>> 0);
  return (hi << 32n) | lo;
}

/** True when the instruction is the first slot of a 64-bit immediate load. */
export const isLddw = (i: Insn) => i.code === LDDW;

/** Options for decoding instruction bytes. */
export interface DecodeOptions {
  /** Byte order of the encoding (ELF objects say which). Default little-endian. */
  bigEndian?: boolean;
  /** Reject what the RFC and the kernel reject (default true). */
  validate?: boolean;
}

/** Decode one slot at byte offset `at`. */
export function decodeSlot(view: DataView, at: number, bigEndian = false): Insn {
  const code = view.getUint8(at);
  const regs = view.getUint8(at + 1);
  const dst = bigEndian ? regs >> 4 : regs & 0xf;
  const src = bigEndian ? regs & 0xf : regs >> 4;
  return { code, dst, src, off: view.getInt16(at + 2, !bigEndian), imm: view.getInt32(at + 4, !bigEndian) };
}

/** Encode one slot at byte offset `at`. */
export function encodeSlot(view: DataView, at: number, i: Insn, bigEndian = false): void {
  view.setUint8(at, i.code & 0xff);
  view.setUint8(at + 1, bigEndian ? ((i.dst & 0xf) << 4) | (i.src & 0xf) : ((i.src & 0xf) << 4) | (i.dst & 0xf));
  view.setInt16(at + 2, i.off, !bigEndian);
  view.setInt32(at + 4, i.imm, !bigEndian);
}

/** Decode a whole program. Throws `DecodeError` naming the pc and the reason. */
export function decodeProgram(bytes: Uint8Array, opts: DecodeOptions = {}): Insn[] {
  if (bytes.length % INSN_SIZE !== 0) {
    throw new DecodeError(Math.floor(bytes.length / INSN_SIZE), `program is ${bytes.length} bytes, not a multiple of 8`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const insns: Insn[] = new Array(bytes.length / INSN_SIZE);
  for (let pc = 0; pc < insns.length; pc++) insns[pc] = decodeSlot(view, pc * INSN_SIZE, opts.bigEndian);
  if (opts.validate !== false) validateProgram(insns);
  return insns;
}

/** Encode a program to bytes. */
export function encodeProgram(insns: readonly Insn[], bigEndian = false): Uint8Array {
  const out = new Uint8Array(insns.length * INSN_SIZE);
  const view = new DataView(out.buffer);
  for (let pc = 0; pc < insns.length; pc++) encodeSlot(view, pc * INSN_SIZE, insns[pc]!, bigEndian);
  return out;
}

/** Check every slot; throws `DecodeError` at the first invalid one. */
export function validateProgram(insns: readonly Insn[]): void {
  for (let pc = 0; pc < insns.length; pc++) {
    const reason = checkInsn(insns, pc);
    if (reason) throw new DecodeError(pc, reason);
    if (insns[pc]!.code === LDDW) pc++;
  }
}

/**
 * Why the instruction at `pc` is invalid, or `undefined` if it is valid. Encodes the RFC 9669 rules and
 * the kernel's reserved-field checks: unknown opcodes, registers above r10, non-zero unused fields,
 * a truncated or malformed lddw pair.
 */
export function checkInsn(insns: readonly Insn[], pc: number): string | undefined {
  const i = insns[pc]!;
  const { code, dst, src, off, imm } = i;
  if (dst >= NUM_REGS) return `invalid destination register r${dst}`;
  if (src >= NUM_REGS && !(code === LDDW || opClass(code) === Class.JMP || opClass(code) === Class.JMP32)) {
    return `invalid source register r${src}`;
  }
  const cls = opClass(code);
  switch (cls) {
    case Class.ALU:
    case Class.ALU64:
      return checkAlu(i, cls === Class.ALU64);
    case Class.JMP:
    case Class.JMP32:
      return checkJmp(i, cls === Class.JMP);
    case Class.LD: {
      const mode = opMode(code);
      if (code === LDDW) {
        if (off !== 0) return 'lddw uses reserved field off';
        if (src > PseudoLd.MAP_IDX_VALUE) return `lddw has unknown pseudo source ${src}`;
        const next = insns[pc + 1];
        if (!next) return 'lddw is missing its second slot';
        if (next.code !== 0 || next.dst !== 0 || next.src !== 0 || next.off !== 0) {
          return 'lddw second slot has non-zero reserved fields';
        }
        if ((src === PseudoLd.MAP_FD || src === PseudoLd.MAP_IDX || src === PseudoLd.BTF_ID || src === PseudoLd.FUNC) && next.imm !== 0) {
          return `lddw with pseudo source ${src} must have a zero upper immediate`;
        }
        return undefined;
      }
      if (mode === Mode.ABS || mode === Mode.IND) {
        if (opSize(code) === Size.DW) return 'legacy packet load of 8 bytes does not exist';
        if (dst !== 0 || off !== 0) return 'legacy packet load uses reserved fields';
        if (mode === Mode.ABS && src !== 0) return 'legacy packet load uses reserved field src';
        return undefined;
      }
      return `unknown opcode 0x${hex2(code)}`;
    }
    case Class.LDX: {
      const mode = opMode(code);
      if (mode !== Mode.MEM && mode !== Mode.MEMSX) return `unknown opcode 0x${hex2(code)}`;
      if (mode === Mode.MEMSX && opSize(code) === Size.DW) return `unknown opcode 0x${hex2(code)}`;
      if (imm !== 0) return 'load uses reserved field imm';
      return undefined;
    }
    case Class.ST: {
      if (opMode(code) !== Mode.MEM) return `unknown opcode 0x${hex2(code)}`;
      if (src !== 0) return 'store immediate uses reserved field src';
      return undefined;
    }
    case Class.STX: {
      const mode = opMode(code);
      if (mode === Mode.MEM) {
        if (imm !== 0) return 'store uses reserved field imm';
        return undefined;
      }
      if (mode === Mode.ATOMIC) {
        const size = opSize(code);
        if (size !== Size.W && size !== Size.DW) return 'atomic operations are 32 or 64 bits only';
        if (!ATOMIC_IMMS.includes(imm)) return `unknown atomic operation 0x${(imm >>> 0).toString(16)}`;
        return undefined;
      }
      return `unknown opcode 0x${hex2(code)}`;
    }
  }
  return `unknown opcode 0x${hex2(code)}`;
}

function checkAlu(i: Insn, is64: boolean): string | undefined {
  const { code, src, off, imm } = i;
  const aop = opAlu(code);
  const x = opSource(code) === Source.X;
  if (aop > AluOp.END) return `unknown opcode 0x${hex2(code)}`;
  if (aop === AluOp.NEG) {
    if (x) return `unknown opcode 0x${hex2(code)}`;
    if (src !== 0 || off !== 0 || imm !== 0) return 'neg uses reserved fields';
    return undefined;
  }
  if (aop === AluOp.END) {
    if (is64 && x) return `unknown opcode 0x${hex2(code)}`;
    if (src !== 0 || off !== 0) return 'byte swap uses reserved fields';
    if (imm !== 16 && imm !== 32 && imm !== 64) return `byte swap width ${imm} is not 16, 32 or 64`;
    return undefined;
  }
  // off selects signed division/modulo (1) or sign-extending moves (8, 16, 32).
  let offOk = off === 0;
  if (aop === AluOp.DIV || aop === AluOp.MOD) offOk ||= off === 1;
  if (aop === AluOp.MOV && x) offOk ||= off === 8 || off === 16 || (is64 && off === 32);
  if (!offOk) return `${aop === AluOp.MOV ? 'mov' : 'alu'} uses reserved field off (${off})`;
  if (x) {
    if (imm !== 0) return 'register-source ALU uses reserved field imm';
  } else if (src !== 0) {
    return 'immediate-source ALU uses reserved field src';
  }
  return undefined;
}

function checkJmp(i: Insn, is64: boolean): string | undefined {
  const { code, dst, src, off, imm } = i;
  const jop = opJmp(code);
  const x = opSource(code) === Source.X;
  if (jop > JmpOp.JSLE) return `unknown opcode 0x${hex2(code)}`;
  switch (jop) {
    case JmpOp.JA:
      if (x) return `unknown opcode 0x${hex2(code)}`;
      if (dst !== 0 || src !== 0) return 'ja uses reserved fields';
      if (is64 ? imm !== 0 : off !== 0) return 'ja uses reserved fields';
      return undefined;
    case JmpOp.CALL:
      if (!is64) return `unknown opcode 0x${hex2(code)}`;
      if (x) {
        // callx: target address in dst.
        if (src !== 0 || off !== 0 || imm !== 0) return 'callx uses reserved fields';
        return undefined;
      }
      if (dst !== 0 || off !== 0) return 'call uses reserved fields';
      if (src !== PseudoCall.HELPER && src !== PseudoCall.CALL && src !== PseudoCall.KFUNC) return `call has unknown source ${src}`;
      return undefined;
    case JmpOp.EXIT:
      if (!is64 || x) return `unknown opcode 0x${hex2(code)}`;
      if (dst !== 0 || src !== 0 || off !== 0 || imm !== 0) return 'exit uses reserved fields';
      return undefined;
    default:
      if (src >= NUM_REGS) return `invalid source register r${src}`;
      if (x) {
        if (imm !== 0) return 'register-source jump uses reserved field imm';
      } else if (src !== 0) {
        return 'immediate-source jump uses reserved field src';
      }
      return undefined;
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
