/**
 * Load-time context pass, the userspace counterpart of the kernel verifier's convert_ctx_access: finds the loads
 * and stores that go through the context pointer and
 *  - rewrites 32-bit loads of packet-pointer fields (`xdp_md.data`, `__sk_buff.data_end`...) into 64-bit loads of
 *    a shadow slot placed after the struct, where the runtime keeps the real packet addresses (the instruction count
 *    does not change, so no jump needs fixing);
 *  - refuses (VerifierError at load) stores to read-only fields, accesses outside the struct or not within one
 *    field, narrow loads of pointer fields and atomics on the context.
 *
 * Which register holds the context is found by a small forward dataflow over registers and 8-byte stack spills
 * (r1 at entry; moves, constant adds and spill/fill propagate it; helper calls clobber r0-r5; a bpf-to-bpf call
 * passes r1-r5 to the callee). A pointer-field load through a register that is the context on some paths only
 * is refused, as the kernel would.
 */
import { VerifierError } from '../../errors.js';
import type { Insn } from '../../isa/insn.js';
import { AluOp, Class, JmpOp, LDDW, Mode, PseudoCall, PseudoLd, Size, opAlu, opClass, opJmp, opMode, opSize, opSource, sizeBytes } from '../../isa/opcodes.js';
import { ProgType } from '../../isa/uapi.js';
import { fieldAt, type CtxField, type CtxLayout, type CtxPointer } from './layouts.js';

/** Where the shadow 64-bit pointer of each pointer field lives (offset from the start of the ctx region). */
export interface ShadowLayout {
  /** Total ctx region size: the struct plus the shadow slots. */
  size: number;
  slots: Partial<Record<CtxPointer, number>>;
}

/** The shadow slots of a layout: one u64 per pointer kind, after the struct (8-byte aligned). */
export function shadowLayout(layout: CtxLayout): ShadowLayout {
  const slots: Partial<Record<CtxPointer, number>> = {};
  let off = (layout.size + 7) & ~7;
  for (const fl of layout.fields) {
    if (fl.pointer && slots[fl.pointer] === undefined) {
      slots[fl.pointer] = off;
      off += 8;
    }
  }
  return { size: off, slots };
}

/** Fields a program type may write, when it differs from the layout's default (kernel *_is_valid_access). */
function writable(progType: number, fl: CtxField): boolean {
  if (!fl.writable) return false;
  switch (progType) {
    case ProgType.SOCKET_FILTER:
    case ProgType.SK_SKB:
      return fl.name === 'cb';
    case ProgType.CGROUP_SKB:
      return fl.name === 'cb' || fl.name === 'mark' || fl.name === 'priority' || fl.name === 'tstamp';
    default:
      return true;
  }
}

// Abstract values: BOT (not seen yet), a number ≥ 0 = ctx + that offset, NOT (not the ctx), TOP (ambiguous).
const BOT = -1;
const NOT = -2;
const TOP = -3;

function join(a: number, b: number): number {
  if (a === b || b === BOT) return a;
  if (a === BOT) return b;
  return TOP;
}

interface State {
  regs: number[];
  /** 8-byte stack slots by offset from r10 (negative). */
  stack: Map<number, number>;
}

function cloneState(s: State): State {
  return { regs: s.regs.slice(), stack: new Map(s.stack) };
}

/** Join `b` into `a`; true when `a` changed. */
function joinInto(a: State, b: State): boolean {
  let changed = false;
  for (let r = 0; r < 11; r++) {
    const j = join(a.regs[r], b.regs[r]);
    if (j !== a.regs[r]) {
      a.regs[r] = j;
      changed = true;
    }
  }
  for (const [off, v] of a.stack) {
    const j = join(v, b.stack.get(off) ?? NOT);
    if (j !== v) {
      a.stack.set(off, j);
      changed = true;
    }
  }
  for (const [off, v] of b.stack) {
    if (!a.stack.has(off)) {
      const j = join(NOT, v);
      a.stack.set(off, j);
      if (j !== NOT) changed = true;
    }
  }
  return changed;
}

