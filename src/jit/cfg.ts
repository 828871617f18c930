/**
 * Control-flow analysis for the JIT: decode the interpreter's packed program into instructions, find the body of
 * each eBPF function (the instructions reachable from its entry by jumps and fall-through, not through calls),
 * split it into basic blocks and the blocks into budget segments (a segment ends after every instruction that
 * can fault, so a failed budget check at the segment start is always the first fault of the segment).
 */
import type { Prog } from '../vm/interpreter.js';

/** One decoded instruction (or the fall-off-the-end pseudo instruction at pc = n, op -1). */
export interface JInsn {
  pc: number;
  /** Packed opcode byte (the interpreter's `Op` variants included); -1 for the fall-off pseudo instruction. */
  op: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  /** High 32 bits of an lddw value (imm holds the low 32). */
  hi: number;
  /** Slots taken (2 for lddw). */
  slots: number;
  /** What the JIT makes of it (`kindOf`, computed once at decode). */
  kind?: Kind;
}

/** Opcode of the fall-off-the-end pseudo instruction. */
export const FALLOFF = -1;

const LOADS = new Set([0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91]);
const STORES = new Set([0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73, 0x7b]);
const LEGACY = new Set([0x20, 0x28, 0x30, 0x40, 0x48, 0x50]);
const ATOMIC_IMMS = new Set([0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe0, 0xe1, 0xf0, 0xf1]);
/** Opcodes of ALU/ALU64 operations the JIT knows (packed codes, including the interpreter's variants). */
const ALU = new Set<number>([
  0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f, 0x77, 0x7f, 0x87, 0x97,
  0x9f, 0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf, 0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x44, 0x4c, 0x54,
  0x5c, 0x64, 0x6c, 0x74, 0x7c, 0x84, 0x94, 0x9c, 0xa4, 0xac, 0xb4, 0xbc, 0xc4, 0xcc, 0x60, 0x68, 0x70, 0x78,
  0x80, 0x88, 0x90, 0x98, 0xa0, 0xa8, 0xb0, 0xb8, 0xc0,
]);
const ENDIAN = new Set([0xd4, 0xdc, 0xd7]);

export const isLoad = (op: number) => LOADS.has(op);
export const isStore = (op: number) => STORES.has(op);
export const isLegacy = (op: number) => LEGACY.has(op);
export const isAtomic = (op: number) => op === 0xc3 || op === 0xdb;
export const isAlu = (op: number) => ALU.has(op);
export const isEndian = (op: number) => ENDIAN.has(op);

/** Conditional jump: JMP or JMP32 class with an operation other than JA, CALL, EXIT. */
export function isCondJump(op: number): boolean {
  const cls = op & 7;
  if (cls !== 5 && cls !== 6) return false;
  const j = op & 0xf0;
  if (j === 0x00 || j === 0x80 || j === 0x90 || j === 0xe0 || j === 0xf0) return false;
  return true;
}

/** What the JIT makes of an instruction. */
export type Kind = 'alu' | 'endian' | 'lddw' | 'load' | 'store' | 'atomic' | 'legacy' | 'ja' | 'cond' | 'exit' | 'helper' | 'call' | 'callx' | 'falloff' | 'invalid';

export function kindOf(i: JInsn): Kind {
  return i.kind ?? (i.kind = computeKind(i));
}

/** Size in bytes of the access of a load, store or atomic. */
export function accessSize(i: JInsn): number {
  const op = i.op;
  if (op === 0xc3) return 4;
  if (op === 0xdb) return 8;
  if ((op & 7) === 1) return op === 0x79 ? 8 : op === 0x61 || op === 0x81 ? 4 : op === 0x69 || op === 0x89 ? 2 : 1;
  const sz = op & 0x18;
  return sz === 0x18 ? 8 : sz === 0x00 ? 4 : sz === 0x08 ? 2 : 1;
}

function computeKind(i: JInsn): Kind {
  const op = i.op;
  if (op === FALLOFF) return 'falloff';
  if (op === 0x18) return 'lddw';
  if (isAlu(op)) return 'alu';
  if (isEndian(op)) return i.imm === 16 || i.imm === 32 || i.imm === 64 ? 'endian' : 'invalid';
  if (isLoad(op)) return 'load';
  if (isStore(op)) return 'store';
  if (isAtomic(op)) return ATOMIC_IMMS.has(i.imm) ? 'atomic' : 'invalid';
  if (isLegacy(op)) return 'legacy';
  if (op === 0x05 || op === 0x06) return 'ja';
  if (isCondJump(op)) return 'cond';
  if (op === 0x95) return 'exit';
  if (op === 0x85) return 'helper';
  if (op === 0xc8) return 'call';
  if (op === 0x8d) return 'callx';
  return 'invalid';
}

/** Loads, stores and atomics: the accesses checked against the segment table. */
export function isMemory(k: Kind): boolean {
  return k === 'load' || k === 'store' || k === 'atomic';
}

/** Can executing this instruction end the run early (fault, helper, call)? Such instructions end a segment. */
export function canFault(k: Kind): boolean {
  return k !== 'alu' && k !== 'endian' && k !== 'lddw' && k !== 'ja' && k !== 'cond' && k !== 'exit';
}

