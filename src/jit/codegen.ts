/**
 * Code generation of one eBPF function into WebAssembly functions.
 *
 * Signature: (r0..r9: i64, rem: i64, depth: i32) → (r0..r5: i64, rem: i64) — the callee gets every register and
 * hands r0..r5 back, as the interpreter's frames do. Registers live in i64 locals; `rem` is the remaining
 * instruction budget. Functions without loops (and every slow variant) decrement it once per budget segment
 * (cfg.ts) with a check (`fault` import on exhaustion, naming the exact pc); the fast variant of a function with
 * loops checks it at check points only and subtracts lazily (budget.ts), continuing in the slow variant when a
 * check point finds too little left. The prologue zeroes the frame's 512-byte stack and loads r10 from the run's
 * stack table.
 *
 * Control flow: structured when structure.ts can (Wasm `loop` per backward-jump target, `block` per forward
 * target, in pc order), otherwise a dispatcher: blocks in pc order inside `loop { block_{N-1} ... block_0 {
 * br_table(lbl) } code_0 } code_1 ... }`: a forward jump is a direct `br`, a backward one sets `lbl` and
 * branches to the loop head. The dispatcher handles any control flow, irreducible included.
 *
 * Memory: an access is checked against the segment table (layout.ts) with one unsigned compare; a hit
 * accesses `base + offset`. Accesses through r10 at a constant offset inside the frame need no check (r10 is
 * read-only, the frame always mapped). In the fast variant, an access through a register derived from an
 * argument (regions.ts) is checked instead against the region the argument pointed into, looked up once at
 * function entry and after each call (one subtract and one unsigned compare; the run entry's r1 region sits at a
 * constant linear address, the argument window). On a miss, the fast variant (the function itself) continues in
 * its slow variant, resuming at the access, with the registers that are still live (liveness.ts; the others 0);
 * the slow variant (a dispatcher whose blocks also start at every access) calls the `miss` import, which pages
 * the region in or throws the interpreter's fault. No call on the miss path of the fast variant means V8 keeps
 * the eBPF registers in machine registers through loops. Stores mark the region's table entry dirty, so only
 * written regions are copied back (paging.ts).
 */
import type { Block, FuncCfg, JInsn, Kind, Segment } from './cfg.js';
import { accessSize, jumpTarget, kindOf } from './cfg.js';
import { Bytes, I32, I64, VOID, W } from './wasm.js';
import { structure, type Construct } from './structure.js';
import { ARG_WINDOW, DIRTY, ENTRY, REGS, REM, RESUME, STACK_LIN, STACK_R10, TABLE, TABLE_CAP } from './layout.js';
import type { BudgetPlan } from './budget.js';
import { LOAD_ORIGIN, planRegions, type RegionPlan } from './regions.js';
import { liveness } from './liveness.js';

/** Function indices of the imports (module.ts declares them in this order). */
export const IMP = { helper: 0, callx: 1, miss: 2, fault: 3, tail: 4, ldabs: 5 } as const;
export const IMPORT_COUNT = 6;

/** Fault kinds passed to the `fault` import. */
export const FaultCode = { budget: 0, callDepth: 1, falloff: 2, invalidOp: 3, endianWidth: 4, atomicOp: 5 } as const;

/** Locals: parameters r0..r9 (0-9), rem (10), depth (11); then r10, t0, t1 (i64), a, lbl, sp (i32). */
const REM_L = 10;
const DEPTH = 11;
const R10 = 12;
const T0 = 13;
const T1 = 14;
const A = 15;
const LBL = 16;
const SP = 17;
/** Extra locals after the parameters. */
export const FUNC_LOCALS = [I64, I64, I64, I32, I32, I32];

const reg = (r: number) => (r === 10 ? R10 : r);
/** An access through r10 at a constant offset inside the 512-byte frame: no check needed. */
function inFrame(base: number, off: number, size: number): boolean {
  return base === 10 && off >= -512 && off + size <= 0;
}

/** Is this access (load, store, atomic) statically inside the current stack frame? */
export function stackOnly(i: JInsn): boolean {
  const base = (i.op & 7) === 1 ? i.src : i.dst;
  return inFrame(base, i.off, accessSize(i));
}

/** Debugging switch: always use the dispatcher layout. */
const FORCE_DISPATCH = typeof process !== 'undefined' && process.env?.BPFKIT_JIT_DISPATCH === '1';
/** Debugging switch: no argument-region fast path (every access through the segment table). */
const FORCE_TABLE = typeof process !== 'undefined' && process.env?.BPFKIT_JIT_TABLE === '1';

/**
 * How to emit a function. The fast variant (the function's entry) has no call on its memory-miss paths: a miss
 * hands over to the slow variant (`slow`, its Wasm function `slowIndex`), which resumes at the faulting access
 * (every access starts a block there) and handles misses with the `miss` import inline. Keeping calls out of the
 * fast variant's loops lets V8 keep eBPF registers in machine registers. The slow variant is a dispatcher.
 */
export interface EmitOptions {
  /** Wasm function index of an eBPF function entry (its fast variant). */
  funcIndex: (pc: number) => number;
  /** Emitting the slow variant (resumes at the block index stored at RESUME; no stack zeroing). */
  slowVariant?: boolean;
  /** For the fast variant: the slow variant's blocks and function index (absent: misses call `miss` inline). */
  slow?: { cfg: FuncCfg; index: number };
  /**
   * For the fast variant of a function with loops: budget checks at check points only (budget.ts); a check
   * point without enough budget continues in the slow variant (required then).
   */
  budget?: BudgetPlan;
}

