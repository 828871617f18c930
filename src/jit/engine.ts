/**
 * The JIT engine: compiles a prepared program (`Vm.prog`, already checked by the Vm constructor) to a WebAssembly
 * module and runs it with the interpreter's semantics: same results, same faults (kind and pc), same budget
 * accounting, helpers, bpf-to-bpf calls (max 8 frames), callx, tail calls (max 33), legacy packet loads.
 *
 * JavaScript is entered from generated code through imports: `helper`/`callx` (registers spilled to linear
 * memory; the helper gets them as u64 bigints), `miss` (paging.ts), `fault` (throws the interpreter's VmError),
 * `tail` (runs the tail-call target in the current frame) and `ldabs`. A function entry that was not known at
 * compile time (callx to an arbitrary instruction, `callSubprogram` with a raw pc) makes the program recompile
 * with the extra entry; the new instance shares the memory.
 */
import { BpfkitError, VmError } from '../errors.js';
import { MAX_CALL_FRAMES, STACK_SIZE } from '../isa/opcodes.js';
import { CODE_SEGMENT, funcPc, type HelperCallContext, type HelperImpl, type RunStats } from '../vm/api.js';
import { helperName, LegacyAbort, MAX_TAIL_CALLS, type Prog } from '../vm/interpreter.js';
import type { VmMemory } from '../vm/memory.js';
import type { Vm } from '../vm/vm.js';
import { decode, staticEntries, type JInsn } from './cfg.js';
import { FaultCode } from './codegen.js';
import { FIXED_BYTES, REGS, REM, STACK_LIN, STACK_R10 } from './layout.js';
import { buildModule, IMPORT_NAMES } from './module.js';
import { jitMemory, type JitMemory } from './paging.js';

type Entry = (depth: number) => void;

/** State of one top-level run (shared by the programs of a tail-call chain). @internal */
interface RunCtx {
  env: unknown;
  limit: number;
  tailCalls: number;
  pendingTail: JitProgram | undefined;
}

/** What helpers get (`HelperCallContext`) when called from JIT code. */
class JitHelperContext implements HelperCallContext {
  pc = 0;
  depth = 1;
  prog!: JitProgram;
  run!: RunCtx;
  constructor(private readonly jm: JitMemory) {}
  get mem(): VmMemory {
    return this.jm.mem;
  }
  get env(): unknown {
    return this.run.env;
  }
  get vm(): Vm {
    return this.prog.prog.vm;
  }

  callSubprogram(fn: number | bigint, r1 = 0n, r2 = 0n, r3 = 0n, r4 = 0n, r5 = 0n): bigint {
    const jm = this.jm;
    const prog = this.prog;
    const p = prog.prog;
    const callPc = this.pc;
    const depth = this.depth;
    const run = this.run;
    let target: number | undefined;
    if (typeof fn === 'bigint') target = funcPc(fn) ?? (fn >= 0n && fn < BigInt(p.n) ? Number(fn) : undefined);
    else target = fn;
    if (target === undefined || !Number.isInteger(target) || target < 0 || target >= p.n || p.isStart[target] !== 1) {
      throw new VmError(callPc, 'jump', `callback target ${String(fn)} is not an instruction of the program`);
    }
    if (depth >= MAX_CALL_FRAMES) throw new VmError(callPc, 'call-depth', `call depth exceeds ${MAX_CALL_FRAMES} frames`);
    const entry = prog.entry(target);
    const u64 = jm.u64;
    u64[1] = r1;
    u64[2] = r2;
    u64[3] = r3;
    u64[4] = r4;
    u64[5] = r5;
    jm.refresh();
    try {
      entry(depth + 1);
    } finally {
      jm.flush();
      this.pc = callPc;
      this.depth = depth;
      this.prog = prog;
      this.run = run;
      jm.mem.pc = callPc;
    }
    return jm.u64[0]!;
  }

  tailCall(target: Vm): boolean {
    if (target.memory !== this.jm.mem) throw new VmError(this.pc, 'tail-call', 'tail-call target runs in a different Memory');
    const run = this.run;
    if (run.tailCalls >= MAX_TAIL_CALLS) return false;
    run.tailCalls++;
    run.pendingTail = programFor(target.prog, this.jm);
    return true;
  }
}

const contexts = new WeakMap<JitMemory, JitHelperContext>();
function contextFor(jm: JitMemory): JitHelperContext {
  let c = contexts.get(jm);
  if (!c) {
    c = new JitHelperContext(jm);
    contexts.set(jm, c);
  }
  return c;
}

