/**
 * The verifier's abstract machine state: register values (typed pointers or scalars), stack slots per frame,
 * acquired references, and the comparison used for state pruning (is a new state covered by an explored one?).
 * Registers and stack slots are immutable values, so copying a state copies arrays of references.
 */
import { UNKNOWN, sconst, scalarEquals, within, type Scalar } from './bounds.js';

/** Register types (the kernel's enum bpf_reg_type, the subset bpfkit models). */
export type RegType =
  | 'not_init'
  | 'scalar'
  | 'ctx'
  | 'stack'
  | 'map_ptr'
  | 'map_value'
  | 'map_key'
  | 'pkt'
  | 'pkt_meta'
  | 'pkt_end'
  | 'mem'
  | 'func'
  /** PTR_TO_FLOW_KEYS: `__sk_buff->flow_keys` of a flow dissector (struct bpf_flow_keys, read-write). */
  | 'flow_keys'
  /** PTR_TO_SOCKET: a full socket (struct bpf_sock, read-only). */
  | 'sock'
  /** PTR_TO_SOCK_COMMON: a socket that may be a request or time-wait socket (struct bpf_sock minus type..priority). */
  | 'sock_common'
  /** PTR_TO_TCP_SOCK: struct bpf_tcp_sock, from bpf_tcp_sock (read-only). */
  | 'tcp_sock';

/** What the verifier knows of a map referenced by the program. */
export interface MapInfo {
  /** Name (ELF symbol) or `fd N`. */
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  /** Inner map of a map-in-map. */
  inner?: MapInfo;
  /** Initial value of key 0 for read-only global data (lets reads of constants be known). */
  frozenValue?: Uint8Array;
}

/** One register. Pointers keep a fixed offset `off` and a variable offset `s`; scalars keep their value in `s`. */
export interface Reg {
  readonly type: RegType;
  /** Scalar value, or the variable part of a pointer's offset (constant 0 when none). */
  readonly s: Scalar;
  /** Fixed offset of a pointer. */
  readonly off: number;
  /** Pointer may be NULL (map lookups, ringbuf reserve, bpf_map_lookup of a map-in-map). */
  readonly maybeNull?: boolean;
  /** Shared by copies of one pointer: null checks and packet range checks apply to every copy. */
  readonly id?: number;
  /** Reference that must be released (ringbuf records, sockets from bpf_sk_lookup_*, sockmap lookups). */
  readonly refId?: number;
  /**
   * The pointer shares the reference of another (bpf_sk_fullsock / bpf_tcp_sock of a referenced socket): releasing
   * it releases both, but its NULL branch does not drop the reference (the kernel's ref_obj_id != id).
   */
  readonly refShared?: boolean;
  /** Packet pointers: bytes proven readable from the pointer (relative to `off` 0 of the same id). */
  readonly range?: number;
  readonly map?: MapInfo;
  /** PTR_TO_MEM size. */
  readonly memSize?: number;
  /** Memory is read-only (PTR_TO_MEM from a read-only source, map keys). */
  readonly rdonly?: boolean;
  /** Stack pointer: which frame's stack. */
  readonly frame?: number;
  /** Function pointer: the subprogram's first instruction. */
  readonly subprog?: number;
  /** Human note on where the value came from (`bpf_map_lookup_elem at insn 5`), for messages. */
  readonly origin?: string;
}

export const NOT_INIT: Reg = { type: 'not_init', s: UNKNOWN, off: 0 };
export const SCALAR_UNKNOWN: Reg = { type: 'scalar', s: UNKNOWN, off: 0 };
export const scalarReg = (s: Scalar): Reg => ({ type: 'scalar', s, off: 0 });
export const constReg = (v: bigint | number): Reg => scalarReg(sconst(v));
export const ZERO_OFF = sconst(0);

export const isPointer = (r: Reg): boolean => r.type !== 'scalar' && r.type !== 'not_init';

/** Byte kinds of a stack slot. */
export const enum Byte {
  INVALID = 0,
  MISC = 1,
  ZERO = 2,
  SPILL = 3,
}

/** An 8-byte stack slot: per-byte kinds and, for a spilled register, where it sits and its value. */
export interface Slot {
  readonly bytes: readonly Byte[];
  readonly spill?: { readonly reg: Reg; readonly at: number; readonly size: number };
}