/** Emit the body of the function `f`: its code and the types of its locals after the parameters. */
export function emitFunction(f: FuncCfg, opts: EmitOptions): { code: Bytes; locals: number[] } {
  const e = new FnEmitter(f, opts);
  const code = e.emit();
  return { code, locals: e.locals };
}

/** Locals of the cached region of one argument register (regions.ts). */
interface RegionLocals {
  /** The argument's value at function entry. */
  orig: number;
  /** First address of its region (segment << 32). */
  start: number;
  /** Linear address of the region's paged-in copy (-1: the argument window, a constant). */
  base: number;
  /** Per access kind (`size * 2 + write`): accesses at offsets from `start` below this hit. */
  lim: Map<number, number>;
  writes: boolean;
}

class FnEmitter {
  private readonly c = new Bytes();
  /** Index of the block being emitted. */
  private cur = 0;
  /** Nesting of constructs opened inside the current block's code. */
  private extra = 0;
  private readonly n: number;
  /** Open constructs (structured layout only). */
  private labels: Construct[] | undefined;

  private readonly funcIndex: (pc: number) => number;
  /** Budget plan (check points), or undefined for per-segment checks. */
  private readonly plan: BudgetPlan | undefined;
  /** With a plan: instructions executed since the budget local was last decremented (at this point of code). */
  private pend = 0;
  /** Types of the locals after the parameters. */
  readonly locals: number[] = [...FUNC_LOCALS];
  /** Cached regions of argument registers (fast variant), by argument register. */
  private readonly regions = new Map<number, RegionLocals>();
  private regionSite: Map<number, number> | undefined;
  /** Registers live before each instruction (fast variant: hand-overs pass 0 for the others). */
  private live: Map<number, number> | undefined;

  constructor(
    private readonly f: FuncCfg,
    private readonly opts: EmitOptions,
  ) {
    this.n = f.blocks.length;
    this.funcIndex = opts.funcIndex;
    this.plan = opts.budget;
    if (this.plan && !opts.slow) throw new Error('JIT: check-point budget needs the slow variant');
    if (opts.slow) this.live = liveness(f).before;
    if (opts.slow && !FORCE_TABLE) {
      const rp: RegionPlan = planRegions(f, stackOnly);
      this.regionSite = rp.site;
      for (const [o, kinds] of rp.uses) {
        const lim = new Map<number, number>();
        for (const k of [...kinds].sort((a, b) => a - b)) lim.set(k, this.local(I64));
        // The run entry's r1 (context or packet) is in the argument window; elsewhere a base local.
        const base = o === 1 && f.entry === 0 ? -1 : this.local(I32);
        this.regions.set(o, { orig: this.local(I64), start: this.local(I64), base, lim, writes: [...kinds].some((k) => k & 1) });
      }
    }
  }

  private local(type: number): number {
    this.locals.push(type);
    return 12 + this.locals.length - 1;
  }

  // ------------------------------------------------------------------ small emitters
  private op(o: number): void {
    this.c.byte(o);
  }
  private get(l: number): void {
    this.c.byte(W.local_get).u32(l);
  }
  private set(l: number): void {
    this.c.byte(W.local_set).u32(l);
  }
  private tee(l: number): void {
    this.c.byte(W.local_tee).u32(l);
  }
  private i32(v: number): void {
    this.c.byte(W.i32_const).s32(v);
  }
  private i64(v: number | bigint): void {
    // int32-range values: the same signed LEB128, without going through a bigint.
    if (typeof v === 'number' && (v | 0) === v) this.c.byte(W.i64_const).s32(v);
    else this.c.byte(W.i64_const).s64(BigInt(v));
  }
  private memop(o: number, offset: number, align = 0): void {
    this.c.byte(o).u32(align).u32(offset);
  }
  private call(fn: number): void {
    this.c.byte(W.call).u32(fn);
  }
  private open(kind: number, type = VOID): void {
    this.c.byte(kind).byte(type);
    this.extra++;
  }
  private end(): void {
    this.c.byte(W.end);
    this.extra--;
  }
  private fault(code: number, pc: number, extra: number): void {
    this.i32(code);
    this.i32(pc);
    this.i32(extra);
    this.call(IMP.fault);
    this.op(W.unreachable);
  }

  // ------------------------------------------------------------------ structure
  emit(): Bytes {
    // Prologue: stack of this frame, zeroed; r10; first block.
    this.get(DEPTH);
    this.i32(2);
    this.op(W.i32_shl);
    this.memop(W.i32_load, STACK_LIN - 4, 2);
    if (this.opts.slowVariant) this.set(SP);
    else {
      this.tee(SP);
      this.i32(0);
      this.i32(512);
      this.c.byte(0xfc).u32(11).byte(0); // memory.fill
    }
    this.get(DEPTH);
    this.i32(3);
    this.op(W.i32_shl);
    this.memop(W.i64_load, STACK_R10 - 8, 3);
    this.set(R10);
    for (const [o, r] of this.regions) {
      if (o >= LOAD_ORIGIN) continue;
      this.get(o);
      this.set(r.orig);
      this.setupRegion(r);
    }
    const plan = this.opts.slowVariant || FORCE_DISPATCH ? undefined : structure(this.f);
    if (plan) this.emitStructured(plan);
    else this.emitDispatcher();
    this.op(W.unreachable);
    return this.c;
  }

