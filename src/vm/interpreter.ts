/**
 * The eBPF interpreter loop. Registers are 64-bit values kept as two int32 halves (`L` low, `H` high) in typed
 * arrays: BigInt registers allocate per operation and are 2.6-3.9x slower (notes/vm-speed.md). The loop is one
 * switch on the (pre-packed, partly re-mapped) opcode byte; every load and store is checked against the segment
 * tables of `VmMemory`. BigInt appears only on slow paths (64-bit signed division, wide divisors, helper calls).
 *
 * Packed code: two int32 per slot, `w0 = op | dst << 8 | src << 12 | off << 16`, `w1 = imm`, plus a sentinel slot
 * after the last one. `op` is the opcode byte, except for variants the opcode byte alone does not select (signed
 * division, sign-extending moves, local calls), which get otherwise-unused LD-class codes (see `Op`).
 */
import { VmError, BpfkitError } from '../errors.js';
import { MAX_CALL_FRAMES, STACK_SIZE } from '../isa/opcodes.js';
import { helperById } from '../isa/helpers.js';
import { CODE_SEGMENT, type HelperCallContext, type HelperImpl } from './api.js';
import type { VmMemory } from './memory.js';
import type { Vm } from './vm.js';

/** Internal opcodes for variants, taken from unused LD-class opcode bytes. @internal */
export const Op = {
  /** Sentinel / second lddw slot / anything that must not execute. */
  INVALID: 0x00,
  MOVSX32_8: 0x60,
  MOVSX32_16: 0x68,
  MOVSX64_8: 0x70,
  MOVSX64_16: 0x78,
  MOVSX64_32: 0x80,
  SDIV32_K: 0x88,
  SDIV32_X: 0x90,
  SMOD32_K: 0x98,
  SMOD32_X: 0xa0,
  SDIV64_K: 0xa8,
  SDIV64_X: 0xb0,
  SMOD64_K: 0xb8,
  SMOD64_X: 0xc0,
  CALL_LOCAL: 0xc8,
} as const;

/** Maximum number of tail calls in one chain (the kernel's MAX_TAIL_CALL_CNT). */
export const MAX_TAIL_CALLS = 33;

/** A program prepared for the interpreter. @internal */
export interface Prog {
  readonly vm: Vm;
  /** Packed slots, (n + 1) * 2 int32 (last slot is the sentinel). */
  readonly code: Int32Array;
  /** Number of real slots. */
  readonly n: number;
  /** Helper or kfunc implementation per pc of a `call` (src 0 or 2). */
  readonly calls: (HelperImpl | undefined)[];
  /** Helpers by id, for `callx` in helper mode. */
  readonly helpers: ReadonlyMap<number, HelperImpl>;
  /** `callx` semantics: register holds an instruction index / code address ('pc') or a helper id ('helper'). */
  readonly callx: 'pc' | 'helper';
  /** Start of each real instruction (false for second lddw slots). */
  readonly isStart: Uint8Array;
  readonly legacyPacket?: (env: unknown) => Uint8Array | undefined;
}

/** Thrown to end a run early with r0 = 0 (out-of-range legacy packet load). @internal */
export class LegacyAbort {
  readonly abort = true;
}

/** Mutable state of one run (registers, frames, budget). One per `Vm`, reused across runs. @internal */
export class RunState {
  readonly L = new Int32Array(11);
  readonly H = new Int32Array(11);
  /** Executed instruction count of the current run. */
  count = 0;
  /** Budget: maximum `count`. */
  limit = 1e9;
  /** Active frames (1 = main program). */
  depth = 0;
  /** Saved r6..r10 (lo, hi) of the caller, per frame slot. */
  readonly saved = new Int32Array(MAX_CALL_FRAMES * 10);
  readonly retPc = new Int32Array(MAX_CALL_FRAMES);
  readonly retProg: (Prog | undefined)[] = new Array(MAX_CALL_FRAMES).fill(undefined);
  /** Stack segment and bytes per frame. */
  readonly stackSeg: number[] = [];
  readonly stackBytes: Uint8Array[] = [];
  tailCalls = 0;
  pendingTail: Prog | undefined = undefined;
  /** Program of the innermost frame (updated at calls, exits and tail calls). */
  prog: Prog;
  env: unknown;
  /** Scratch results of out-of-line 64-bit operations. */
  rl = 0;
  rh = 0;

  constructor(
    readonly mem: VmMemory,
    prog: Prog,
  ) {
    this.prog = prog;
    for (let i = 0; i < MAX_CALL_FRAMES; i++) {
      const bytes = new Uint8Array(STACK_SIZE);
      const base = mem.map(bytes, { writable: true, kind: 'stack', name: `frame ${i}` });
      this.stackSeg.push(Number(base >> 32n));
      this.stackBytes.push(bytes);
    }
  }
}