/** One function frame. */
export interface Frame {
  readonly regs: Reg[];
  /** 64 slots; index i holds bytes [-(64-i)*8, -(63-i)*8) from the frame pointer. */
  readonly stack: (Slot | undefined)[];
  /** Call instruction that created this frame (-1 for the main program). */
  readonly callsite: number;
  /** First instruction of the function. */
  readonly subprog: number;
  /** A callback frame (bpf_loop, for_each_map_elem): on exit, go back to the helper call. */
  readonly callback?: { kind: string; retMin: number; retMax: number };
}

/** A reference the program holds (ringbuf record, socket) and where it was acquired. */
export interface RefInfo {
  readonly id: number;
  readonly pc: number;
  readonly what: string;
}

/** The whole abstract state at one instruction. */
export interface VState {
  frames: Frame[];
  refs: RefInfo[];
  /** Active RCU read-side sections (bpf_rcu_read_lock kfunc). */
  rcu: number;
  /** Callback entries so far on this path (a callback loop revisiting a state is not an infinite loop). */
  cbIter: number;
}

export const STACK_SLOTS = 64;

export function newFrame(callsite: number, subprog: number, frameNo: number): Frame {
  const regs: Reg[] = new Array(11).fill(NOT_INIT);
  regs[10] = { type: 'stack', s: ZERO_OFF, off: 0, frame: frameNo };
  return { regs, stack: new Array(STACK_SLOTS).fill(undefined), callsite, subprog };
}

export function cloneFrame(f: Frame): Frame {
  return { ...f, regs: f.regs.slice(), stack: f.stack.slice() };
}

export function cloneState(s: VState): VState {
  return { frames: s.frames.map(cloneFrame), refs: s.refs.slice(), rcu: s.rcu, cbIter: s.cbIter };
}

export const curFrame = (s: VState): Frame => s.frames[s.frames.length - 1]!;

/** Id mapping used while comparing two states (old id → cur id must be consistent). */
class IdMap {
  /** Made on the first id seen (most comparisons meet none). */
  private m: Map<number, number> | undefined;
  /** An id in `old` (links copies; old without an id links nothing, which covers anything) matches `cur`'s. */
  ok(a: number | undefined, b: number | undefined): boolean {
    if (a === undefined) return true;
    if (b === undefined) return false;
    this.m ??= new Map();
    const x = this.m.get(a);
    if (x === undefined) {
      this.m.set(a, b);
      return true;
    }
    return x === b;
  }
}

/** Is every behaviour of register `cur` covered by `old` (which was proven safe)? */
function regSafe(old: Reg, cur: Reg, ids: IdMap, exact: boolean): boolean {
  if (old.type === 'not_init') return exact ? cur.type === 'not_init' : true;
  if (old.type !== cur.type) return false;
  if (old.type === 'scalar') return (exact ? scalarEquals(old.s, cur.s) : within(old.s, cur.s)) && ids.ok(old.id, cur.id);
  if (old.off !== cur.off || !!old.maybeNull !== !!cur.maybeNull || !!old.refShared !== !!cur.refShared) return false;
  if (old.map !== cur.map || old.memSize !== cur.memSize || old.frame !== cur.frame || old.subprog !== cur.subprog || !!old.rdonly !== !!cur.rdonly) return false;
  if (!(exact ? scalarEquals(old.s, cur.s) : within(old.s, cur.s))) return false;
  if ((old.type === 'pkt' || old.type === 'pkt_meta') && (cur.range ?? 0) < (old.range ?? 0)) return false;
  if (exact && (old.range ?? 0) !== (cur.range ?? 0)) return false;
  if (!ids.ok(old.id, cur.id) || !ids.ok(old.refId, cur.refId)) return false;
  return true;
}

