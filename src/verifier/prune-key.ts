/**
 * Quick rejection for state pruning. Comparing the current state with every state already explored at an
 * instruction is the verifier's hottest loop, and most comparisons fail on a register or stack slot whose type,
 * pointer offset or constant differs. A `PruneKey` lists those facts of an explored (immutable) state — only
 * conditions `statesCovered` itself requires — and a `CurView` has the same facts of the current state in flat
 * arrays, so a comparison that must fail is usually refused after a few number comparisons. When the quick check
 * passes, the full `statesCovered` still decides: the pruning outcome never changes.
 */
import { UNKNOWN } from './bounds.js';
import { STACK_SLOTS, type Reg, type VState } from './state.js';

/** Positions per frame: registers r0-r9 at 0..9, stack slot i at SLOT0 + i. */
const SLOT0 = 16;
const PER_FRAME = SLOT0 + STACK_SLOTS;

const TYPE_CODE: Readonly<Record<Reg['type'], number>> = {
  not_init: 0,
  scalar: 1,
  ctx: 2,
  stack: 3,
  map_ptr: 4,
  map_value: 5,
  map_key: 6,
  pkt: 7,
  pkt_meta: 8,
  pkt_end: 9,
  mem: 10,
  func: 11,
  flow_keys: 12,
  sock: 13,
  sock_common: 14,
  tcp_sock: 15,
};

/** Code of a register: its type (0: uninitialised). */
function regCode(r: Reg): number {
  return TYPE_CODE[r.type];
}

/**
 * What else must be equal in a covering state: a pointer's fixed offset, a scalar's constant; NaN when nothing
 * (a scalar that is not constant may cover other scalars). Equal values give equal numbers.
 */
function regHash(r: Reg): number {
  if (r.type === 'scalar') return r.s.t.mask === 0n ? Number(r.s.t.value) : NaN;
  return r.type === 'not_init' ? NaN : r.off;
}

/** A spilled register's code also says where it sits in the slot (covering requires the same place and size). */
const spillCode = (sp: { reg: Reg; at: number; size: number }) => regCode(sp.reg) | (sp.at << 4) | (sp.size << 8);

/** Doubles kept per fact: the constant's hash (NaN: none), then umin, umax, smin, smax of `s`. */
const W = 5;
/** Ints kept per fact: position, code, frame, register bit (0 for a stack slot: always compared). */
const F = 4;

/**
 * Necessary conditions for a state to cover another, per position: equal code; equal hash unless NaN; and the
 * old value's ranges containing the new one's. Ranges are doubles: `Number()` of a bigint is monotonic, so a
 * double comparison that fails proves the bigint one fails.
 */
export interface PruneKey {
  /** F ints per condition, positions ascending (plain arrays: cheaper to allocate than typed ones when small). */
  readonly facts: number[];
  /** W doubles per condition. */
  readonly vals: number[];
}

/** A state's facts by position (code -1: nothing there), and the live registers of each frame. */
export interface CurView {
  code: Int32Array;
  vals: Float64Array;
  /** Positions filled (frames × PER_FRAME). */
  size: number;
  live: number[];
}

const UNKNOWN_VALS = [NaN, Number(UNKNOWN.umin), Number(UNKNOWN.umax), Number(UNKNOWN.smin), Number(UNKNOWN.smax)];

function putVals(vals: Float64Array, at: number, r: Reg): void {
  const s = r.s;
  if (s === UNKNOWN && r.type === 'scalar') {
    for (let w = 0; w < W; w++) vals[at + w] = UNKNOWN_VALS[w]!;
    return;
  }
  vals[at] = regHash(r);
  vals[at + 1] = Number(s.umin);
  vals[at + 2] = Number(s.umax);
  vals[at + 3] = Number(s.smin);
  vals[at + 4] = Number(s.smax);
}

/** A reusable view. */
export function newCurView(): CurView {
  return { code: new Int32Array(0), vals: new Float64Array(0), size: 0, live: [] };
}

/** Fill `v` with the facts of `st`: registers r0-r9 and spilled registers (`live(frame)`: live registers). */
export function fillCurView(v: CurView, st: VState, live?: (frame: number) => number): void {
  const frames = st.frames;
  const n = frames.length * PER_FRAME;
  if (v.code.length < n) {
    v.code = new Int32Array(n);
    v.vals = new Float64Array(n * W);
  }
  v.size = n;
  v.code.fill(-1, 0, n);
  v.live.length = 0;
  for (let fi = 0; fi < frames.length; fi++) {
    const f = frames[fi]!;
    const base = fi * PER_FRAME;
    v.live.push(live ? live(fi) : 0);
    for (let r = 0; r < 10; r++) {
      const reg = f.regs[r]!;
      const c = regCode(reg);
      v.code[base + r] = c;
      // An uninitialised register's values are never compared: only its code.
      if (c !== 0) putVals(v.vals, (base + r) * W, reg);
    }
    const stack = f.stack;
    for (let i = 0; i < STACK_SLOTS; i++) {
      const sp = stack[i]?.spill;
      if (!sp) continue;
      const p = base + SLOT0 + i;
      v.code[p] = spillCode(sp);
      putVals(v.vals, p * W, sp.reg);
    }
  }
}

/**
 * The conditions a state covering others imposes, from its filled view. Uninitialised registers (also spilled
 * ones made uninitialised by the unprivileged rules) cover anything in the non-exact comparison: no condition.
 */
export function keyFromView(v: CurView): PruneKey {
  let m = 0;
  for (let p = 0; p < v.size; p++) if (v.code[p]! > 0 && (v.code[p]! & 15) !== 0) m++;
  const facts = new Array<number>(F * m);
  const vals = new Array<number>(W * m);
  let j = 0;
  for (let p = 0; p < v.size; p++) {
    const c = v.code[p]!;
    if (c <= 0 || (c & 15) === 0) continue;
    const local = p % PER_FRAME;
    facts[F * j] = p;
    facts[F * j + 1] = c;
    facts[F * j + 2] = (p - local) / PER_FRAME;
    facts[F * j + 3] = local < SLOT0 ? 1 << local : 0;
    for (let w = 0; w < W; w++) vals[W * j + w] = v.vals[W * p + w]!;
    j++;
  }
  return { facts, vals };
}

/** Condition `j` of `k` holds for the view. */
function factHolds(k: PruneKey, j: number, v: CurView): boolean {
  const f = k.facts;
  const bit = f[F * j + 3]!;
  if (bit !== 0 && !(v.live[f[F * j + 2]!]! & bit)) return true;
  const p = f[F * j]!;
  if (v.code[p] !== f[F * j + 1]) return false;
  const a = j * W;
  const b = p * W;
  const kv = k.vals;
  const vv = v.vals;
  const h = kv[a]!;
  if (h === h && vv[b] !== h) return false;
  return !(vv[b + 1]! < kv[a + 1]! || vv[b + 2]! > kv[a + 2]! || vv[b + 3]! < kv[a + 3]! || vv[b + 4]! > kv[a + 4]!);
}

/**
 * -1 when the state keyed `k` may cover the viewed one (compare in full); otherwise the index of a condition that
 * fails, so it certainly does not (non-exact comparison; same frame count assumed, callers check it first).
 * `hint` is a condition index to try first (the last one that failed: states saved at one instruction tend to
 * differ in the same place).
 */
export function coverFailsAt(k: PruneKey, v: CurView, hint: number): number {
  const n = k.facts.length / F;
  if (hint >= 0 && hint < n && !factHolds(k, hint, v)) return hint;
  for (let j = 0; j < n; j++) if (!factHolds(k, j, v)) return j;
  return -1;
}
