/**
 * ALU instructions: scalar arithmetic through the bounds module, and the kernel's pointer arithmetic rules
 * (only pointer ± bounded scalar on pointers that allow it, pointer − pointer gives a scalar, no 32-bit or bitwise
 * arithmetic on pointers, no arithmetic on possibly-NULL pointers, R10 read-only).
 */
import type { Insn } from '../isa/insn.js';
import { AluOp, Class, EndSource, Source, opAlu, opClass, opSource } from '../isa/opcodes.js';
import { S64_MIN, UNKNOWN, alu, byteSwap, constOf, sconst, sext, zext32, type AluKind } from './bounds.js';
import { reject, type Env } from './env.js';
import { describeReg, kernelType } from './messages.js';
import { SCALAR_UNKNOWN, curFrame, isPointer, scalarReg, type Reg, type VState } from './state.js';

const KIND: Record<number, AluKind> = {
  [AluOp.ADD]: 'add',
  [AluOp.SUB]: 'sub',
  [AluOp.MUL]: 'mul',
  [AluOp.DIV]: 'div',
  [AluOp.OR]: 'or',
  [AluOp.AND]: 'and',
  [AluOp.LSH]: 'lsh',
  [AluOp.RSH]: 'rsh',
  [AluOp.MOD]: 'mod',
  [AluOp.XOR]: 'xor',
  [AluOp.ARSH]: 'arsh',
};

const OPNAME: Record<number, string> = { [AluOp.MUL]: '*=', [AluOp.DIV]: '/=', [AluOp.OR]: '|=', [AluOp.AND]: '&=', [AluOp.LSH]: '<<=', [AluOp.RSH]: '>>=', [AluOp.MOD]: '%=', [AluOp.XOR]: '^=', [AluOp.ARSH]: 's>>=', [AluOp.NEG]: 'neg', [AluOp.END]: 'byte swap' };

/** Largest variable offset the kernel allows on a pointer (BPF_MAX_VAR_OFF). */
const MAX_VAR_OFF = 1n << 29n;

/** Read a source register: it must have been written. */
export function readReg(env: Env, st: VState, pc: number, r: number): Reg {
  const reg = curFrame(st).regs[r]!;
  if (reg.type === 'not_init') {
    reject(pc, `r${r} is read before anything was written to it (uninitialised register)`, `R${r} !read_ok`);
  }
  void env;
  return reg;
}

/** Pointer types that allow adding a scalar. */
const ARITH_OK = new Set(['ctx', 'stack', 'map_value', 'map_key', 'pkt', 'pkt_meta', 'mem', 'flow_keys']);

function ptrArith(env: Env, pc: number, dstNo: number, ptr: Reg, off: Reg, sub: boolean, ptrIsDst: boolean): Reg {
  if (!ptrIsDst && sub) reject(pc, `r${dstNo} -= pointer: subtracting a pointer from a scalar is not allowed`, `R${dstNo} tried to subtract pointer from scalar`);
  if (ptr.maybeNull) {
    reject(pc, `pointer arithmetic on r${ptrIsDst ? dstNo : '?'} which may be NULL (${describeReg(ptr)}): check it against 0 first`, `R${dstNo} pointer arithmetic on ${kernelType(ptr)} prohibited, null-check it first`);
  }
  if (!ARITH_OK.has(ptr.type)) {
    reject(pc, `arithmetic on ${describeReg(ptr)} is not allowed`, `R${dstNo} pointer arithmetic on ${kernelType(ptr)} prohibited`);
  }
  const k = constOf(off.s);
  if (k !== undefined) {
    const v = BigInt.asIntN(64, k);
    if (v >= MAX_VAR_OFF || v <= -MAX_VAR_OFF) reject(pc, `adding ${v} to ${describeReg(ptr)} moves it absurdly far`, `math between ${kernelType(ptr)} pointer and ${v} is not allowed`);
    const fixed = ptr.off + Number(sub ? -v : v);
    if (fixed >= Number(MAX_VAR_OFF) || fixed <= -Number(MAX_VAR_OFF)) reject(pc, `pointer offset ${fixed} is out of range`, `${kernelType(ptr)} pointer offset ${fixed} is not allowed`);
    return { ...ptr, off: fixed };
  }
  if (off.s.smin === S64_MIN) {
    reject(
      pc,
      `r${dstNo}: adding a register with no lower bound (${describeReg(off)}) to ${describeReg(ptr)}: bound it first (if (x > N) ... or x &= mask)`,
      `math between ${kernelType(ptr)} pointer and register with unbounded min value is not allowed`,
    );
  }
  if (off.s.smin >= MAX_VAR_OFF || off.s.smin <= -MAX_VAR_OFF || off.s.smax >= MAX_VAR_OFF) {
    reject(pc, `r${dstNo}: the offset added to ${describeReg(ptr)} can be as large as ${off.s.smax}`, `value ${off.s.smin} makes ${kernelType(ptr)} pointer be out of bounds`);
  }
  const s = alu(sub ? 'sub' : 'add', ptr.s, off.s, 64);
  const out: Reg = { ...ptr, s };
  if (ptr.type === 'pkt' || ptr.type === 'pkt_meta') return { ...out, id: env.nextId(), range: 0 };
  return out;
}