const programs = new WeakMap<Prog, Map<JitMemory, JitProgram>>();
/** The compiled form of `prog` for this memory (compiled on first use). @internal */
export function programFor(prog: Prog, jm: JitMemory): JitProgram {
  let m = programs.get(prog);
  if (!m) {
    m = new Map();
    programs.set(prog, m);
  }
  let p = m.get(jm);
  if (!p) {
    p = new JitProgram(prog, jm);
    m.set(jm, p);
  }
  return p;
}

/** Statistics of a compilation. */
export interface CompileStats {
  /** Bytes of the Wasm module. */
  wasmBytes: number;
  /** Function entries compiled. */
  functions: number;
  /** Milliseconds spent translating, compiling (`new WebAssembly.Module`) and instantiating. */
  translateMs: number;
  compileMs: number;
  instantiateMs: number;
}

/** One program compiled for one JitMemory. @internal */
export class JitProgram {
  readonly insns: (JInsn | undefined)[];
  private entries: number[];
  private exportsOf: Record<string, Entry> = {};
  /** The entry trampoline of pc 0 (the run entry) of the current instance. */
  private main!: Entry;
  /** Instructions executed by the last `runMain`. */
  lastInsns = 0;
  stats!: CompileStats;
  /** The module bytes of the current instance. */
  wasm!: Uint8Array;
  private readonly ctx: JitHelperContext;

  constructor(
    readonly prog: Prog,
    readonly jm: JitMemory,
  ) {
    this.insns = decode(prog);
    this.entries = staticEntries(this.insns, prog.n, CODE_SEGMENT);
    this.ctx = contextFor(jm);
    this.build();
  }

  /** The entry trampoline of the function starting at `pc` (recompiles with a new entry if needed). */
  entry(pc: number): Entry {
    let e = this.exportsOf[`e${pc}`];
    if (!e) {
      const before = this.entries;
      this.entries = [...this.entries, pc].sort((a, b) => a - b);
      try {
        this.build();
      } catch (err) {
        this.entries = before;
        if (!(err instanceof WebAssembly.CompileError)) throw err;
        this.fail(new VmError(this.ctx.pc, 'unsupported', `the JIT could not compile function entry ${pc}: ${err.message}`));
      }
      e = this.exportsOf[`e${pc}`]!;
    }
    return e;
  }

  private build(): void {
    const t0 = performance.now();
    const bytes = buildModule(this.insns, this.entries);
    const t1 = performance.now();
    const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    const t2 = performance.now();
    const imports: Record<string, unknown> = { mem: this.jm.wasm };
    const fns = this.imports();
    IMPORT_NAMES.forEach((name) => (imports[name] = fns[name]));
    const inst = new WebAssembly.Instance(module, { env: imports as WebAssembly.ModuleImports });
    const t3 = performance.now();
    this.exportsOf = inst.exports as unknown as Record<string, Entry>;
    this.main = this.exportsOf.e0!;
    this.wasm = bytes;
    this.stats = { wasmBytes: bytes.length, functions: this.entries.length, translateMs: t1 - t0, compileMs: t2 - t1, instantiateMs: t3 - t2 };
  }

  private imports(): Record<(typeof IMPORT_NAMES)[number], (...a: number[]) => number | void> {
    const jm = this.jm;
    const prog = this.prog;
    const ctx = this.ctx;
    return {
      helper: (pc: number, depth: number) => this.callHelper(prog.calls[pc]!, pc, depth, this.insns[pc]!.imm),
      callx: (pc: number, depth: number) => {
        const d = this.insns[pc]!.dst;
        const lo = jm.i32[(REGS >> 2) + d * 2]!;
        const hi = jm.i32[(REGS >> 2) + d * 2 + 1]!;
        if (prog.callx === 'helper') {
          const impl = hi === 0 ? prog.helpers.get(lo) : undefined;
          if (!impl) this.fail(new VmError(pc, 'helper', `callx: no ${helperName(lo)} registered`));
          return this.callHelper(impl, pc, depth, lo);
        }
        if (!((hi === 0 || hi === (CODE_SEGMENT | 0)) && lo >= 0 && lo < prog.n && prog.isStart[lo] === 1)) {
          const v = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
          this.fail(new VmError(pc, 'jump', `callx: target 0x${v.toString(16)} is not an instruction of the program`));
        }
        if (depth >= MAX_CALL_FRAMES) this.fail(new VmError(pc, 'call-depth', `call depth exceeds ${MAX_CALL_FRAMES} frames`));
        this.entry(lo)(depth + 1);
        return 0;
      },
      miss: (hi: number, lo: number, size: number, write: number, pc: number) => jm.miss(hi, lo, size, write, pc),
      fault: (code: number, pc: number, extra: number) => this.fault(code, pc, extra),
      tail: (depth: number) => {
        const run = ctx.run;
        const target = run.pendingTail!;
        run.pendingTail = undefined;
        target.entry(0)(depth);
      },
      ldabs: (pc: number, off: number, size: number) => {
        const packet = prog.legacyPacket?.(ctx.run.env);
        if (!packet) this.fail(new VmError(pc, 'unsupported', 'legacy packet load (LD_ABS/LD_IND) needs a packet (no legacyPacket option)'));
        if (off < 0 || off + size > packet.length) {
          jm.flush();
          throw new LegacyAbort();
        }
        let v = 0;
        for (let i = 0; i < size; i++) v = (v << 8) | packet[off + i]!;
        jm.i32[REGS >> 2] = v;
        jm.i32[(REGS >> 2) + 1] = 0;
      },
    };
  }

