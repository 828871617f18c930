/**
 * `Vm`: one eBPF program prepared for the userspace interpreter. Construction checks everything that can be
 * checked before running (encoding, jump and call targets, helper and kfunc ids, pseudo lddw values, writes to
 * r10) and packs the instructions; `run` executes with registers r1..r5 and returns r0.
 */
import { VmError } from '../errors.js';
import { lddwValue, validateProgram, type Insn } from '../isa/insn.js';
import { AluOp, Class, JmpOp, LDDW, Mode, PseudoCall, PseudoLd, STACK_SIZE, opAlu, opClass, opJmp, opSource } from '../isa/opcodes.js';
import { funcAddress, funcPc, type HelperCallContext, type HelperImpl, type RunStats, type VmOptions } from './api.js';
import { execute, helperName, LegacyAbort, MAX_TAIL_CALLS, Op, pushFrame, RunState, type HelperCtxLike, type Prog } from './interpreter.js';
import { VmMemory } from './memory.js';
import { JitEngine } from '../jit/engine.js';

/** Which engine runs a Vm's program: the interpreter (default) or the WebAssembly JIT (src/jit). */
export type VmEngine = 'interp' | 'jit';

/** `VmOptions` plus the engine choice. */
export interface VmEngineOptions extends VmOptions {
  /** 'interp' (default) or 'jit': same results and faults, the JIT compiles to WebAssembly first. */
  engine?: VmEngine;
}

/** Default instruction budget per run. */
export const DEFAULT_MAX_INSNS = 1e9;

const NO_HELPERS: ReadonlyMap<number, HelperImpl> = new Map();

/** An eBPF program loaded into the userspace interpreter. */
export class Vm {
  /** The program as given (kernel slot numbering). */
  readonly insns: readonly Insn[];
  /** The address space the program runs in. */
  readonly memory: VmMemory;
  /** What helpers see as `ctx.env`; set it per run as needed. */
  env: unknown;
  /** Instruction budget per run. */
  maxInsns: number;
  readonly name?: string;
  /** Statistics of the last run. */
  lastRun: RunStats = { insns: 0, tailCalls: 0 };
  /** The packed program. @internal */
  readonly prog: Prog;
  private readonly st: RunState;
  private readonly ctx: HelperContext;
  /** Engine used when `VmEngineOptions.engine` is not given (default 'interp'; tests may switch it). */
  static defaultEngine: VmEngine = 'interp';
  /** The engine running this program. */
  readonly engine: VmEngine;
  /** Why a program asked for the JIT runs on the interpreter (too large for WebAssembly), if it does. */
  readonly jitFallback?: string;
  /** The JIT, when `engine` is 'jit'. @internal */
  readonly jit?: JitEngine;

  /**
   * Prepare `insns`. Throws `DecodeError` for an invalid encoding and `VmError` for a bad jump or call target
   * (kind 'jump'), an unknown helper or kfunc id ('helper'), an unresolvable pseudo lddw ('lddw') or a write
   * to r10 ('invalid').
   */
  constructor(insns: readonly Insn[], opts: VmEngineOptions = {}) {
    this.insns = insns;
    this.memory = opts.memory ?? new VmMemory();
    if (!(this.memory instanceof VmMemory)) throw new TypeError('VmOptions.memory must be a VmMemory');
    this.env = opts.env;
    this.maxInsns = opts.maxInsns ?? DEFAULT_MAX_INSNS;
    this.name = opts.name;
    this.prog = prepare(this, insns, opts);
    this.st = new RunState(this.memory, this.prog);
    this.ctx = new HelperContext(this.st);
    this.engine = opts.engine ?? Vm.defaultEngine;
    if (this.engine === 'jit') {
      try {
        this.jit = new JitEngine(this, this.st.stackSeg);
      } catch (e) {
        // Beyond what WebAssembly engines accept (V8: 7.6 MB per function): run on the interpreter instead.
        if (!(e instanceof WebAssembly.CompileError)) throw e;
        this.engine = 'interp';
        this.jitFallback = `the JIT could not compile the program (${e.message}); the interpreter runs it`;
      }
    } else if (this.engine !== 'interp') throw new TypeError(`unknown VM engine '${String(this.engine)}'`);
  }