/** High 32 bits of the unsigned 64-bit product of two uint32 (given as int32). */
function mulhu(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const t = a1 * b0 + ((a0 * b0) >>> 16);
  const w1 = (t & 0xffff) + a0 * b1;
  return (a1 * b1 + Math.floor(t / 65536) + Math.floor(w1 / 65536)) | 0;
}

function big(h: number, l: number): bigint {
  return (BigInt(h >>> 0) << 32n) | BigInt(l >>> 0);
}

function setBig(st: RunState, v: bigint): void {
  st.rl = Number(BigInt.asIntN(32, v));
  st.rh = Number(BigInt.asIntN(32, v >> 32n));
}

/** Unsigned 64-bit division / modulo into st.rl/st.rh. Divisor must be non-zero. */
function udivmod64(st: RunState, ah: number, al: number, bh: number, bl: number, mod: boolean): void {
  if (bh === 0) {
    // Divisor below 2^32: exact long division in doubles (16-bit digits for the low word).
    const d = bl >>> 0;
    const h = ah >>> 0;
    const qh = Math.floor(h / d);
    let r = h - qh * d;
    const x = r * 65536 + (al >>> 16);
    const q1 = Math.floor(x / d);
    r = x - q1 * d;
    const y = r * 65536 + (al & 0xffff);
    const q0 = Math.floor(y / d);
    r = y - q0 * d;
    if (mod) {
      st.rl = r | 0;
      st.rh = 0;
    } else {
      st.rl = (q1 * 65536 + q0) | 0;
      st.rh = qh | 0;
    }
    return;
  }
  const a = big(ah, al);
  const b = big(bh, bl);
  setBig(st, mod ? a % b : a / b);
}

/** Signed 64-bit division / modulo (RFC 9669: x/0 = 0, x%0 = x, INT64_MIN/-1 = INT64_MIN, INT64_MIN%-1 = 0). */
function sdivmod64(st: RunState, ah: number, al: number, bh: number, bl: number, mod: boolean): void {
  if (bh === 0 && bl === 0) {
    st.rl = mod ? al : 0;
    st.rh = mod ? ah : 0;
    return;
  }
  const a = BigInt.asIntN(64, big(ah, al));
  const b = BigInt.asIntN(64, big(bh, bl));
  setBig(st, BigInt.asUintN(64, mod ? a % b : a / b));
}