/** Decode the packed program: one entry per slot start (second lddw slots are undefined), plus FALLOFF at n. */
export function decode(prog: Prog): (JInsn | undefined)[] {
  const code = prog.code;
  const n = prog.n;
  const out: (JInsn | undefined)[] = new Array(n + 1).fill(undefined);
  for (let pc = 0; pc < n; pc++) {
    if (prog.isStart[pc] !== 1) continue;
    const w = code[pc * 2]!;
    const op = w & 0xff;
    // `kind` is set below, once the fields it depends on are (present from creation: one object shape).
    const i: JInsn = { pc, op, dst: (w >> 8) & 0xf, src: (w >> 12) & 0xf, off: w >> 16, imm: code[pc * 2 + 1]!, hi: 0, slots: 1, kind: undefined };
    if (op === 0x18) {
      i.hi = code[pc * 2 + 3]!;
      i.slots = 2;
    }
    i.kind = computeKind(i);
    out[pc] = i;
  }
  out[n] = { pc: n, op: FALLOFF, dst: 0, src: 0, off: 0, imm: 0, hi: 0, slots: 1, kind: 'falloff' };
  return out;
}

/** Target pc of a jump. */
export function jumpTarget(i: JInsn): number {
  return i.pc + 1 + (i.op === 0x06 ? i.imm : i.off);
}

/** A budget segment: instructions counted together, the last one possibly faulting. */
export interface Segment {
  start: number;
  count: number;
  insns: JInsn[];
}

/** A basic block of a function. */
export interface Block {
  start: number;
  /** Index in the function's block list (layout order = pc order). */
  index: number;
  insns: JInsn[];
  segments: Segment[];
}

/** The body of one eBPF function. */
export interface FuncCfg {
  entry: number;
  blocks: Block[];
  /** Block index by start pc. */
  blockAt: Map<number, number>;
}

/**
 * Build the body of the function starting at `entry`. With `splitAtMemory`, every load, store and atomic also
 * starts a block (resume points of the slow variant, codegen.ts).
 */
export function buildFunction(insns: (JInsn | undefined)[], entry: number, splitAtMemory = false): FuncCfg {
  // Bitmaps rather than sets and a sort: this runs over every instruction of programs of up to a million.
  const reach = new Uint8Array(insns.length);
  const leaders = new Uint8Array(insns.length);
  leaders[entry] = 1;
  const work = [entry];
  let lo = entry;
  let hi = entry;
  while (work.length) {
    // Follow fall-through in a loop (no successor arrays: this runs over every instruction).
    let pc = work.pop()!;
    while (!reach[pc]) {
      const i = insns[pc];
      if (!i) throw new Error(`JIT: no instruction at ${pc}`);
      reach[pc] = 1;
      if (pc < lo) lo = pc;
      if (pc > hi) hi = pc;
      const k = kindOf(i);
      if (k === 'ja') {
        const t = jumpTarget(i);
        leaders[t] = 1;
        pc = t;
      } else if (k === 'cond') {
        const t = jumpTarget(i);
        leaders[t] = 1;
        leaders[pc + 1] = 1;
        if (!reach[t]) work.push(t);
        pc = pc + 1;
      } else if (k === 'exit' || k === 'falloff' || k === 'invalid') break;
      else pc += i.slots;
    }
  }
  const blocks: Block[] = [];
  const blockAt = new Map<number, number>();
  let cur: Block | undefined;
  let prevEnds = true;
  for (let pc = lo; pc <= hi; pc++) {
    if (!reach[pc]) continue;
    const i = insns[pc]!;
    const k = kindOf(i);
    if (!cur || prevEnds || leaders[pc] || (splitAtMemory && isMemory(k))) {
      cur = { start: pc, index: blocks.length, insns: [], segments: [] };
      blockAt.set(pc, cur.index);
      blocks.push(cur);
    }
    cur.insns.push(i);
    // Calls end a block too: the instruction after one is where the budget is checked again (budget.ts).
    prevEnds = k === 'ja' || k === 'cond' || k === 'exit' || k === 'falloff' || k === 'invalid' || k === 'call' || k === 'helper' || k === 'callx';
  }
  for (const b of blocks) {
    // Segments end after every instruction that can fault (and at the block end); a block of one segment shares
    // its instruction array.
    const ins = b.insns;
    let from = 0;
    for (let k = 0; k < ins.length; k++) {
      if (k === ins.length - 1 || canFault(kindOf(ins[k]!))) {
        const part = from === 0 && k === ins.length - 1 ? ins : ins.slice(from, k + 1);
        b.segments.push({ start: ins[from]!.pc, count: k + 1 - from, insns: part });
        from = k + 1;
      }
    }
  }
  return { entry, blocks, blockAt };
}

/** Function entries known statically: pc 0, targets of local calls, code addresses loaded by lddw. */
export function staticEntries(insns: (JInsn | undefined)[], n: number, codeSegment: number): number[] {
  const out = new Set<number>([0]);
  for (const i of insns) {
    if (!i) continue;
    if (i.op === 0xc8) out.add(i.pc + 1 + i.imm);
    else if (i.op === 0x18 && (i.hi | 0) === (codeSegment | 0) && i.imm >= 0 && i.imm < n && insns[i.imm] && i.imm !== n) out.add(i.imm);
  }
  return [...out].sort((a, b) => a - b);
}