  /** Run the program with r1..r5 (u64, negative values wrap) and return r0 as a u64. Throws `VmError` on a fault. */
  run(r1: bigint = 0n, r2: bigint = 0n, r3: bigint = 0n, r4: bigint = 0n, r5: bigint = 0n): bigint {
    if (this.jit) {
      try {
        return this.jit.run(r1, r2, r3, r4, r5);
      } finally {
        this.lastRun = this.jit.lastRun;
      }
    }
    const st = this.st;
    if (st.depth !== 0) throw new VmError(-1, 'reentrant', `run() called while ${this.name ?? 'the program'} is already running`);
    const L = st.L;
    const H = st.H;
    L.fill(0);
    H.fill(0);
    setReg(L, H, 1, r1);
    setReg(L, H, 2, r2);
    setReg(L, H, 3, r3);
    setReg(L, H, 4, r4);
    setReg(L, H, 5, r5);
    st.count = 0;
    st.limit = this.maxInsns;
    st.tailCalls = 0;
    st.pendingTail = undefined;
    st.retProg.fill(undefined);
    st.env = this.env;
    st.prog = this.prog;
    pushFrame(st, -1, this.prog, 0);
    try {
      execute(st, this.prog, 0, 1, this.ctx);
    } catch (e) {
      if (!(e instanceof LegacyAbort)) throw e;
      L[0] = 0;
      H[0] = 0;
    } finally {
      st.depth = 0;
      this.lastRun = { insns: st.count, tailCalls: st.tailCalls };
    }
    return (BigInt(H[0]! >>> 0) << 32n) | BigInt(L[0]! >>> 0);
  }
}

function setReg(L: Int32Array, H: Int32Array, r: number, v: bigint): void {
  const u = BigInt.asUintN(64, v);
  L[r] = Number(BigInt.asIntN(32, u));
  H[r] = Number(BigInt.asIntN(32, u >> 32n));
}

/** The object helpers receive. One per Vm; `pc` is updated per call. */
class HelperContext implements HelperCallContext, HelperCtxLike {
  pc = 0;
  constructor(private readonly st: RunState) {}
  get mem(): VmMemory {
    return this.st.mem;
  }
  get env(): unknown {
    return this.st.env;
  }
  get vm(): Vm {
    return this.st.prog.vm;
  }

  callSubprogram(fn: number | bigint, r1 = 0n, r2 = 0n, r3 = 0n, r4 = 0n, r5 = 0n): bigint {
    const st = this.st;
    const prog = st.prog;
    const callPc = this.pc;
    let target: number | undefined;
    if (typeof fn === 'bigint') target = funcPc(fn) ?? (fn >= 0n && fn < BigInt(prog.n) ? Number(fn) : undefined);
    else target = fn;
    if (target === undefined || !Number.isInteger(target) || target < 0 || target >= prog.n || prog.isStart[target] !== 1) {
      throw new VmError(callPc, 'jump', `callback target ${String(fn)} is not an instruction of the program`);
    }
    pushFrame(st, -1, prog, callPc);
    const L = st.L;
    const H = st.H;
    setReg(L, H, 1, r1);
    setReg(L, H, 2, r2);
    setReg(L, H, 3, r3);
    setReg(L, H, 4, r4);
    setReg(L, H, 5, r5);
    execute(st, prog, target, st.depth, this);
    this.pc = callPc;
    st.mem.pc = callPc;
    return (BigInt(H[0]! >>> 0) << 32n) | BigInt(L[0]! >>> 0);
  }

  tailCall(target: Vm): boolean {
    const st = this.st;
    if (target.memory !== st.mem) throw new VmError(this.pc, 'tail-call', 'tail-call target runs in a different Memory');
    if (st.tailCalls >= MAX_TAIL_CALLS) return false;
    st.tailCalls++;
    st.pendingTail = target.prog;
    return true;
  }
}

/** Does this instruction write its dst register? */
function writesDst(i: Insn): boolean {
  const cls = opClass(i.code);
  return cls === Class.ALU || cls === Class.ALU64 || cls === Class.LDX || i.code === LDDW;
}