  /** Write dirty memory back and throw. */
  private fail(e: Error): never {
    this.jm.flush();
    throw e;
  }

  private fault(code: number, pc: number, extra: number): never {
    const p = this.prog;
    switch (code) {
      case FaultCode.budget: {
        let at = pc;
        for (let k = 0; k < extra; k++) at += this.insns[at]!.slots;
        this.jm.i64[REM >> 3] = 0n;
        return this.fail(new VmError(at, 'budget', `instruction budget of ${this.ctx.run.limit} exhausted`));
      }
      case FaultCode.callDepth:
        return this.fail(new VmError(pc, 'call-depth', `call depth exceeds ${MAX_CALL_FRAMES} frames`));
      case FaultCode.falloff:
        return this.fail(new VmError(pc, 'jump', 'execution fell off the end of the program'));
      case FaultCode.endianWidth:
        return this.fail(new VmError(pc, 'invalid', `byte swap width ${extra}`));
      case FaultCode.atomicOp:
        return this.fail(new VmError(pc, 'invalid', `unknown atomic operation 0x${(extra >>> 0).toString(16)}`));
      default:
        if (p.isStart[pc] !== 1) return this.fail(new VmError(pc, 'jump', 'jump into the middle of a 64-bit immediate load'));
        return this.fail(new VmError(pc, 'invalid', `cannot execute opcode 0x${(extra & 0xff).toString(16).padStart(2, '0')}`));
    }
  }

  /** Call a helper with r1..r5 from the spill area; r0 goes back there. Returns 1 if a tail call is pending. */
  private callHelper(impl: HelperImpl, pc: number, depth: number, id: number): number {
    const jm = this.jm;
    const ctx = this.ctx;
    jm.flush();
    ctx.pc = pc;
    ctx.depth = depth;
    ctx.prog = this;
    jm.mem.pc = pc;
    const run = ctx.run;
    const u64 = jm.u64;
    let ret: bigint | number | void;
    jm.helperDepth++;
    try {
      ret = impl(ctx, u64[1]!, u64[2]!, u64[3]!, u64[4]!, u64[5]!);
    } catch (e) {
      if (e instanceof BpfkitError || e instanceof LegacyAbort) throw e;
      const what = this.insns[pc]!.src === 2 && this.insns[pc]!.op === 0x85 ? `kfunc with BTF id ${id}` : helperName(id);
      throw new VmError(pc, 'helper', `${what} failed: ${(e as Error)?.message ?? String(e)}`);
    } finally {
      jm.helperDepth--;
      ctx.run = run;
    }
    const i32 = jm.i32;
    const r0 = REGS >> 2;
    if (typeof ret === 'number') {
      if (ret >= 0 && ret <= 0xffffffff && Number.isInteger(ret)) {
        i32[r0] = ret | 0;
        i32[r0 + 1] = 0;
      } else if (ret < 0 && ret >= -0x80000000 && Number.isInteger(ret)) {
        i32[r0] = ret;
        i32[r0 + 1] = -1;
      } else jm.u64[REGS >> 3] = Number.isFinite(ret) ? BigInt.asUintN(64, BigInt(Math.trunc(ret))) : 0n;
    } else if (ret === undefined) {
      i32[r0] = 0;
      i32[r0 + 1] = 0;
    } else jm.u64[REGS >> 3] = BigInt.asUintN(64, ret as bigint);
    jm.refresh();
    return run.pendingTail !== undefined ? 1 : 0;
  }