  private emitDispatcher(): void {
    const n = this.n;
    const entryIdx = this.f.blockAt.get(this.f.entry)!;
    if (this.opts.slowVariant) {
      this.i32(REGS);
      this.memop(W.i32_load, RESUME, 2);
    } else this.i32(entryIdx);
    this.set(LBL);
    this.c.byte(W.loop).byte(VOID);
    for (let i = 0; i < n; i++) this.c.byte(W.block).byte(VOID);
    this.get(LBL);
    this.c.byte(W.br_table).u32(n);
    for (let i = 0; i < n; i++) this.c.u32(i);
    this.c.u32(entryIdx);
    this.c.byte(W.end);
    for (let i = 0; i < n; i++) {
      this.cur = i;
      this.extra = 0;
      this.block(this.f.blocks[i]!);
      this.c.byte(W.end); // closes block_{i+1}, or the loop after the last block
    }
  }

  private emitStructured(plan: Construct[]): void {
    const labels = (this.labels = [] as Construct[]);
    let k = 0;
    for (let i = 0; i < this.n; i++) {
      while (labels.length && labels[labels.length - 1]!.end === i) {
        this.c.byte(W.end);
        labels.pop();
      }
      if (labels.length && labels[labels.length - 1]!.end < i) throw new Error('JIT: constructs do not nest');
      for (; k < plan.length && plan[k]!.start === i; k++) {
        this.c.byte(plan[k]!.kind === 'loop' ? W.loop : W.block).byte(VOID);
        labels.push(plan[k]!);
      }
      this.cur = i;
      this.extra = 0;
      this.block(this.f.blocks[i]!);
    }
    while (labels.length) {
      if (labels[labels.length - 1]!.end !== this.n) throw new Error('JIT: constructs do not nest');
      this.c.byte(W.end);
      labels.pop();
    }
  }

  /** Depth of the label a branch to block `j` uses in the structured layout. */
  private labelDepth(j: number): number {
    const l = this.labels!;
    const back = j <= this.cur;
    for (let d = l.length - 1; d >= 0; d--) {
      const c = l[d]!;
      if (back ? c.kind === 'loop' && c.start === j : c.kind === 'block' && c.end === j) return l.length - 1 - d + this.extra;
    }
    throw new Error(`JIT: no label for a branch from block ${this.cur} to block ${j}`);
  }

  /** Branch to the block starting at `pc` (from the end of the current block's code). */
  private jump(pc: number): void {
    const j = this.f.blockAt.get(pc);
    if (j === undefined) throw new Error(`JIT: jump target ${pc} is not a block`);
    this.settle(pc);
    if (this.labels) {
      if (j === this.cur + 1 && this.extra === 0) return; // falls through
      this.c.byte(W.br).u32(this.labelDepth(j));
    } else if (j > this.cur) {
      if (j === this.cur + 1 && this.extra === 0) return; // falls through
      this.c.byte(W.br).u32(j - this.cur - 1 + this.extra);
    } else {
      this.i32(j);
      this.set(LBL);
      this.c.byte(W.br).u32(this.n - 1 - this.cur + this.extra);
    }
  }

  private block(b: Block): void {
    const plan = this.plan;
    if (!plan) {
      for (const seg of b.segments) {
        this.budget(seg);
        for (const i of seg.insns) this.insn(i, kindOf(i));
      }
      return;
    }
    this.pend = plan.pending[b.index]!;
    const need = plan.need.get(b.index);
    if (need !== undefined) {
      // Check point (nothing pending here): not enough budget to reach the next one unchecked -> slow variant.
      this.get(REM_L);
      this.i64(need);
      this.op(W.i64_lt_s);
      this.open(W.if);
      this.handOff(b.start, 0);
      this.end();
    }
    for (const i of b.insns) {
      this.pend++;
      this.insn(i, kindOf(i));
    }
    const last = b.insns[b.insns.length - 1]!;
    const k = kindOf(last);
    if (k !== 'ja' && k !== 'cond' && k !== 'exit' && k !== 'falloff' && k !== 'invalid') this.settle(last.pc + last.slots);
  }

  /** Instructions to subtract on the edge to the block at `pc` (what it does not inherit as pending). */
  private edgeCount(pc: number): number {
    const plan = this.plan;
    if (!plan) return 0;
    const p = plan.pending[this.f.blockAt.get(pc)!]!;
    if (p !== 0 && p !== this.pend) throw new Error(`JIT: budget plan: block ${pc} expects ${p} pending, have ${this.pend}`);
    return this.pend - p;
  }

  /** Subtract what the edge to `pc` must settle (the compile-time pending count is unchanged). */
  private settle(pc: number): void {
    const k = this.edgeCount(pc);
    if (k > 0) this.subRem(k);
  }

  private subRem(k: number): void {
    this.get(REM_L);
    this.i64(k);
    this.op(W.i64_sub);
    this.set(REM_L);
  }

  /** Settle the pending count now (before calls). */
  private materialize(): void {
    if (this.pend > 0 && this.plan) this.subRem(this.pend);
    this.pend = 0;
  }

  /** Push the budget left at this point: pending instructions settled, but `back` of them given back (not run). */
  private remNow(back = 0): void {
    this.get(REM_L);
    const k = this.plan ? this.pend - back : -back;
    if (k !== 0) {
      this.i64(k);
      this.op(W.i64_sub);
    }
  }

