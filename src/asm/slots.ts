/** Walking a program instruction by instruction (an lddw covers two slots) and the raw `.insn` slot notation. */
import { LDDW, checkInsn, type Insn } from '../isa/index.js';

/** Number of slots the instruction at `pc` covers: 2 for a valid lddw, else 1. */
export function insnSlots(insns: readonly Insn[], pc: number): 1 | 2 {
  return insns[pc]!.code === LDDW && checkInsn(insns, pc) === undefined ? 2 : 1;
}

/** The raw slot as bpf_conformance writes it: `0x` + 16 hex digits of the little-endian u64. */
export function rawSlot(i: Insn): string {
  const lo = ((i.code & 0xff) | ((i.dst & 0xf) << 8) | ((i.src & 0xf) << 12) | ((i.off & 0xffff) << 16)) >>> 0;
  return '0x' + (i.imm >>> 0).toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/** The slot encoded by a little-endian u64 (inverse of `rawSlot`). */
export function slotFromRaw(v: bigint): Insn {
  const x = BigInt.asUintN(64, v);
  const lo = Number(x & 0xffffffffn);
  return {
    code: lo & 0xff,
    dst: (lo >>> 8) & 0xf,
    src: (lo >>> 12) & 0xf,
    off: ((lo >>> 16) << 16) >> 16,
    imm: Number(x >> 32n) | 0,
  };
}