  /**
   * Run from pc 0 at frame depth 1 with r1..r5; the caller (JitEngine) has set the stack table. Returns r0.
   * @internal
   */
  runMain(run: RunCtx, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint): bigint {
    const jm = this.jm;
    const ctx = this.ctx;
    const i32 = jm.i32;
    const u64 = jm.u64;
    const R = REGS >> 2;
    // r0 and r6..r9 start at 0; r1..r5 are the arguments.
    i32[R] = i32[R + 1] = 0;
    for (let k = R + 12; k < R + 20; k++) i32[k] = 0;
    u64[(REGS >> 3) + 1] = r1;
    u64[(REGS >> 3) + 2] = r2;
    u64[(REGS >> 3) + 3] = r3;
    u64[(REGS >> 3) + 4] = r4;
    u64[(REGS >> 3) + 5] = r5;
    // Budget as two int32 halves (no BigInt on the way in or out).
    const budget = Math.floor(Math.min(run.limit, 2 ** 62));
    i32[REM >> 2] = budget % 2 ** 32 | 0;
    i32[(REM >> 2) + 1] = Math.floor(budget / 2 ** 32);
    const sProg = ctx.prog;
    const sRun = ctx.run;
    const sPc = ctx.pc;
    const sDepth = ctx.depth;
    ctx.run = run;
    ctx.prog = this;
    jm.invalidate();
    for (let r = 1; r <= 5; r++) {
      const seg = i32[R + 2 * r + 1]!;
      if (seg !== 0) jm.prefetch(seg, r === 1);
    }
    // The context's packet pointers (data, data_end) are usually read at once: page their regions in too.
    const ctxSeg = i32[R + 3]!;
    if (ctxSeg !== 0) jm.prefetchPointees(ctxSeg);
    let r0 = 0n;
    try {
      this.main(1);
      r0 = jm.u64[REGS >> 3]!;
    } catch (e) {
      if (!(e instanceof LegacyAbort)) throw e;
    } finally {
      jm.flush();
      ctx.prog = sProg;
      ctx.run = sRun;
      ctx.pc = sPc;
      ctx.depth = sDepth;
      const j = jm.i32;
      this.lastInsns = budget - (j[(REM >> 2) + 1]! * 2 ** 32 + (j[REM >> 2]! >>> 0));
    }
    return r0;
  }
}

/** A Vm's JIT: the compiled program plus the Vm's 8 stack frames moved into the Wasm memory. @internal */
export class JitEngine {
  readonly program: JitProgram;
  private readonly jm: JitMemory;
  private readonly r10: bigint[];
  private readonly lin: number[];
  private running = false;
  lastRun: RunStats = { insns: 0, tailCalls: 0 };

  constructor(
    private readonly vm: Vm,
    stackSegs: readonly number[],
  ) {
    this.jm = jitMemory(vm.memory);
    this.program = programFor(vm.prog, this.jm); // compile first: nothing changes if it fails
    this.lin = this.jm.adoptStacks(stackSegs, STACK_SIZE);
    this.r10 = stackSegs.map((s) => (BigInt(s) << 32n) | BigInt(STACK_SIZE));
  }

  run(r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint): bigint {
    if (this.running) throw new VmError(-1, 'reentrant', `run() called while ${this.vm.name ?? 'the program'} is already running`);
    const jm = this.jm;
    let saved: Uint8Array | undefined;
    const savedOwner = jm.stackOwner;
    if (jm.active > 0) saved = jm.u8.slice(0, FIXED_BYTES);
    if (savedOwner !== this) {
      // The stack table of this Vm's frames (kept from run to run while no other Vm runs in this memory).
      for (let d = 0; d < this.r10.length; d++) {
        jm.u64[(STACK_R10 >> 3) + d] = this.r10[d]!;
        jm.i32[(STACK_LIN >> 2) + d] = this.lin[d]!;
      }
      jm.stackOwner = this;
    }
    const run: RunCtx = { env: this.vm.env, limit: this.vm.maxInsns, tailCalls: 0, pendingTail: undefined };
    this.running = true;
    jm.active++;
    let insns = 0;
    try {
      const r0 = this.program.runMain(run, r1, r2, r3, r4, r5);
      insns = this.program.lastInsns;
      return r0;
    } catch (e) {
      if (e instanceof VmError && e.kind === 'budget') insns = run.limit;
      throw e;
    } finally {
      jm.active--;
      this.running = false;
      this.lastRun = { insns, tailCalls: run.tailCalls };
      if (saved) {
        jm.u8.set(saved, 0);
        jm.stackOwner = savedOwner;
      }
    }
  }
}