  /**
   * Continue in the slow variant at the block starting at `pc` and return its result. `back`: instructions of
   * the current count that have not run (the slow variant counts them again).
   */
  private handOff(pc: number, back: number): void {
    const slow = this.opts.slow!;
    const idx = slow.cfg.blockAt.get(pc);
    if (idx === undefined) throw new Error(`JIT: no slow-variant block at ${pc}`);
    this.i32(REGS);
    this.i32(idx);
    this.memop(W.i32_store, RESUME, 2);
    const live = this.live?.get(pc) ?? 0x3ff;
    for (let r = 0; r <= 9; r++) {
      if (live & (1 << r)) this.get(r);
      else this.i64(0); // dead: never read again, whatever it held
    }
    this.remNow(back);
    this.get(DEPTH);
    this.call(slow.index);
    this.op(W.return);
  }

  private budget(seg: Segment): void {
    this.get(REM_L);
    this.i64(seg.count);
    this.op(W.i64_sub);
    this.tee(REM_L);
    this.i64(0);
    this.op(W.i64_lt_s);
    this.open(W.if);
    this.i32(FaultCode.budget);
    this.i32(seg.start);
    this.get(REM_L);
    this.i64(seg.count);
    this.op(W.i64_add);
    this.op(W.i32_wrap_i64);
    this.call(IMP.fault);
    this.op(W.unreachable);
    this.end();
  }

  // ------------------------------------------------------------------ instructions
  private insn(i: JInsn, k: Kind): void {
    switch (k) {
      case 'alu':
        return this.alu(i);
      case 'endian':
        return this.endian(i);
      case 'lddw':
        this.i64((BigInt(i.hi) << 32n) | BigInt(i.imm >>> 0));
        this.set(reg(i.dst));
        return;
      case 'load':
        return this.load(i);
      case 'store':
        return this.store(i);
      case 'atomic':
        return this.atomic(i);
      case 'legacy':
        return this.legacy(i);
      case 'ja':
        return this.jump(jumpTarget(i));
      case 'cond':
        return this.cond(i);
      case 'exit':
        for (let r = 0; r <= 5; r++) this.get(r);
        this.remNow();
        this.op(W.return);
        return;
      case 'helper':
        return this.outCall(i, IMP.helper);
      case 'callx':
        return this.outCall(i, IMP.callx);
      case 'call':
        return this.localCall(i);
      case 'falloff':
        return this.fault(FaultCode.falloff, i.pc, 0);
      case 'invalid':
        if (i.op === 0xd4 || i.op === 0xdc || i.op === 0xd7) return this.fault(FaultCode.endianWidth, i.pc, i.imm);
        if (i.op === 0xc3 || i.op === 0xdb) return this.fault(FaultCode.atomicOp, i.pc, i.imm);
        return this.fault(FaultCode.invalidOp, i.pc, i.op);
    }
  }

  /** Push operand B of a 64-bit ALU op (register or sign-extended immediate). */
  private b64(i: JInsn): void {
    if (i.op & 0x08) this.get(reg(i.src));
    else this.i64(i.imm);
  }
  private b32(i: JInsn): void {
    if (i.op & 0x08) {
      this.get(reg(i.src));
      this.op(W.i32_wrap_i64);
    } else this.i32(i.imm);
  }
  private a32(d: number): void {
    this.get(d);
    this.op(W.i32_wrap_i64);
  }

  private alu(i: JInsn): void {
    const op = i.op;
    const d = reg(i.dst);
    const s = reg(i.src);
    const x = (op & 0x08) !== 0;
    // Interpreter-specific variants first (their codes are LD-class bytes).
    switch (op) {
      case 0x70:
      case 0x78:
      case 0x80:
        this.get(s);
        this.op(op === 0x70 ? W.i64_extend8_s : op === 0x78 ? W.i64_extend16_s : W.i64_extend32_s);
        this.set(d);
        return;
      case 0x60:
      case 0x68:
        this.get(s);
        this.op(W.i32_wrap_i64);
        this.op(op === 0x60 ? W.i32_extend8_s : W.i32_extend16_s);
        this.op(W.i64_extend_i32_u);
        this.set(d);
        return;
      case 0xa8:
      case 0xb0:
      case 0xb8:
      case 0xc0:
        return this.sdiv64(d, s, op === 0xb0 || op === 0xc0, op >= 0xb8, i.imm);
      case 0x88:
      case 0x90:
      case 0x98:
      case 0xa0:
        return this.sdiv32(d, s, op === 0x90 || op === 0xa0, op >= 0x98, i.imm);
    }
    if ((op & 7) === 7) {
      // ALU64
      switch (op & 0xf0) {
        case 0xb0: // mov
          this.b64(i);
          this.set(d);
          return;
        case 0x80: // neg
          this.i64(0);
          this.get(d);
          this.op(W.i64_sub);
          this.set(d);
          return;
        case 0x30: // div
        case 0x90: {
          // mod
          const mod = (op & 0xf0) === 0x90;
          if (!x) {
            if (i.imm === 0) {
              if (!mod) {
                this.i64(0);
                this.set(d);
              }
              return;
            }
            this.get(d);
            this.i64(i.imm);
            this.op(mod ? W.i64_rem_u : W.i64_div_u);
            this.set(d);
            return;
          }
          this.get(s);
          this.op(W.i64_eqz);
          this.open(W.if, I64);
          if (mod) this.get(d);
          else this.i64(0);
          this.op(W.else);
          this.get(d);
          this.get(s);
          this.op(mod ? W.i64_rem_u : W.i64_div_u);
          this.end();
          this.set(d);
          return;
        }
      }
      const wop = ALU64_OPS[op & 0xf0];
      if (wop === undefined) throw new Error(`JIT: ALU64 op 0x${op.toString(16)}`);
      this.get(d);
      this.b64(i);
      this.op(wop);
      this.set(d);
      return;
    }
    // ALU (32-bit): result zero-extended.
    switch (op & 0xf0) {
      case 0xb0:
        if (x) {
          this.get(s);
          this.op(W.i32_wrap_i64);
          this.op(W.i64_extend_i32_u);
        } else this.i64(i.imm >>> 0);
        this.set(d);
        return;
      case 0x80:
        this.i32(0);
        this.a32(d);
        this.op(W.i32_sub);
        break;
      case 0x30:
      case 0x90: {
        const mod = (op & 0xf0) === 0x90;
        if (!x) {
          if (i.imm === 0) {
            if (mod) this.a32(d);
            else this.i32(0);
          } else {
            this.a32(d);
            this.i32(i.imm);
            this.op(mod ? W.i32_rem_u : W.i32_div_u);
          }
          break;
        }
        this.get(s);
        this.op(W.i32_wrap_i64);
        this.op(W.i32_eqz);
        this.open(W.if, I32);
        if (mod) this.a32(d);
        else this.i32(0);
        this.op(W.else);
        this.a32(d);
        this.b32(i);
        this.op(mod ? W.i32_rem_u : W.i32_div_u);
        this.end();
        break;
      }
      default: {
        const wop = ALU32_OPS[op & 0xf0];
        if (wop === undefined) throw new Error(`JIT: ALU op 0x${op.toString(16)}`);
        this.a32(d);
        this.b32(i);
        this.op(wop);
      }
    }
    this.op(W.i64_extend_i32_u);
    this.set(d);
  }