/** Check and pack a program. */
function prepare(vm: Vm, insns: readonly Insn[], opts: VmOptions): Prog {
  const n = insns.length;
  if (n === 0) throw new VmError(0, 'jump', 'empty program');
  validateProgram(insns);
  const helpers = opts.helpers ?? NO_HELPERS;
  const kfuncs = opts.kfuncs ?? NO_HELPERS;
  const isStart = new Uint8Array(n);
  for (let pc = 0; pc < n; pc++) {
    isStart[pc] = 1;
    if (insns[pc]!.code === LDDW) pc++;
  }
  const code = new Int32Array((n + 1) * 2);
  const calls: (HelperImpl | undefined)[] = new Array(n).fill(undefined);
  const checkTarget = (pc: number, target: number, what: string) => {
    if (target < 0 || target >= n) throw new VmError(pc, 'jump', `${what} target ${target} is outside the program (0..${n - 1})`);
    if (isStart[target] !== 1) throw new VmError(pc, 'jump', `${what} target ${target} is the second slot of a 64-bit immediate load`);
  };
  for (let pc = 0; pc < n; pc++) {
    const i = insns[pc]!;
    let op = i.code;
    const cls = opClass(op);
    if (i.dst === 10 && writesDst(i)) throw new VmError(pc, 'invalid', 'r10 (frame pointer) is read-only');
    if (op === (Class.STX | Mode.ATOMIC | 0x00) || op === (Class.STX | Mode.ATOMIC | 0x18)) {
      if (i.imm & 1 && i.imm !== 0xf1 && i.src === 10) throw new VmError(pc, 'invalid', 'r10 (frame pointer) is read-only');
    }
    if (op === LDDW) {
      const next = insns[pc + 1]!;
      let value: bigint;
      if (i.src === PseudoLd.IMM64) value = lddwValue(insns, pc);
      else if (opts.resolveLddw) value = opts.resolveLddw(pc, i, next);
      else if (i.src === PseudoLd.FUNC) {
        const target = pc + 1 + i.imm;
        checkTarget(pc, target, 'function address');
        value = funcAddress(target);
      } else throw new VmError(pc, 'lddw', `lddw with pseudo source ${i.src} needs a resolver (no resolveLddw option)`);
      value = BigInt.asUintN(64, value);
      code[pc * 2] = LDDW | (i.dst << 8);
      code[pc * 2 + 1] = Number(BigInt.asIntN(32, value));
      code[pc * 2 + 2] = Op.INVALID;
      code[pc * 2 + 3] = Number(BigInt.asIntN(32, value >> 32n));
      pc++;
      continue;
    }
    if (cls === Class.ALU || cls === Class.ALU64) {
      const a = opAlu(op);
      const x = opSource(op) !== 0;
      const is64 = cls === Class.ALU64;
      if ((a === AluOp.DIV || a === AluOp.MOD) && i.off === 1) {
        const div = a === AluOp.DIV;
        op = is64
          ? div
            ? x ? Op.SDIV64_X : Op.SDIV64_K
            : x ? Op.SMOD64_X : Op.SMOD64_K
          : div
            ? x ? Op.SDIV32_X : Op.SDIV32_K
            : x ? Op.SMOD32_X : Op.SMOD32_K;
      } else if (a === AluOp.MOV && x && i.off !== 0) {
        if (is64) op = i.off === 8 ? Op.MOVSX64_8 : i.off === 16 ? Op.MOVSX64_16 : Op.MOVSX64_32;
        else op = i.off === 8 ? Op.MOVSX32_8 : Op.MOVSX32_16;
      }
    } else if (cls === Class.JMP || cls === Class.JMP32) {
      const j = opJmp(op);
      if (j === JmpOp.CALL) {
        if (opSource(op) === 0) {
          if (i.src === PseudoCall.HELPER) {
            const impl = helpers.get(i.imm);
            if (!impl) throw new VmError(pc, 'helper', `call to ${helperName(i.imm)}, which is not registered with this VM`);
            calls[pc] = impl;
          } else if (i.src === PseudoCall.KFUNC) {
            const impl = kfuncs.get(i.imm);
            if (!impl) throw new VmError(pc, 'helper', `call to kfunc with BTF id ${i.imm}, which is not registered with this VM`);
            calls[pc] = impl;
          } else {
            checkTarget(pc, pc + 1 + i.imm, 'call');
            op = Op.CALL_LOCAL;
          }
        }
      } else if (j !== JmpOp.EXIT) {
        const delta = cls === Class.JMP32 && j === JmpOp.JA ? i.imm : i.off;
        checkTarget(pc, pc + 1 + delta, 'jump');
      }
    }
    // Legacy packet loads without a `legacyPacket` option are left to fault at run time (kind 'unsupported').
    code[pc * 2] = (op & 0xff) | (i.dst << 8) | (i.src << 12) | (i.off << 16);
    code[pc * 2 + 1] = i.imm;
  }
  code[n * 2] = Op.INVALID;
  return {
    vm,
    code,
    n,
    calls,
    helpers,
    callx: opts.callx ?? 'pc',
    isStart,
    legacyPacket: opts.legacyPacket,
  };
}

/** Bytes of stack each frame gets. */
export const VM_STACK_SIZE = STACK_SIZE;