function bswap32(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

function endian(st: RunState, d: number, op: number, imm: number, pc: number): void {
  const L = st.L;
  const H = st.H;
  const toBe = op !== 0xd4; // 0xdc (be) and 0xd7 (bswap) swap on this little-endian machine model
  if (imm === 16) {
    const v = L[d]!;
    L[d] = toBe ? ((v & 0xff) << 8) | ((v >>> 8) & 0xff) : v & 0xffff;
    H[d] = 0;
  } else if (imm === 32) {
    if (toBe) L[d] = bswap32(L[d]!);
    H[d] = 0;
  } else if (imm === 64) {
    if (toBe) {
      const lo = L[d]!;
      L[d] = bswap32(H[d]!);
      H[d] = bswap32(lo);
    }
  } else {
    throw new VmError(pc, 'invalid', `byte swap width ${imm}`);
  }
}

/** Atomic read-modify-write (STX | ATOMIC, 32 or 64 bits). */
function atomic(st: RunState, w: number, imm: number, pc: number): void {
  const L = st.L;
  const H = st.H;
  const dst = (w >> 8) & 0xf;
  const src = (w >> 12) & 0xf;
  const off = w >> 16;
  const is64 = (w & 0x18) === 0x18;
  const size = is64 ? 8 : 4;
  const b = L[dst]!;
  const alo = (b + off) | 0;
  const ahi = (H[dst]! + (off >> 31) + ((alo >>> 0) < (b >>> 0) ? 1 : 0)) | 0;
  const mem = st.mem;
  const wv = mem.wviews;
  if ((ahi >>> 0) >= wv.length) throw mem.fault(pc, ahi, alo, size, true);
  const dv = wv[ahi]!;
  const o = alo >>> 0;
  if (o + size > dv.byteLength) throw mem.fault(pc, ahi, alo, size, true);
  const oldL = dv.getInt32(o, true);
  const oldH = is64 ? dv.getInt32(o + 4, true) : 0;
  const sL = L[src]!;
  const sH = is64 ? H[src]! : 0;
  let nL = oldL;
  let nH = oldH;
  switch (imm & ~1) {
    case 0x00: {
      nL = (oldL + sL) | 0;
      nH = (oldH + sH + ((nL >>> 0) < (oldL >>> 0) ? 1 : 0)) | 0;
      break;
    }
    case 0x40:
      nL = oldL | sL;
      nH = oldH | sH;
      break;
    case 0x50:
      nL = oldL & sL;
      nH = oldH & sH;
      break;
    case 0xa0:
      nL = oldL ^ sL;
      nH = oldH ^ sH;
      break;
    case 0xe0: // xchg
      nL = sL;
      nH = sH;
      break;
    case 0xf0: {
      // cmpxchg: compare with r0, store src if equal; r0 = old value.
      const eq = is64 ? L[0] === oldL && H[0] === oldH : L[0] === oldL;
      if (eq) {
        nL = sL;
        nH = sH;
      }
      break;
    }
    default:
      throw new VmError(pc, 'invalid', `unknown atomic operation 0x${(imm >>> 0).toString(16)}`);
  }
  dv.setInt32(o, nL, true);
  if (is64) dv.setInt32(o + 4, nH, true);
  if (imm === 0xf1) {
    L[0] = oldL;
    H[0] = oldH;
  } else if (imm & 1) {
    L[src] = oldL;
    H[src] = oldH;
  }
}

/** Legacy packet load (LD_ABS / LD_IND) into r0; big-endian, as the kernel does. */
function legacyLoad(st: RunState, prog: Prog, w: number, imm: number, pc: number): void {
  const packet = prog.legacyPacket?.(st.env);
  if (!packet) throw new VmError(pc, 'unsupported', 'legacy packet load (LD_ABS/LD_IND) needs a packet (no legacyPacket option)');
  const src = (w >> 12) & 0xf;
  const size = (w & 0x18) === 0x00 ? 4 : (w & 0x18) === 0x08 ? 2 : 1;
  let off = imm;
  if ((w & 0xe0) === 0x40) off = (off + st.L[src]!) | 0;
  if (off < 0 || off + size > packet.length) throw new LegacyAbort();
  let v = 0;
  for (let i = 0; i < size; i++) v = (v << 8) | packet[off + i]!;
  st.L[0] = v;
  st.H[0] = 0;
}

/** Push a frame: save r6-r10, switch to a fresh zeroed stack. */
export function pushFrame(st: RunState, retPc: number, retProg: Prog, pc: number): void {
  const d = st.depth;
  if (d >= MAX_CALL_FRAMES) {
    throw new VmError(pc, 'call-depth', `call depth exceeds ${MAX_CALL_FRAMES} frames`);
  }
  const L = st.L;
  const H = st.H;
  const s = st.saved;
  const b = d * 10;
  for (let r = 6; r <= 10; r++) {
    s[b + (r - 6) * 2] = L[r]!;
    s[b + (r - 6) * 2 + 1] = H[r]!;
  }
  st.retPc[d] = retPc;
  st.retProg[d] = retProg;
  st.stackBytes[d]!.fill(0);
  L[10] = STACK_SIZE;
  H[10] = st.stackSeg[d]!;
  st.depth = d + 1;
}

/** Pop the innermost frame (restores r6-r10); returns the return pc and sets st.prog. */
function popFrame(st: RunState): number {
  const d = st.depth - 1;
  const L = st.L;
  const H = st.H;
  const s = st.saved;
  const b = d * 10;
  for (let r = 6; r <= 10; r++) {
    L[r] = s[b + (r - 6) * 2]!;
    H[r] = s[b + (r - 6) * 2 + 1]!;
  }
  st.prog = st.retProg[d]!;
  st.retProg[d] = undefined;
  st.depth = d;
  return st.retPc[d]!;
}

/** Call a helper/kfunc: marshal r1-r5 to bigint, store r0. */
function callHelper(st: RunState, impl: HelperImpl, pc: number, ctx: HelperCtxLike, id: number): void {
  const L = st.L;
  const H = st.H;
  ctx.pc = pc;
  st.mem.pc = pc;
  let ret: bigint | number | void;
  try {
    ret = impl(ctx, big(H[1]!, L[1]!), big(H[2]!, L[2]!), big(H[3]!, L[3]!), big(H[4]!, L[4]!), big(H[5]!, L[5]!));
  } catch (e) {
    if (e instanceof BpfkitError || e instanceof LegacyAbort) throw e;
    const what = ((st.prog.code[pc * 2]! >> 12) & 0xf) === 2 ? `kfunc with BTF id ${id}` : helperName(id);
    throw new VmError(pc, 'helper', `${what} failed: ${(e as Error)?.message ?? String(e)}`);
  }
  if (typeof ret === 'number') {
    if (ret >= 0 && ret <= 0xffffffff && Number.isInteger(ret)) {
      L[0] = ret | 0;
      H[0] = 0;
      return;
    }
    if (ret < 0 && ret >= -0x80000000 && Number.isInteger(ret)) {
      L[0] = ret;
      H[0] = -1;
      return;
    }
    ret = Number.isFinite(ret) ? BigInt(Math.trunc(ret)) : 0n;
  } else if (ret === undefined) {
    L[0] = 0;
    H[0] = 0;
    return;
  }
  const v = BigInt.asUintN(64, ret as bigint);
  L[0] = Number(BigInt.asIntN(32, v));
  H[0] = Number(BigInt.asIntN(32, v >> 32n));
}

/** Name of a helper id for messages. */
export function helperName(id: number): string {
  const h = helperById(id);
  return h ? `helper ${id} (${h.fullName})` : `helper ${id}`;
}

/** The mutable part of the helper context the interpreter updates per call. @internal */
export interface HelperCtxLike extends HelperCallContext {
  pc: number;
}

/**
 * Run `prog` from `pc` in frame `st.depth` until the frame numbered `base` exits. r0 is left in L[0]/H[0].
 * Throws `VmError` on any fault.
 */
export function execute(st: RunState, prog: Prog, pc: number, base: number, ctx: HelperCtxLike): void {
  const L = st.L;
  const H = st.H;
  const mem = st.mem;
  const RV = mem.rviews;
  const WV = mem.wviews;
  let code = prog.code;
  let count = st.count;
  const limit = st.limit;
  st.prog = prog;

  for (;;) {
    if (++count > limit) {
      st.count = count - 1;
      throw new VmError(pc, 'budget', `instruction budget of ${limit} exhausted`);
    }
    const i2 = pc << 1;
    const w = code[i2]!;
    const imm = code[i2 + 1]!;
    const d = (w >> 8) & 0xf;
    pc++;
    switch (w & 0xff) {
      // ---------------------------------------------------------------- ALU64
      case 0x07: {
        const a = L[d]!;
        const r = (a + imm) | 0;
        H[d] = (H[d]! + (imm >> 31) + ((r >>> 0) < (a >>> 0) ? 1 : 0)) | 0;
        L[d] = r;
        break;
      }
      case 0x0f: {
        const s = (w >> 12) & 0xf;
        const a = L[d]!;
        const r = (a + L[s]!) | 0;
        H[d] = (H[d]! + H[s]! + ((r >>> 0) < (a >>> 0) ? 1 : 0)) | 0;
        L[d] = r;
        break;
      }
      case 0x17: {
        const a = L[d]!;
        const r = (a - imm) | 0;
        H[d] = (H[d]! - (imm >> 31) - ((a >>> 0) < (imm >>> 0) ? 1 : 0)) | 0;
        L[d] = r;
        break;
      }
      case 0x1f: {
        const s = (w >> 12) & 0xf;
        const a = L[d]!;
        const b = L[s]!;
        H[d] = (H[d]! - H[s]! - ((a >>> 0) < (b >>> 0) ? 1 : 0)) | 0;
        L[d] = (a - b) | 0;
        break;
      }
      case 0x27: {
        const a = L[d]!;
        H[d] = (mulhu(a, imm) + Math.imul(a, imm >> 31) + Math.imul(H[d]!, imm)) | 0;
        L[d] = Math.imul(a, imm);
        break;
      }
      case 0x2f: {
        const s = (w >> 12) & 0xf;
        const a = L[d]!;
        const b = L[s]!;
        H[d] = (mulhu(a, b) + Math.imul(a, H[s]!) + Math.imul(H[d]!, b)) | 0;
        L[d] = Math.imul(a, b);
        break;
      }
      case 0x37:
      case 0x3f:
      case 0x97:
      case 0x9f: {
        const op = w & 0xff;
        const s = (w >> 12) & 0xf;
        const bl = op & 0x08 ? L[s]! : imm;
        const bh = op & 0x08 ? H[s]! : imm >> 31;
        const isMod = op >= 0x97;
        if (bl === 0 && bh === 0) {
          if (!isMod) {
            L[d] = 0;
            H[d] = 0;
          }
          break;
        }
        const ah = H[d]!;
        const al = L[d]!;
        if (ah === 0 && bh === 0) {
          const x = al >>> 0;
          const y = bl >>> 0;
          L[d] = (isMod ? x % y : Math.floor(x / y)) | 0;
          break;
        }
        udivmod64(st, ah, al, bh, bl, isMod);
        L[d] = st.rl;
        H[d] = st.rh;
        break;
      }
      case 0x47:
        L[d] = L[d]! | imm;
        H[d] = H[d]! | (imm >> 31);
        break;
      case 0x4f: {
        const s = (w >> 12) & 0xf;
        L[d] = L[d]! | L[s]!;
        H[d] = H[d]! | H[s]!;
        break;
      }
      case 0x57:
        L[d] = L[d]! & imm;
        H[d] = H[d]! & (imm >> 31);
        break;
      case 0x5f: {
        const s = (w >> 12) & 0xf;
        L[d] = L[d]! & L[s]!;
        H[d] = H[d]! & H[s]!;
        break;
      }
      case 0x67:
      case 0x6f: {
        const k = (w & 0x08 ? L[(w >> 12) & 0xf]! : imm) & 63;
        if (k === 0) break;
        const lo = L[d]!;
        if (k < 32) {
          H[d] = (H[d]! << k) | (lo >>> (32 - k));
          L[d] = lo << k;
        } else {
          H[d] = lo << (k - 32);
          L[d] = 0;
        }
        break;
      }
      case 0x77:
      case 0x7f: {
        const k = (w & 0x08 ? L[(w >> 12) & 0xf]! : imm) & 63;
        if (k === 0) break;
        const hi = H[d]!;
        if (k < 32) {
          L[d] = (L[d]! >>> k) | (hi << (32 - k));
          H[d] = hi >>> k;
        } else {
          L[d] = hi >>> (k - 32);
          H[d] = 0;
        }
        break;
      }
      case 0xc7:
      case 0xcf: {
        const k = (w & 0x08 ? L[(w >> 12) & 0xf]! : imm) & 63;
        if (k === 0) break;
        const hi = H[d]!;
        if (k < 32) {
          L[d] = (L[d]! >>> k) | (hi << (32 - k));
          H[d] = hi >> k;
        } else {
          L[d] = hi >> (k - 32);
          H[d] = hi >> 31;
        }
        break;
      }
      case 0x87: {
        const lo = L[d]!;
        L[d] = -lo | 0;
        H[d] = lo === 0 ? -H[d]! | 0 : ~H[d]!;
        break;
      }
      case 0xa7:
        L[d] = L[d]! ^ imm;
        H[d] = H[d]! ^ (imm >> 31);
        break;
      case 0xaf: {
        const s = (w >> 12) & 0xf;
        L[d] = L[d]! ^ L[s]!;
        H[d] = H[d]! ^ H[s]!;
        break;
      }
      case 0xb7:
        L[d] = imm;
        H[d] = imm >> 31;
        break;
      case 0xbf: {
        const s = (w >> 12) & 0xf;
        L[d] = L[s]!;
        H[d] = H[s]!;
        break;
      }
      case 0x70: {
        // movsx64 8
        const v = (L[(w >> 12) & 0xf]! << 24) >> 24;
        L[d] = v;
        H[d] = v >> 31;
        break;
      }
      case 0x78: {
        const v = (L[(w >> 12) & 0xf]! << 16) >> 16;
        L[d] = v;
        H[d] = v >> 31;
        break;
      }
      case 0x80: {
        const v = L[(w >> 12) & 0xf]!;
        L[d] = v;
        H[d] = v >> 31;
        break;
      }
      case 0xa8:
      case 0xb0:
      case 0xb8:
      case 0xc0: {
        const op = w & 0xff;
        const x = op === 0xb0 || op === 0xc0;
        const s = (w >> 12) & 0xf;
        sdivmod64(st, H[d]!, L[d]!, x ? H[s]! : imm >> 31, x ? L[s]! : imm, op >= 0xb8);
        L[d] = st.rl;
        H[d] = st.rh;
        break;
      }
      case 0xd7:
        endian(st, d, 0xd7, imm, pc - 1);
        break;

      // ---------------------------------------------------------------- ALU (32-bit, upper half zeroed)
      case 0x04:
        L[d] = (L[d]! + imm) | 0;
        H[d] = 0;
        break;
      case 0x0c:
        L[d] = (L[d]! + L[(w >> 12) & 0xf]!) | 0;
        H[d] = 0;
        break;
      case 0x14:
        L[d] = (L[d]! - imm) | 0;
        H[d] = 0;
        break;
      case 0x1c:
        L[d] = (L[d]! - L[(w >> 12) & 0xf]!) | 0;
        H[d] = 0;
        break;
      case 0x24:
        L[d] = Math.imul(L[d]!, imm);
        H[d] = 0;
        break;
      case 0x2c:
        L[d] = Math.imul(L[d]!, L[(w >> 12) & 0xf]!);
        H[d] = 0;
        break;
      case 0x34:
      case 0x3c: {
        const b = (w & 0x08 ? L[(w >> 12) & 0xf]! : imm) >>> 0;
        L[d] = b === 0 ? 0 : Math.floor((L[d]! >>> 0) / b) | 0;
        H[d] = 0;
        break;
      }
      case 0x94:
      case 0x9c: {
        const b = (w & 0x08 ? L[(w >> 12) & 0xf]! : imm) >>> 0;
        if (b !== 0) L[d] = ((L[d]! >>> 0) % b) | 0;
        H[d] = 0;
        break;
      }
      case 0x88:
      case 0x90: {
        const b = (w & 0xff) === 0x90 ? L[(w >> 12) & 0xf]! : imm;
        L[d] = b === 0 ? 0 : (L[d]! / b) | 0;
        H[d] = 0;
        break;
      }
      case 0x98:
      case 0xa0: {
        const b = (w & 0xff) === 0xa0 ? L[(w >> 12) & 0xf]! : imm;
        if (b !== 0) L[d] = (L[d]! % b) | 0;
        H[d] = 0;
        break;
      }
      case 0x44:
        L[d] = L[d]! | imm;
        H[d] = 0;
        break;
      case 0x4c:
        L[d] = L[d]! | L[(w >> 12) & 0xf]!;
        H[d] = 0;
        break;
      case 0x54:
        L[d] = L[d]! & imm;
        H[d] = 0;
        break;
      case 0x5c:
        L[d] = L[d]! & L[(w >> 12) & 0xf]!;
        H[d] = 0;
        break;
      case 0x64:
        L[d] = L[d]! << imm;
        H[d] = 0;
        break;
      case 0x6c:
        L[d] = L[d]! << L[(w >> 12) & 0xf]!;
        H[d] = 0;
        break;
      case 0x74:
        L[d] = L[d]! >>> imm;
        H[d] = 0;
        break;
      case 0x7c:
        L[d] = L[d]! >>> L[(w >> 12) & 0xf]!;
        H[d] = 0;
        break;
      case 0xc4:
        L[d] = L[d]! >> imm;
        H[d] = 0;
        break;
      case 0xcc:
        L[d] = L[d]! >> L[(w >> 12) & 0xf]!;
        H[d] = 0;
        break;
      case 0x84:
        L[d] = -L[d]! | 0;
        H[d] = 0;
        break;
      case 0xa4:
        L[d] = L[d]! ^ imm;
        H[d] = 0;
        break;
      case 0xac:
        L[d] = L[d]! ^ L[(w >> 12) & 0xf]!;
        H[d] = 0;
        break;
      case 0xb4:
        L[d] = imm;
        H[d] = 0;
        break;
      case 0xbc:
        L[d] = L[(w >> 12) & 0xf]!;
        H[d] = 0;
        break;
      case 0x60:
        L[d] = (L[(w >> 12) & 0xf]! << 24) >> 24;
        H[d] = 0;
        break;
      case 0x68:
        L[d] = (L[(w >> 12) & 0xf]! << 16) >> 16;
        H[d] = 0;
        break;
      case 0xd4:
      case 0xdc:
        endian(st, d, w & 0xff, imm, pc - 1);
        break;

      // ---------------------------------------------------------------- 64-bit immediate
      case 0x18:
        L[d] = imm;
        H[d] = code[i2 + 3]!;
        pc++;
        break;

      // ---------------------------------------------------------------- loads
      case 0x61:
      case 0x69:
      case 0x71:
      case 0x79:
      case 0x81:
      case 0x89:
      case 0x91: {
        const s = (w >> 12) & 0xf;
        const off = w >> 16;
        const b = L[s]!;
        const alo = (b + off) | 0;
        const ahi = (H[s]! + (off >> 31) + ((alo >>> 0) < (b >>> 0) ? 1 : 0)) | 0;
        const op = w & 0xff;
        const size = op === 0x79 ? 8 : op === 0x61 || op === 0x81 ? 4 : op === 0x69 || op === 0x89 ? 2 : 1;
        if ((ahi >>> 0) >= RV.length) throw mem.fault(pc - 1, ahi, alo, size, false);
        const dv = RV[ahi]!;
        const o = alo >>> 0;
        if (o + size > dv.byteLength) throw mem.fault(pc - 1, ahi, alo, size, false);
        switch (op) {
          case 0x71:
            L[d] = dv.getUint8(o);
            H[d] = 0;
            break;
          case 0x69:
            L[d] = dv.getUint16(o, true);
            H[d] = 0;
            break;
          case 0x61:
            L[d] = dv.getInt32(o, true);
            H[d] = 0;
            break;
          case 0x79:
            L[d] = dv.getInt32(o, true);
            H[d] = dv.getInt32(o + 4, true);
            break;
          case 0x91: {
            const v = dv.getInt8(o);
            L[d] = v;
            H[d] = v >> 31;
            break;
          }
          case 0x89: {
            const v = dv.getInt16(o, true);
            L[d] = v;
            H[d] = v >> 31;
            break;
          }
          default: {
            const v = dv.getInt32(o, true);
            L[d] = v;
            H[d] = v >> 31;
          }
        }
        break;
      }

      // ---------------------------------------------------------------- stores
      case 0x62:
      case 0x6a:
      case 0x72:
      case 0x7a:
      case 0x63:
      case 0x6b:
      case 0x73:
      case 0x7b: {
        const off = w >> 16;
        const b = L[d]!;
        const alo = (b + off) | 0;
        const ahi = (H[d]! + (off >> 31) + ((alo >>> 0) < (b >>> 0) ? 1 : 0)) | 0;
        const op = w & 0xff;
        const sz = op & 0x18;
        const size = sz === 0x18 ? 8 : sz === 0x00 ? 4 : sz === 0x08 ? 2 : 1;
        if ((ahi >>> 0) >= WV.length) throw mem.fault(pc - 1, ahi, alo, size, true);
        const dv = WV[ahi]!;
        const o = alo >>> 0;
        if (o + size > dv.byteLength) throw mem.fault(pc - 1, ahi, alo, size, true);
        let vl: number;
        let vh: number;
        if (op & 1) {
          const s = (w >> 12) & 0xf;
          vl = L[s]!;
          vh = H[s]!;
        } else {
          vl = imm;
          vh = imm >> 31;
        }
        if (sz === 0x10) dv.setUint8(o, vl);
        else if (sz === 0x08) dv.setUint16(o, vl, true);
        else if (sz === 0x00) dv.setInt32(o, vl, true);
        else {
          dv.setInt32(o, vl, true);
          dv.setInt32(o + 4, vh, true);
        }
        break;
      }
      case 0xc3:
      case 0xdb:
        atomic(st, w, imm, pc - 1);
        break;

      // ---------------------------------------------------------------- jumps (targets checked at load)
      case 0x05:
        pc += w >> 16;
        break;
      case 0x06:
        pc += imm;
        break;
      case 0x15:
        if (L[d] === imm && H[d] === imm >> 31) pc += w >> 16;
        break;
      case 0x1d: {
        const s = (w >> 12) & 0xf;
        if (L[d] === L[s] && H[d] === H[s]) pc += w >> 16;
        break;
      }
      case 0x55:
        if (L[d] !== imm || H[d] !== imm >> 31) pc += w >> 16;
        break;
      case 0x5d: {
        const s = (w >> 12) & 0xf;
        if (L[d] !== L[s] || H[d] !== H[s]) pc += w >> 16;
        break;
      }
      case 0x45:
        if ((L[d]! & imm) !== 0 || (H[d]! & (imm >> 31)) !== 0) pc += w >> 16;
        break;
      case 0x4d: {
        const s = (w >> 12) & 0xf;
        if ((L[d]! & L[s]!) !== 0 || (H[d]! & H[s]!) !== 0) pc += w >> 16;
        break;
      }
      case 0x25:
      case 0x2d:
      case 0x35:
      case 0x3d:
      case 0xa5:
      case 0xad:
      case 0xb5:
      case 0xbd: {
        // unsigned 64-bit compares
        let bl: number;
        let bh: number;
        if (w & 0x08) {
          const s = (w >> 12) & 0xf;
          bl = L[s]! >>> 0;
          bh = H[s]! >>> 0;
        } else {
          bl = imm >>> 0;
          bh = (imm >> 31) >>> 0;
        }
        const ah = H[d]! >>> 0;
        const al = L[d]! >>> 0;
        let t: boolean;
        switch (w & 0xf0) {
          case 0x20:
            t = ah > bh || (ah === bh && al > bl);
            break;
          case 0x30:
            t = ah > bh || (ah === bh && al >= bl);
            break;
          case 0xa0:
            t = ah < bh || (ah === bh && al < bl);
            break;
          default:
            t = ah < bh || (ah === bh && al <= bl);
        }
        if (t) pc += w >> 16;
        break;
      }
      case 0x65:
      case 0x6d:
      case 0x75:
      case 0x7d:
      case 0xc5:
      case 0xcd:
      case 0xd5:
      case 0xdd: {
        // signed 64-bit compares: signed high halves, unsigned low halves
        let bl: number;
        let bh: number;
        if (w & 0x08) {
          const s = (w >> 12) & 0xf;
          bl = L[s]! >>> 0;
          bh = H[s]!;
        } else {
          bl = imm >>> 0;
          bh = imm >> 31;
        }
        const ah = H[d]!;
        const al = L[d]! >>> 0;
        let t: boolean;
        switch (w & 0xf0) {
          case 0x60:
            t = ah > bh || (ah === bh && al > bl);
            break;
          case 0x70:
            t = ah > bh || (ah === bh && al >= bl);
            break;
          case 0xc0:
            t = ah < bh || (ah === bh && al < bl);
            break;
          default:
            t = ah < bh || (ah === bh && al <= bl);
        }
        if (t) pc += w >> 16;
        break;
      }

      // ---------------------------------------------------------------- 32-bit jumps
      case 0x16:
      case 0x1e:
      case 0x56:
      case 0x5e:
      case 0x46:
      case 0x4e:
      case 0x26:
      case 0x2e:
      case 0x36:
      case 0x3e:
      case 0xa6:
      case 0xae:
      case 0xb6:
      case 0xbe:
      case 0x66:
      case 0x6e:
      case 0x76:
      case 0x7e:
      case 0xc6:
      case 0xce:
      case 0xd6:
      case 0xde: {
        const a = L[d]!;
        const b = w & 0x08 ? L[(w >> 12) & 0xf]! : imm;
        let t: boolean;
        switch (w & 0xf0) {
          case 0x10:
            t = a === b;
            break;
          case 0x50:
            t = a !== b;
            break;
          case 0x40:
            t = (a & b) !== 0;
            break;
          case 0x20:
            t = a >>> 0 > b >>> 0;
            break;
          case 0x30:
            t = a >>> 0 >= b >>> 0;
            break;
          case 0xa0:
            t = a >>> 0 < b >>> 0;
            break;
          case 0xb0:
            t = a >>> 0 <= b >>> 0;
            break;
          case 0x60:
            t = a > b;
            break;
          case 0x70:
            t = a >= b;
            break;
          case 0xc0:
            t = a < b;
            break;
          default:
            t = a <= b;
        }
        if (t) pc += w >> 16;
        break;
      }

      // ---------------------------------------------------------------- calls and exit
      case 0x85: {
        const impl = prog.calls[pc - 1]!;
        st.count = count;
        callHelper(st, impl, pc - 1, ctx, imm);
        count = st.count;
        if (st.pendingTail !== undefined) {
          prog = st.pendingTail;
          st.pendingTail = undefined;
          st.prog = prog;
          code = prog.code;
          pc = 0;
          st.stackBytes[st.depth - 1]!.fill(0);
        }
        break;
      }
      case 0xc8:
        pushFrame(st, pc, prog, pc - 1);
        pc += imm;
        st.prog = prog;
        break;
      case 0x8d: {
        const target = L[d]!;
        const thi = H[d]!;
        if (prog.callx === 'helper') {
          const impl = thi === 0 ? prog.helpers.get(target) : undefined;
          if (!impl) throw new VmError(pc - 1, 'helper', `callx: no ${helperName(target)} registered`);
          st.count = count;
          callHelper(st, impl, pc - 1, ctx, target);
          count = st.count;
          if (st.pendingTail !== undefined) {
            prog = st.pendingTail;
            st.pendingTail = undefined;
            st.prog = prog;
            code = prog.code;
            pc = 0;
            st.stackBytes[st.depth - 1]!.fill(0);
          }
          break;
        }
        if (!((thi === 0 || thi === (CODE_SEGMENT | 0)) && target >= 0 && target < prog.n && prog.isStart[target] === 1)) {
          throw new VmError(pc - 1, 'jump', `callx: target 0x${big(thi, target).toString(16)} is not an instruction of the program`);
        }
        pushFrame(st, pc, prog, pc - 1);
        pc = target;
        break;
      }
      case 0x95: {
        const dep = st.depth;
        if (dep === 1) {
          st.depth = 0;
          st.count = count;
          return;
        }
        pc = popFrame(st);
        prog = st.prog;
        code = prog.code;
        if (dep === base) {
          st.count = count;
          return;
        }
        break;
      }

      // ---------------------------------------------------------------- legacy packet loads
      case 0x20:
      case 0x28:
      case 0x30:
      case 0x40:
      case 0x48:
      case 0x50:
        legacyLoad(st, prog, w, imm, pc - 1);
        break;

      default: {
        const at = pc - 1;
        st.count = count;
        if (at >= prog.n) throw new VmError(at, 'jump', 'execution fell off the end of the program');
        if (prog.isStart[at] !== 1) throw new VmError(at, 'jump', 'jump into the middle of a 64-bit immediate load');
        throw new VmError(at, 'invalid', `cannot execute opcode 0x${(w & 0xff).toString(16).padStart(2, '0')}`);
      }
    }
  }
}