  /** Signed 64-bit division / modulo: x/0 = 0, x%0 = x, INT_MIN/-1 = INT_MIN, x%-1 = 0. */
  private sdiv64(d: number, s: number, x: boolean, mod: boolean, imm: number): void {
    if (!x) {
      if (imm === 0) {
        if (!mod) {
          this.i64(0);
          this.set(d);
        }
        return;
      }
      if (imm === -1) {
        if (mod) this.i64(0);
        else {
          this.i64(0);
          this.get(d);
          this.op(W.i64_sub);
        }
        this.set(d);
        return;
      }
      this.get(d);
      this.i64(imm);
      this.op(mod ? W.i64_rem_s : W.i64_div_s);
      this.set(d);
      return;
    }
    this.get(s);
    this.op(W.i64_eqz);
    this.open(W.if, I64);
    if (mod) this.get(d);
    else this.i64(0);
    this.op(W.else);
    this.get(s);
    this.i64(-1);
    this.op(W.i64_eq);
    this.open(W.if, I64);
    if (mod) this.i64(0);
    else {
      this.i64(0);
      this.get(d);
      this.op(W.i64_sub);
    }
    this.op(W.else);
    this.get(d);
    this.get(s);
    this.op(mod ? W.i64_rem_s : W.i64_div_s);
    this.end();
    this.end();
    this.set(d);
  }

  /** Signed 32-bit division / modulo, same rules on the low halves; result zero-extended. */
  private sdiv32(d: number, s: number, x: boolean, mod: boolean, imm: number): void {
    if (!x) {
      if (imm === 0) {
        if (mod) this.a32(d);
        else this.i32(0);
      } else if (imm === -1) {
        if (mod) this.i32(0);
        else {
          this.i32(0);
          this.a32(d);
          this.op(W.i32_sub);
        }
      } else {
        this.a32(d);
        this.i32(imm);
        this.op(mod ? W.i32_rem_s : W.i32_div_s);
      }
    } else {
      this.get(s);
      this.op(W.i32_wrap_i64);
      this.set(A);
      this.get(A);
      this.op(W.i32_eqz);
      this.open(W.if, I32);
      if (mod) this.a32(d);
      else this.i32(0);
      this.op(W.else);
      this.get(A);
      this.i32(-1);
      this.op(W.i32_eq);
      this.open(W.if, I32);
      if (mod) this.i32(0);
      else {
        this.i32(0);
        this.a32(d);
        this.op(W.i32_sub);
      }
      this.op(W.else);
      this.a32(d);
      this.get(A);
      this.op(mod ? W.i32_rem_s : W.i32_div_s);
      this.end();
      this.end();
    }
    this.op(W.i64_extend_i32_u);
    this.set(d);
  }

