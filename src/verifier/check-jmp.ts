/**
 * Conditional jumps: decide the branch when the operands' bounds allow it, otherwise narrow both operands on
 * each branch (the kernel's reg_set_min_max, applied to every linked copy), turn possibly-NULL pointers into
 * NULL / non-NULL on the two sides of a comparison with 0, and give packet pointers their proven range on the
 * side where they are below data_end.
 */
import type { Insn } from '../isa/insn.js';
import { Class, JmpOp, Source, opClass, opJmp, opSource } from '../isa/opcodes.js';
import { MapType } from '../isa/uapi.js';
import { NEGATE, SWAP, branchTaken, constOf, narrow, sconst, type CmpKind } from './bounds.js';
import { readReg } from './check-alu.js';
import type { Env } from './env.js';
import { cloneState, curFrame, isPointer, scalarReg, type Reg, type VState } from './state.js';

const CMP: Record<number, CmpKind> = {
  [JmpOp.JEQ]: 'eq',
  [JmpOp.JNE]: 'ne',
  [JmpOp.JGT]: 'gt',
  [JmpOp.JGE]: 'ge',
  [JmpOp.JLT]: 'lt',
  [JmpOp.JLE]: 'le',
  [JmpOp.JSGT]: 'sgt',
  [JmpOp.JSGE]: 'sge',
  [JmpOp.JSLT]: 'slt',
  [JmpOp.JSLE]: 'sle',
  [JmpOp.JSET]: 'set',
};

/** Apply `f` to every register and spilled register of every frame. */
export function mapAllRegs(st: VState, f: (r: Reg) => Reg): void {
  for (const fr of st.frames) {
    for (let r = 0; r < 11; r++) fr.regs[r] = f(fr.regs[r]!);
    for (let i = 0; i < fr.stack.length; i++) {
      const slot = fr.stack[i];
      if (!slot?.spill) continue;
      const nr = f(slot.spill.reg);
      if (nr !== slot.spill.reg) fr.stack[i] = { bytes: slot.bytes, spill: { ...slot.spill, reg: nr } };
    }
  }
}

/** Successor states of a conditional jump: `taken` and `fall` (undefined when that side cannot happen). */
export interface Branches {
  taken?: VState;
  fall?: VState;
}

function setScalar(st: VState, regNo: number, old: Reg, s: Reg['s']): void {
  const nr: Reg = { ...old, s };
  if (old.id !== undefined) mapAllRegs(st, (r) => (r.type === 'scalar' && r.id === old.id ? nr : r));
  else curFrame(st).regs[regNo] = nr;
}

function markNull(env: Env, st: VState, ptr: Reg, isNull: boolean): void {
  const id = ptr.id;
  mapAllRegs(st, (r) => {
    if (r.id !== id || !r.maybeNull || id === undefined) return r;
    if (isNull) return scalarReg(sconst(0));
    if (r.type === 'map_ptr') return { ...r, maybeNull: false, id: undefined };
    // A sockmap/sockhash lookup result is a socket once known non-NULL (mark_ptr_or_null_reg).
    if (r.type === 'map_value' && (r.map?.type === MapType.SOCKMAP || r.map?.type === MapType.SOCKHASH)) {
      return { type: 'sock', s: r.s, off: r.off, id: r.id, refId: r.refId, origin: r.origin };
    }
    return { ...r, maybeNull: false, id: r.refId !== undefined ? r.id : undefined };
  });
  // NULL: nothing was acquired (unless the pointer only shares another's reference: bpf_sk_fullsock's result).
  if (isNull && ptr.refId !== undefined && !ptr.refShared) st.refs = st.refs.filter((x) => x.id !== ptr.refId);
  void env;
}

function goodPktPointers(st: VState, pkt: Reg): void {
  // Offsets past MAX_PACKET_OFF (0xffff) prove nothing, as in the kernel.
  if (pkt.off < 0 || pkt.off > 0xffff || pkt.s.umax > 0xffffn || pkt.s.umax + BigInt(pkt.off) > 0xffffn) return;
  const range = pkt.off;
  mapAllRegs(st, (r) => (r.type === pkt.type && r.id === pkt.id && (r.range ?? 0) < range ? { ...r, range } : r));
}

/** Evaluate a conditional jump at `pc` in state `st` (which it may consume). */
export function checkCondJmp(env: Env, st: VState, pc: number, i: Insn): Branches {
  const is32 = opClass(i.code) === Class.JMP32;
  const bits = is32 ? 32 : 64;
  const op = CMP[opJmp(i.code)]!;
  const x = opSource(i.code) === Source.X;
  const dst = readReg(env, st, pc, i.dst);
  const src: Reg = x ? readReg(env, st, pc, i.src) : scalarReg(sconst(is32 ? i.imm >>> 0 : i.imm));
  const both = (): Branches => ({ taken: cloneState(st), fall: st });

  if (dst.type === 'scalar' && src.type === 'scalar') {
    const decided = branchTaken(op, dst.s, src.s, bits);
    if (decided === true) return { taken: st };
    if (decided === false) return { fall: st };
    const out: Branches = {};
    for (const side of ['taken', 'fall'] as const) {
      const kind: CmpKind = side === 'taken' ? op : op === 'set' ? 'set' : NEGATE[op];
      const n = narrow(kind, dst.s, src.s, bits, side === 'fall' && op === 'set');
      if (!n) continue;
      const s2 = side === 'taken' ? cloneState(st) : st;
      setScalar(s2, i.dst, dst, n[0]);
      if (x) {
        const cur = curFrame(s2).regs[i.src]!;
        if (cur.type === 'scalar') setScalar(s2, i.src, cur, n[1]);
      }
      out[side] = s2;
    }
    return out;
  }

  // A pointer compared with 0: NULL checks.
  const zeroOf = (r: Reg) => r.type === 'scalar' && constOf(r.s) === 0n;
  if (!is32 && (op === 'eq' || op === 'ne') && ((isPointer(dst) && zeroOf(src)) || (isPointer(src) && zeroOf(dst)))) {
    const ptr = isPointer(dst) ? dst : src;
    if (!ptr.maybeNull) return op === 'eq' ? { fall: st } : { taken: st };
    const b = both();
    markNull(env, b.taken!, ptr, op === 'eq');
    markNull(env, b.fall!, ptr, op !== 'eq');
    return b;
  }

  // Packet pointers against data_end (or packet metadata against data).
  if (!is32 && op !== 'eq' && op !== 'ne' && op !== 'set' && !op.startsWith('s')) {
    // data vs data_end, or data_meta vs the unmodified data pointer (as the kernel matches them).
    const initData = (r: Reg) => r.type === 'pkt' && r.off === 0 && constOf(r.s) === 0n;
    const bounds = (p: Reg, other: Reg) => (p.type === 'pkt' && other.type === 'pkt_end') || (p.type === 'pkt_meta' && initData(other));
    let pkt: Reg | undefined;
    let cmp: CmpKind = op;
    if (bounds(dst, src)) pkt = dst;
    else if (bounds(src, dst)) {
      pkt = src;
      cmp = SWAP[op];
    }
    if (pkt) {
      const b = both();
      // pkt < end or pkt <= end holds on the taken side of lt/le and on the fall-through side of gt/ge.
      goodPktPointers(cmp === 'lt' || cmp === 'le' ? b.taken! : b.fall!, pkt);
      return b;
    }
  }
  return both();
}