/** Result of the pass. */
export interface CtxRewriteResult {
  insns: Insn[];
  /** pcs of rewritten pointer loads. */
  rewritten: number[];
  shadow: ShadowLayout;
}

/**
 * Check and rewrite the context accesses of `insns` for a program of type `progType` with context `layout`.
 * `name` is used in error messages.
 */
export function rewriteCtxAccess(insns: readonly Insn[], layout: CtxLayout, progType: number, name = 'program'): CtxRewriteResult {
  const n = insns.length;
  const shadow = shadowLayout(layout);
  const out = insns.map((i) => ({ ...i }));
  const states: (State | undefined)[] = new Array(n);
  const work: number[] = [];
  const entry = (pc: number, s: State) => {
    if (pc < 0 || pc >= n) return;
    const cur = states[pc];
    if (!cur) {
      states[pc] = cloneState(s);
      work.push(pc);
    } else if (joinInto(cur, s)) work.push(pc);
  };
  const init: State = { regs: new Array(11).fill(NOT), stack: new Map() };
  init.regs[1] = 0;
  entry(0, init);
  // Callbacks referenced by `lddw rX, func` start with nothing known.
  for (let pc = 0; pc < n; pc++) {
    const i = insns[pc];
    if (i.code === LDDW) {
      if (i.src === PseudoLd.FUNC) entry(pc + 1 + i.imm, { regs: new Array(11).fill(NOT), stack: new Map() });
      pc++;
    }
  }

  const fail = (pc: number, why: string): never => {
    throw new VerifierError(pc, `${name}: ${why}`);
  };
  const decisions = new Map<number, { base: number; off: number; write: boolean; size: number; atomic: boolean }>();

  while (work.length) {
    const pc = work.pop()!;
    const s = cloneState(states[pc]!);
    const i = insns[pc];
    const cls = opClass(i.code);
    const R = s.regs;
    const note = (base: number, off: number, write: boolean, size: number, atomic = false) => {
      const st = R[base];
      const prev = decisions.get(pc);
      const v = prev ? join(prev.base, st) : st;
      decisions.set(pc, { base: v, off, write, size, atomic });
    };
    switch (cls) {
      case Class.ALU64:
      case Class.ALU: {
        const a = opAlu(i.code);
        if (cls === Class.ALU64 && a === AluOp.MOV && opSource(i.code) && i.off === 0) R[i.dst] = R[i.src];
        else if (cls === Class.ALU64 && (a === AluOp.ADD || a === AluOp.SUB) && !opSource(i.code) && R[i.dst] >= 0) {
          const k = R[i.dst] + (a === AluOp.ADD ? i.imm : -i.imm);
          R[i.dst] = k >= 0 ? k : TOP;
        } else R[i.dst] = R[i.dst] >= 0 || R[i.dst] === TOP ? TOP : NOT;
        if (cls === Class.ALU64 && a === AluOp.MOV && !opSource(i.code)) R[i.dst] = NOT;
        if (a === AluOp.MOV && cls === Class.ALU) R[i.dst] = NOT;
        entry(pc + 1, s);
        break;
      }
      case Class.LDX: {
        const size = sizeBytes(opSize(i.code));
        if (i.src === 10 && size === 8 && opMode(i.code) === Mode.MEM) R[i.dst] = s.stack.get(i.off) ?? NOT;
        else {
          if (R[i.src] >= 0 || R[i.src] === TOP) note(i.src, i.off, false, size);
          R[i.dst] = NOT;
        }
        entry(pc + 1, s);
        break;
      }
      case Class.ST:
      case Class.STX: {
        const size = sizeBytes(opSize(i.code));
        const atomic = opMode(i.code) === Mode.ATOMIC;
        if (i.dst === 10) {
          const slot = i.off & ~7;
          if (cls === Class.STX && size === 8 && !atomic && (i.off & 7) === 0) s.stack.set(i.off, R[i.src]);
          else s.stack.set(slot, NOT);
        } else if (R[i.dst] >= 0 || R[i.dst] === TOP) note(i.dst, i.off, true, size, atomic);
        if (atomic && i.imm & 1) {
          if ((i.imm & 0xf0) === 0xf0) R[0] = NOT;
          else R[i.src] = NOT;
        }
        entry(pc + 1, s);
        break;
      }
      case Class.LD: {
        if (i.code === LDDW) {
          R[i.dst] = NOT;
          entry(pc + 2, s);
        } else {
          // LD_ABS / LD_IND: r0 result, r1-r5 scratched.
          for (let r = 0; r <= 5; r++) R[r] = NOT;
          entry(pc + 1, s);
        }
        break;
      }
      case Class.JMP:
      case Class.JMP32: {
        const j = opJmp(i.code);
        if (j === JmpOp.EXIT) break;
        if (j === JmpOp.CALL && cls === Class.JMP) {
          if (i.src === PseudoCall.CALL && !opSource(i.code)) {
            const callee: State = { regs: new Array(11).fill(NOT), stack: new Map() };
            for (let r = 1; r <= 5; r++) callee.regs[r] = R[r];
            entry(pc + 1 + i.imm, callee);
          }
          for (let r = 0; r <= 5; r++) R[r] = NOT;
          entry(pc + 1, s);
          break;
        }
        if (j === JmpOp.JA) {
          entry(pc + 1 + (cls === Class.JMP32 ? i.imm : i.off), s);
          break;
        }
        entry(pc + 1, s);
        entry(pc + 1 + i.off, s);
        break;
      }
    }
  }

  const rewritten: number[] = [];
  for (const [pc, d] of [...decisions].sort((a, b) => a[0] - b[0])) {
    if (d.base === NOT || d.base === BOT) continue;
    const i = insns[pc];
    if (d.base === TOP) {
      // Only a problem where a definite ctx access would need a rewrite or a check.
      const fl = fieldAt(layout, i.off);
      if (fl?.pointer) fail(pc, `access at offset ${i.off} through r${opClass(i.code) === Class.LDX ? i.src : i.dst}, which is the context on some paths only`);
      continue;
    }
    const off = d.base + d.off;
    const found = fieldAt(layout, off);
    if (!found) fail(pc, `invalid access to ${layout.name} at offset ${off} (size ${d.size}): outside the struct or in padding`);
    const fl = found!;
    if (d.atomic) fail(pc, `atomic operation on ${layout.name}.${fl.name}`);
    const inField = off - fl.offset;
    const elem = fl.elem ?? fl.size;
    if (inField % elem + d.size > elem) fail(pc, `access to ${layout.name}.${fl.name} at offset ${off} size ${d.size} crosses the field`);
    if (d.write) {
      if (!writable(progType, fl)) fail(pc, `write to read-only field ${layout.name}.${fl.name}`);
      if (fl.pointer) fail(pc, `write to packet pointer ${layout.name}.${fl.name}`);
      continue;
    }
    if (fl.pointer) {
      if (d.size !== 4 || inField !== 0) fail(pc, `${layout.name}.${fl.name} must be read with a 4-byte load`);
      const slot = shadow.slots[fl.pointer]!;
      out[pc] = { ...i, code: Class.LDX | Mode.MEM | Size.DW, off: slot - d.base };
      rewritten.push(pc);
    } else if (d.size !== fl.size && !(fl.narrow && d.size < fl.size) && !fl.elem) {
      fail(pc, `${d.size}-byte access to ${fl.size}-byte field ${layout.name}.${fl.name}`);
    }
  }
  return { insns: out, rewritten, shadow };
}