  private endian(i: JInsn): void {
    const d = reg(i.dst);
    const swap = i.op !== 0xd4;
    if (i.imm === 64) {
      if (!swap) return;
      // bswap64: swap bytes in halfwords, halfwords in words, then words.
      this.get(d);
      this.i64(8);
      this.op(W.i64_shr_u);
      this.i64(0x00ff00ff00ff00ffn);
      this.op(W.i64_and);
      this.get(d);
      this.i64(0x00ff00ff00ff00ffn);
      this.op(W.i64_and);
      this.i64(8);
      this.op(W.i64_shl);
      this.op(W.i64_or);
      this.tee(T0);
      this.i64(16);
      this.op(W.i64_shr_u);
      this.i64(0x0000ffff0000ffffn);
      this.op(W.i64_and);
      this.get(T0);
      this.i64(0x0000ffff0000ffffn);
      this.op(W.i64_and);
      this.i64(16);
      this.op(W.i64_shl);
      this.op(W.i64_or);
      this.i64(32);
      this.op(W.i64_rotl);
      this.set(d);
      return;
    }
    if (i.imm === 32) {
      if (swap) {
        this.a32(d);
        this.i32(0xff00ff00 | 0);
        this.op(W.i32_and);
        this.i32(8);
        this.op(W.i32_rotl);
        this.a32(d);
        this.i32(0x00ff00ff);
        this.op(W.i32_and);
        this.i32(8);
        this.op(W.i32_rotr);
        this.op(W.i32_or);
        this.op(W.i64_extend_i32_u);
      } else {
        this.get(d);
        this.i64(0xffffffff);
        this.op(W.i64_and);
      }
      this.set(d);
      return;
    }
    // 16
    if (swap) {
      this.get(d);
      this.i64(0xff);
      this.op(W.i64_and);
      this.i64(8);
      this.op(W.i64_shl);
      this.get(d);
      this.i64(8);
      this.op(W.i64_shr_u);
      this.i64(0xff);
      this.op(W.i64_and);
      this.op(W.i64_or);
    } else {
      this.get(d);
      this.i64(0xffff);
      this.op(W.i64_and);
    }
    this.set(d);
  }

  /**
   * Look up the regions the origins point into (arguments at entry, 8-byte load results after the load, all
   * again after every call, which may have remapped or moved them): start, linear base and, per access kind, the
   * bound of the offset from start (0 when the region is not paged in, so every access misses). A region
   * accessed for writing is marked dirty.
   */
  private setupRegions(): void {
    for (const r of this.regions.values()) this.setupRegion(r);
  }

  private setupRegion(r: RegionLocals): void {
    // Written with if/else rather than `select`: V8 computes a select (a pure value) where it is used, inside the
    // loop, while the locals set in both arms become phis computed once, here.
    {
      this.get(r.orig);
      this.i64(32 - Math.log2(ENTRY));
      this.op(W.i64_shr_u);
      this.op(W.i32_wrap_i64);
      this.i32((TABLE_CAP - 1) * ENTRY);
      this.op(W.i32_and);
      this.set(A);
      if (r.base >= 0) {
        this.get(A);
        this.memop(W.i32_load, TABLE + 16, 2);
        this.set(r.base);
      }
      this.get(A);
      this.memop(W.i64_load, TABLE, 3);
      this.tee(T0);
      this.get(r.orig);
      this.op(W.i64_xor);
      this.i64(32);
      this.op(W.i64_shr_u);
      this.op(W.i64_eqz);
      if (r.base < 0) {
        // r1's region: only when it is in the argument window (else accesses take the table path).
        this.get(A);
        this.memop(W.i32_load, TABLE + 16, 2);
        this.i32(ARG_WINDOW);
        this.op(W.i32_eq);
        this.op(W.i32_and);
      }
      this.open(W.if);
      // The entry is the argument's segment: start and length (end - start).
      this.get(r.orig);
      this.i64(-(2n ** 32n));
      this.op(W.i64_and);
      this.set(r.start);
      for (const write of [false, true]) {
        if (write) {
          if (!r.writes) continue;
          // Write end: the same segment or 0 (not writable): length or 0.
          this.get(A);
          this.memop(W.i64_load, TABLE + 8, 3);
          this.tee(T0);
          this.op(W.i64_eqz);
          this.open(W.if, I64);
          this.i64(0);
          this.op(W.else);
          this.get(T0);
          this.get(r.start);
          this.op(W.i64_sub);
          this.end();
          this.tee(T1);
          this.op(W.i64_eqz);
          this.op(W.i32_eqz);
          this.open(W.if);
          this.get(A);
          this.i32(1);
          this.memop(W.i32_store, TABLE + DIRTY, 2);
          this.end();
        } else {
          this.get(T0);
          this.get(r.start);
          this.op(W.i64_sub);
          this.set(T1);
        }
        for (const [k, l] of r.lim) {
          if ((k & 1) !== (write ? 1 : 0)) continue;
          const size = k >> 1;
          // Offsets from start below length - size + 1 hit (none when the region is shorter than the access).
          if (size === 1) this.get(T1);
          else {
            this.get(T1);
            this.i64(size);
            this.op(W.i64_lt_u);
            this.open(W.if, I64);
            this.i64(0);
            this.op(W.else);
            this.get(T1);
            this.i64(size - 1);
            this.op(W.i64_sub);
            this.end();
          }
          this.set(l);
        }
      }
      this.op(W.else);
      // Not paged in (or another segment shares the entry): every access misses.
      this.i64(0);
      this.set(r.start);
      for (const l of r.lim.values()) {
        this.i64(0);
        this.set(l);
      }
      this.end();
    }
  }

  /**
   * Push the linear address of a checked access of `size` bytes at `reg(base) + off`. Stack accesses with a
   * constant in-frame offset use `sp` directly (returns the memarg offset to use); others return 0.
   */
  private addr(base: number, off: number, size: number, write: boolean, pc: number): number {
    if (inFrame(base, off, size)) {
      this.get(SP);
      return 512 + off;
    }
    const origin = this.regionSite?.get(pc);
    if (origin !== undefined) {
      // Through a register derived from an origin: check against the origin's region.
      const r = this.regions.get(origin)!;
      this.open(W.block, I32);
      this.open(W.block);
      this.get(reg(base));
      if (off !== 0) {
        this.i64(off);
        this.op(W.i64_add);
      }
      this.tee(T0);
      this.get(r.start);
      this.op(W.i64_sub);
      this.get(r.lim.get(size * 2 + (write ? 1 : 0))!);
      this.op(W.i64_ge_u);
      this.c.byte(W.br_if).u32(0);
      // Linear address: base + offset in the region (the low half of the address: start's is 0).
      this.get(T0);
      this.op(W.i32_wrap_i64);
      if (r.base < 0) this.i32(ARG_WINDOW);
      else this.get(r.base);
      this.op(W.i32_add);
      this.c.byte(W.br).u32(1);
      this.end();
      // Outside it: the slow variant decides (a region not paged in misses the table too; a pointer moved to
      // another region is rare). A fallback to the table here would cost the loop registers.
      this.handOff(pc, 1);
      this.end();
      return 0;
    }
    this.tableAddr(base, off, size, write, pc);
    return 0;
  }