/** Check and apply an ALU / ALU64 instruction. */
export function checkAlu(env: Env, st: VState, pc: number, i: Insn): void {
  const regs = curFrame(st).regs;
  const is64 = opClass(i.code) === Class.ALU64;
  const op = opAlu(i.code);
  const x = opSource(i.code) === Source.X;
  if (i.dst === 10) reject(pc, 'r10 (the frame pointer) is read-only', 'frame pointer is read only');

  if (op === AluOp.MOV) {
    if (!x) {
      regs[i.dst] = scalarReg(is64 ? sconst(i.imm) : sconst(i.imm >>> 0));
      return;
    }
    const src = readReg(env, st, pc, i.src);
    if (i.off !== 0) {
      // movsx: sign-extend 8/16/32 bits.
      if (isPointer(src)) {
        if (!env.privileged) reject(pc, `sign-extending move of pointer r${i.src}`, `R${i.src} sign-extension part of pointer`);
        regs[i.dst] = is64 ? SCALAR_UNKNOWN : scalarReg(zext32(UNKNOWN));
        return;
      }
      const v = sext(src.s, i.off as 8 | 16 | 32);
      regs[i.dst] = scalarReg(is64 ? v : zext32(v));
      return;
    }
    if (is64) {
      if (src.type === 'scalar' && constOf(src.s) === undefined) {
        // Link the copies so a later comparison of one narrows the other (the kernel's scalar ids).
        const linked = src.id !== undefined ? src : { ...src, id: env.nextId() };
        regs[i.src] = linked;
        regs[i.dst] = linked;
        return;
      }
      regs[i.dst] = src;
      return;
    }
    if (isPointer(src)) {
      if (!env.privileged) reject(pc, `w${i.dst} = w${i.src} copies half of a pointer`, `R${i.src} partial copy of pointer`);
      regs[i.dst] = scalarReg(zext32(UNKNOWN));
      return;
    }
    regs[i.dst] = scalarReg(zext32(src.s));
    return;
  }

  const dst = readReg(env, st, pc, i.dst);
  if (op === AluOp.NEG || op === AluOp.END) {
    if (isPointer(dst)) reject(pc, `${OPNAME[op]} on ${describeReg(dst)} in r${i.dst} is not allowed`, `R${i.dst} pointer arithmetic prohibited`);
    if (op === AluOp.NEG) regs[i.dst] = scalarReg(alu('sub', sconst(0), dst.s, is64 ? 64 : 32));
    else regs[i.dst] = scalarReg(byteSwap(dst.s, i.imm as 16 | 32 | 64, is64 || opSource(i.code) === EndSource.TO_BE));
    return;
  }

  const src: Reg = x ? readReg(env, st, pc, i.src) : scalarReg(sconst(i.imm));
  const kind = KIND[op]!;
  if ((op === AluOp.LSH || op === AluOp.RSH || op === AluOp.ARSH) && !x && (i.imm < 0 || i.imm >= (is64 ? 64 : 32))) {
    reject(pc, `shift by ${i.imm} is out of range for a ${is64 ? 64 : 32}-bit value`, `invalid shift ${i.imm}`);
  }
  const signed = i.off === 1 && (op === AluOp.DIV || op === AluOp.MOD);
  if (!x && (op === AluOp.DIV || op === AluOp.MOD) && i.imm === 0) reject(pc, 'division by the constant 0', 'div by zero');
  const dp = isPointer(dst);
  const sp = isPointer(src);
  if (dp || sp) {
    if (!is64) {
      reject(pc, `32-bit arithmetic on a pointer (${describeReg(dp ? dst : src)}) is not allowed`, `R${i.dst} 32-bit pointer arithmetic prohibited`);
    }
    if (dp && sp) {
      if (op === AluOp.SUB && env.privileged) {
        regs[i.dst] = SCALAR_UNKNOWN;
        return;
      }
      reject(pc, `r${i.dst} ${op === AluOp.ADD ? '+=' : op === AluOp.SUB ? '-=' : OPNAME[op]} r${i.src}: arithmetic between two pointers is not allowed`, `R${i.dst} pointer ${op === AluOp.ADD ? '+=' : '-='} pointer prohibited`);
    }
    if (op !== AluOp.ADD && op !== AluOp.SUB) {
      const p = dp ? dst : src;
      reject(pc, `${OPNAME[op]} on a pointer (r${dp ? i.dst : i.src}: ${describeReg(p)}) is not allowed: only adding or subtracting a scalar is`, `R${i.dst} ${op === AluOp.AND || op === AluOp.OR || op === AluOp.XOR ? 'bitwise operator ' + OPNAME[op] + ' on pointer' : 'pointer arithmetic with ' + OPNAME[op] + ' operator'} prohibited`);
    }
    regs[i.dst] = dp ? ptrArith(env, pc, i.dst, dst, src, op === AluOp.SUB, true) : ptrArith(env, pc, i.dst, src, dst, op === AluOp.SUB, false);
    return;
  }
  regs[i.dst] = scalarReg(alu(signed ? (op === AluOp.DIV ? 'sdiv' : 'smod') : kind, dst.s, src.s, is64 ? 64 : 32));
}