function slotSafe(old: Slot | undefined, cur: Slot | undefined, ids: IdMap, exact: boolean): boolean {
  if (!old) return exact ? !cur : true;
  for (let i = 0; i < 8; i++) {
    const o = old.bytes[i]!;
    const c = cur ? cur.bytes[i]! : Byte.INVALID;
    if (o === Byte.INVALID) {
      if (exact && c !== Byte.INVALID) return false;
      continue;
    }
    if (o === Byte.MISC) {
      if (c === Byte.MISC || c === Byte.ZERO) continue;
      if (c === Byte.SPILL && cur!.spill!.reg.type === 'scalar' && !exact) continue;
      return false;
    }
    if (o === Byte.ZERO) {
      if (c === Byte.ZERO) continue;
      if (c === Byte.SPILL && !exact) {
        const r = cur!.spill!.reg;
        if (r.type === 'scalar' && r.s.t.mask === 0n && r.s.t.value === 0n) continue;
      }
      return false;
    }
    // Spilled register in old.
    if (c !== Byte.SPILL) return false;
  }
  if (old.spill) {
    if (!cur?.spill || cur.spill.at !== old.spill.at || cur.spill.size !== old.spill.size) return false;
    if (!regSafe(old.spill.reg, cur.spill.reg, ids, exact)) return false;
  }
  return true;
}

/**
 * `old` covers `cur`: every path from `cur` behaves like one already proven from `old`. `live(frameIndex)` gives the
 * registers that matter in each frame (dead registers are ignored). `exact` asks for equality (loop detection).
 */
export function statesCovered(old: VState, cur: VState, live: (frame: number) => number, exact = false): boolean {
  if (old.frames.length !== cur.frames.length || old.rcu !== cur.rcu || old.refs.length !== cur.refs.length) return false;
  const ids = new IdMap();
  for (let f = 0; f < old.frames.length; f++) {
    const o = old.frames[f]!;
    const c = cur.frames[f]!;
    if (o.callsite !== c.callsite || o.subprog !== c.subprog) return false;
    const mask = live(f);
    for (let r = 0; r < 10; r++) {
      if (!(mask & (1 << r))) continue;
      if (!regSafe(o.regs[r]!, c.regs[r]!, ids, exact)) return false;
    }
    for (let i = 0; i < STACK_SLOTS; i++) {
      const os = o.stack[i];
      if (os === c.stack[i] && (!os?.spill || (os.spill.reg.id === undefined && os.spill.reg.refId === undefined))) continue;
      if (!slotSafe(o.stack[i], c.stack[i], ids, exact)) return false;
    }
  }
  for (let i = 0; i < old.refs.length; i++) if (!ids.ok(old.refs[i]!.id, cur.refs[i]!.id)) return false;
  return true;
}

/**
 * Widen `cur` where it is not covered by `old` (a callback loop's earlier visit): scalars become unknown, stack
 * bytes that differ become unknown-but-initialised. Only makes `cur` larger, so exploring it stays sound.
 */
export function widenAgainst(old: VState, cur: VState): void {
  if (old.frames.length !== cur.frames.length) return;
  const widenReg = (o: Reg, c: Reg): Reg => (o.type === 'scalar' && c.type === 'scalar' && !within(o.s, c.s) ? SCALAR_UNKNOWN : c);
  for (let f = 0; f < old.frames.length; f++) {
    const o = old.frames[f]!;
    const c = cur.frames[f]!;
    for (let r = 0; r < 10; r++) c.regs[r] = widenReg(o.regs[r]!, c.regs[r]!);
    for (let i = 0; i < STACK_SLOTS; i++) {
      const os = o.stack[i];
      const cs = c.stack[i];
      if (!os || !cs || os === cs) continue;
      if (os.spill && cs.spill && os.spill.at === cs.spill.at && os.spill.size === cs.spill.size) {
        const w = widenReg(os.spill.reg, cs.spill.reg);
        if (w !== cs.spill.reg) c.stack[i] = { bytes: cs.bytes, spill: { ...cs.spill, reg: w } };
        continue;
      }
      const bytes = cs.bytes.map((b, k) => (b !== os.bytes[k] && b !== Byte.INVALID && (b !== Byte.SPILL || cs.spill?.reg.type === 'scalar') ? Byte.MISC : b));
      const keepSpill = cs.spill && bytes.some((b) => b === Byte.SPILL);
      c.stack[i] = keepSpill ? { bytes, spill: cs.spill } : { bytes: bytes.map((b) => (b === Byte.SPILL ? Byte.MISC : b)) };
    }
  }
}