  /** Push the linear address of an access checked against the segment table (or leave for the slow path). */
  private tableAddr(base: number, off: number, size: number, write: boolean, pc: number): void {
    // Miss when (addr + size - 1) >=u end, with end = (seg << 32) + length of the entry at (seg & (TABLE_CAP - 1)); an
    // absent entry has end 0, so everything misses (layout.ts explains why no other check is needed).
    this.open(W.block, I32);
    this.open(W.block);
    this.get(reg(base));
    if (off !== 0) {
      this.i64(off);
      this.op(W.i64_add);
    }
    this.tee(T0);
    this.i64(32 - Math.log2(ENTRY));
    this.op(W.i64_shr_u);
    this.op(W.i32_wrap_i64);
    this.i32((TABLE_CAP - 1) * ENTRY);
    this.op(W.i32_and);
    this.tee(A);
    this.get(T0);
    if (size > 1) {
      this.i64(size - 1);
      this.op(W.i64_add);
    }
    this.get(A);
    this.memop(W.i64_load, TABLE + (write ? 8 : 0), 3);
    this.op(W.i64_ge_u);
    this.c.byte(W.br_if).u32(0);
    if (write) {
      // Mark the paged-in copy dirty (written back when control returns to JavaScript).
      this.get(A);
      this.i32(1);
      this.memop(W.i32_store, TABLE + DIRTY, 2);
    }
    this.get(A);
    this.memop(W.i32_load, TABLE + 16, 2);
    this.get(T0);
    this.op(W.i32_wrap_i64);
    this.op(W.i32_add);
    this.c.byte(W.br).u32(1);
    this.end();
    if (this.opts.slow) {
      // Continue in the slow variant at this access, which counts it again: give it back.
      this.handOff(pc, 1);
    } else {
      this.get(T0);
      this.i64(32);
      this.op(W.i64_shr_u);
      this.op(W.i32_wrap_i64);
      this.get(T0);
      this.op(W.i32_wrap_i64);
      this.i32(size);
      this.i32(write ? 1 : 0);
      this.i32(pc);
      this.call(IMP.miss);
    }
    this.end();
  }

  private load(i: JInsn): void {
    const op = i.op;
    const size = op === 0x79 ? 8 : op === 0x61 || op === 0x81 ? 4 : op === 0x69 || op === 0x89 ? 2 : 1;
    const o = this.addr(i.src, i.off, size, false, i.pc);
    const wop =
      op === 0x79 ? W.i64_load
      : op === 0x61 ? W.i64_load32_u
      : op === 0x69 ? W.i64_load16_u
      : op === 0x71 ? W.i64_load8_u
      : op === 0x81 ? W.i64_load32_s
      : op === 0x89 ? W.i64_load16_s
      : W.i64_load8_s;
    this.memop(wop, o);
    this.set(reg(i.dst));
    const r = this.regions.get(LOAD_ORIGIN + i.pc);
    if (r) {
      // A pointer later accesses go through: look its region up now.
      this.get(reg(i.dst));
      this.set(r.orig);
      this.setupRegion(r);
    }
  }

  private store(i: JInsn): void {
    const sz = i.op & 0x18;
    const size = sz === 0x18 ? 8 : sz === 0x00 ? 4 : sz === 0x08 ? 2 : 1;
    const o = this.addr(i.dst, i.off, size, true, i.pc);
    if (i.op & 1) this.get(reg(i.src));
    else this.i64(i.imm);
    this.memop(size === 8 ? W.i64_store : size === 4 ? W.i64_store32 : size === 2 ? W.i64_store16 : W.i64_store8, o);
  }

  private atomic(i: JInsn): void {
    const is64 = i.op === 0xdb;
    const size = is64 ? 8 : 4;
    const s = reg(i.src);
    const o = this.addr(i.dst, i.off, size, true, i.pc);
    if (o !== 0) {
      this.i32(o);
      this.op(W.i32_add);
    }
    this.set(A);
    this.get(A);
    this.memop(is64 ? W.i64_load : W.i64_load32_u, 0);
    this.set(T1); // old value (zero-extended for 32 bits)
    this.get(A);
    const base = i.imm & ~1;
    if (base === 0xf0) {
      if (is64) {
        this.get(0);
        this.get(T1);
        this.op(W.i64_eq);
      } else {
        this.a32(0);
        this.a32(T1);
        this.op(W.i32_eq);
      }
      this.open(W.if, I64);
      this.get(s);
      this.op(W.else);
      this.get(T1);
      this.end();
    } else if (base === 0xe0) {
      this.get(s);
    } else {
      this.get(T1);
      this.get(s);
      this.op(base === 0x00 ? W.i64_add : base === 0x40 ? W.i64_or : base === 0x50 ? W.i64_and : W.i64_xor);
    }
    this.memop(is64 ? W.i64_store : W.i64_store32, 0);
    if (i.imm === 0xf1) {
      this.get(T1);
      this.set(0);
    } else if (i.imm & 1) {
      this.get(T1);
      this.set(s);
    }
  }

  private legacy(i: JInsn): void {
    const sz = i.op & 0x18;
    const size = sz === 0x00 ? 4 : sz === 0x08 ? 2 : 1;
    this.i32(i.pc);
    this.i32(i.imm);
    if ((i.op & 0xe0) === 0x40) {
      this.a32(reg(i.src));
      this.op(W.i32_add);
    }
    this.i32(size);
    // The budget left, for the instruction count of a run the load aborts.
    this.i32(REGS);
    this.remNow();
    this.memop(W.i64_store, REM, 3);
    this.call(IMP.ldabs);
    this.i32(REGS);
    this.memop(W.i64_load, 0, 3);
    this.set(0);
  }

  private cond(i: JInsn): void {
    const op = i.op;
    const is64 = (op & 7) === 5;
    const d = reg(i.dst);
    const j = op & 0xf0;
    if (is64) {
      this.get(d);
      this.b64(i);
      if (j === 0x40) {
        this.op(W.i64_and);
        this.i64(0);
        this.op(W.i64_ne);
      } else this.op(CMP64[j]!);
    } else {
      this.a32(d);
      this.b32(i);
      if (j === 0x40) {
        this.op(W.i32_and);
      } else this.op(CMP32[j]!);
    }
    const target = jumpTarget(i);
    const t = this.f.blockAt.get(target)!;
    const taken = this.edgeCount(target);
    if (this.labels && taken === 0) {
      this.c.byte(W.br_if).u32(this.labelDepth(t));
    } else if (!this.labels && t > this.cur && taken === 0) {
      this.c.byte(W.br_if).u32(t - this.cur - 1 + this.extra);
    } else {
      // The taken edge settles pending instructions (or is a dispatcher back edge): branch from inside an `if`.
      this.open(W.if);
      this.jump(target);
      this.end();
    }
    this.settle(i.pc + 1);
  }

  private spill(): void {
    for (let r = 0; r <= 9; r++) {
      this.i32(REGS);
      this.get(r);
      this.memop(W.i64_store, r * 8, 3);
    }
    this.i32(REGS);
    this.get(REM_L);
    this.memop(W.i64_store, REM, 3);
  }
  private reload(): void {
    for (let r = 0; r <= 5; r++) {
      this.i32(REGS);
      this.memop(W.i64_load, r * 8, 3);
      this.set(r);
    }
    this.i32(REGS);
    this.memop(W.i64_load, REM, 3);
    this.set(REM_L);
  }

  /** Helper call or callx: registers through the spill area; status 1 = a tail call is pending. */
  private outCall(i: JInsn, imp: number): void {
    this.materialize();
    this.spill();
    this.i32(i.pc);
    this.get(DEPTH);
    this.call(imp);
    this.reload();
    this.open(W.if);
    this.get(DEPTH);
    this.call(IMP.tail);
    this.reload();
    for (let r = 0; r <= 5; r++) this.get(r);
    this.get(REM_L);
    this.op(W.return);
    this.end();
    this.setupRegions();
  }

  private localCall(i: JInsn): void {
    this.materialize();
    this.get(DEPTH);
    this.i32(8);
    this.op(W.i32_ge_u);
    this.open(W.if);
    this.fault(FaultCode.callDepth, i.pc, 0);
    this.end();
    for (let r = 0; r <= 9; r++) this.get(r);
    this.get(REM_L);
    this.get(DEPTH);
    this.i32(1);
    this.op(W.i32_add);
    this.call(this.funcIndex(i.pc + 1 + i.imm));
    this.set(REM_L);
    for (let r = 5; r >= 0; r--) this.set(r);
    this.setupRegions();
  }
}

const ALU64_OPS: Record<number, number> = {
  0x00: W.i64_add,
  0x10: W.i64_sub,
  0x20: W.i64_mul,
  0x40: W.i64_or,
  0x50: W.i64_and,
  0x60: W.i64_shl,
  0x70: W.i64_shr_u,
  0xa0: W.i64_xor,
  0xc0: W.i64_shr_s,
};
const ALU32_OPS: Record<number, number> = {
  0x00: W.i32_add,
  0x10: W.i32_sub,
  0x20: W.i32_mul,
  0x40: W.i32_or,
  0x50: W.i32_and,
  0x60: W.i32_shl,
  0x70: W.i32_shr_u,
  0xa0: W.i32_xor,
  0xc0: W.i32_shr_s,
};
const CMP64: Record<number, number> = {
  0x10: W.i64_eq,
  0x50: W.i64_ne,
  0x20: W.i64_gt_u,
  0x30: W.i64_ge_u,
  0xa0: W.i64_lt_u,
  0xb0: W.i64_le_u,
  0x60: W.i64_gt_s,
  0x70: W.i64_ge_s,
  0xc0: W.i64_lt_s,
  0xd0: W.i64_le_s,
};
const CMP32: Record<number, number> = {
  0x10: W.i32_eq,
  0x50: W.i32_ne,
  0x20: W.i32_gt_u,
  0x30: W.i32_ge_u,
  0xa0: W.i32_lt_u,
  0xb0: W.i32_le_u,
  0x60: W.i32_gt_s,
  0x70: W.i32_ge_s,
  0xc0: W.i32_lt_s,
  0xd0: W.i32_le_s,
};
