/**
 * The path exploration (the kernel's do_check): walks every path of the program depth-first, one instruction at a
 * time, forking at undecided conditional jumps. At prune points the current state is compared with states
 * already proven safe there (pruning), with states still being explored on the current path (an identical one
 * means an infinite loop) and, after callback calls, widened until the callback loop converges. Counts processed
 * instructions against the complexity limit.
 */
import { formatLlvmAsm } from '../asm/llvm-format.js';
import { verifierProto } from '../isa/helper-kinds.js';
import { lddwValue, type Insn } from '../isa/insn.js';
import { Class, JmpOp, LDDW, Mode, PseudoCall, PseudoLd, Source, opClass, opJmp, opMode, opSize, opSource, sizeBytes, AtomicOp } from '../isa/opcodes.js';
import { SIZES } from '../isa/opcodes.js';
import { UNKNOWN, sconst, truncate } from './bounds.js';
import { checkAlu, readReg } from './check-alu.js';
import { enterFunction, checkHelperCall, checkKfuncCall, leaveFunction } from './check-call.js';
import { returnRange } from './check-ctx.js';
import { checkCondJmp } from './check-jmp.js';
import { checkMemAccess } from './check-mem.js';
import { reject, type Env } from './env.js';
import { describeReg, kernelState } from './messages.js';
import { coverFailsAt, fillCurView, keyFromView, newCurView, type PruneKey } from './prune-key.js';
import { NOT_INIT, cloneState, curFrame, isPointer, scalarReg, statesCovered, widenAgainst, type Reg, type VState } from './state.js';

/** Limits and switches of one exploration. */
export interface ExploreOptions {
  /** Processed-instruction budget (the kernel's 1M). */
  maxInsns: number;
  /** kfunc name per call pc (from ProgramSpec references). */
  kfuncs: Map<number, string>;
  /** Log every processed instruction with the register state. */
  verbose: boolean;
}

/** Counters reported in `VerifyResult.stats`. */
export interface ExploreStats {
  insnsProcessed: number;
  states: number;
  peakStates: number;
}

interface Checkpoint {
  st: VState;
  pc: number;
  branches: number;
  parent?: Checkpoint;
  /** Quick-rejection facts of `st` (made when first compared; `st` never changes once saved). */
  key?: PruneKey;
}

interface Path {
  st: VState;
  pc: number;
  parent?: Checkpoint;
}

/** Finished states kept per instruction for pruning (older ones are forgotten: less pruning, never less safety). */
const MAX_DONE_PER_INSN = 64;
/** In-progress states (on the current path) compared for infinite-loop detection, newest first. */
const MAX_LOOP_CHECKS = 16;

/** Explore every path from the entry state; throws `Reject` at the first unsafe instruction. */
export function explore(env: Env, init: VState, o: ExploreOptions): ExploreStats {
  const insns = env.insns;
  const stats: ExploreStats = { insnsProcessed: 0, states: 0, peakStates: 0 };
  // With depth-first exploration, a state still in progress is always an ancestor of the current path.
  const active = new Map<number, Checkpoint[]>();
  const done = new Map<number, Checkpoint[]>();
  let stored = 0;
  const stack: Path[] = [{ st: init, pc: 0 }];
  const view = newCurView();
  const scratch = newCurView();

  const finish = (c: Checkpoint) => {
    const a = active.get(c.pc)!;
    const at = a.lastIndexOf(c);
    if (at >= 0) a.splice(at, 1);
    const d = done.get(c.pc) ?? [];
    d.push(c);
    if (d.length > MAX_DONE_PER_INSN) {
      d.shift();
      stored--;
    }
    done.set(c.pc, d);
  };
  const endPath = (p: Path) => {
    for (let c = p.parent; c; c = c.parent) {
      c.branches--;
      if (c.branches > 0) break;
      finish(c);
    }
  };
  const fork = (p: Path, st: VState, pc: number) => {
    if (p.parent) p.parent.branches++;
    stack.push({ st, pc, parent: p.parent });
  };
  const liveMask = (st: VState, pc: number) => (f: number) => {
    if (f === st.frames.length - 1) return env.cfg.liveIn[pc]!;
    const callee = st.frames[f + 1]!;
    return callee.callback ? env.cfg.liveIn[callee.callsite]! : env.cfg.liveIn[callee.callsite + 1]! & ~0x3f;
  };

  /** true: pruned. */
  const visit = (p: Path): boolean => {
    const mask = liveMask(p.st, p.pc);
    const d = done.get(p.pc);
    const nf = p.st.frames.length;
    // `view` holds p.st's facts while `viewed` (until p.st changes).
    let viewed = false;
    let hint = -1;
    /** The quick check: false when `c` certainly does not cover p.st (also when they must be equal). */
    const mayCover = (c: Checkpoint): boolean => {
      if (c.st.frames.length !== nf) return false;
      if (!viewed) {
        fillCurView(view, p.st, mask);
        viewed = true;
      }
      if (!c.key) {
        fillCurView(scratch, c.st);
        c.key = keyFromView(scratch);
      }
      const at = coverFailsAt(c.key, view, hint);
      if (at >= 0) hint = at;
      return at < 0;
    };
    if (d) for (let k = 0; k < d.length; k++) if (mayCover(d[k]!) && statesCovered(d[k]!.st, p.st, mask)) return true;
    const a = active.get(p.pc) ?? [];
    const i = insns[p.pc]!;
    const callbackCall = opClass(i.code) === Class.JMP && opJmp(i.code) === JmpOp.CALL && i.src === PseudoCall.HELPER && (i.imm === 181 || i.imm === 164);
    for (let k = a.length - 1, n = 0; k >= 0 && n < MAX_LOOP_CHECKS; k--, n++) {
      const c = a[k]!;
      if (callbackCall) {
        // A callback loop: termination is the helper's job; converge by widening against the earlier visit.
        if (statesCovered(c.st, p.st, mask)) return true;
        widenAgainst(c.st, p.st);
        viewed = false;
        if (statesCovered(c.st, p.st, mask)) return true;
      } else if (c.st.cbIter === p.st.cbIter && mayCover(c) && statesCovered(c.st, p.st, mask, true)) {
        reject(p.pc, `infinite loop: execution comes back to insn ${p.pc} in exactly the same state, so it would never end`, `infinite loop detected at insn ${p.pc}`);
      }
    }
    const cp: Checkpoint = { st: cloneState(p.st), pc: p.pc, branches: 1, parent: p.parent, key: viewed ? keyFromView(view) : undefined };
    p.parent = cp;
    a.push(cp);
    active.set(p.pc, a);
    stats.states++;
    stored++;
    if (stored > stats.peakStates) stats.peakStates = stored;
    return false;
  };

  while (stack.length) {
    const p = stack.pop()!;
    for (;;) {
      if (++stats.insnsProcessed > o.maxInsns) {
        reject(p.pc, `the program is too complex to verify: more than ${o.maxInsns} instructions processed (a loop without a provable bound, or too many paths)`, `BPF program is too large. Processed ${o.maxInsns + 1} insn`);
      }
      if (env.cfg.prune[p.pc] && visit(p)) {
        endPath(p);
        break;
      }
      if (o.verbose) env.log(`${p.pc}: ${formatLlvmAsm(insns, p.pc)}  ; ${kernelState(p.st)}`);
      const next = step(env, p, o, fork);
      if (next === undefined) {
        endPath(p);
        break;
      }
      p.pc = next;
    }
  }
  return stats;
}

/** Execute one instruction; returns the next pc, or undefined when the path ends. */
function step(env: Env, p: Path, o: ExploreOptions, fork: (p: Path, st: VState, pc: number) => void): number | undefined {
  const { st, pc } = p;
  const i: Insn = env.insns[pc]!;
  const cls = opClass(i.code);
  const regs = curFrame(st).regs;
  switch (cls) {
    case Class.ALU:
    case Class.ALU64:
      checkAlu(env, st, pc, i);
      return pc + 1;
    case Class.LDX: {
      readReg(env, st, pc, i.src);
      const size = sizeBytes(opSize(i.code));
      const signed = opMode(i.code) === Mode.MEMSX;
      if (i.dst === 10) reject(pc, 'r10 (the frame pointer) is read-only', 'frame pointer is read only');
      const v = checkMemAccess(env, st, { pc, regNo: i.src, insnOff: i.off, size, write: false, signed, what: memText(i, true) });
      regs[i.dst] = v;
      return pc + 1;
    }
    case Class.ST:
    case Class.STX: {
      const size = sizeBytes(opSize(i.code));
      const atomic = opMode(i.code) === Mode.ATOMIC;
      let value: Reg | undefined;
      if (cls === Class.STX) value = readReg(env, st, pc, i.src);
      else value = scalarReg(truncate(sconst(i.imm), size));
      readReg(env, st, pc, i.dst);
      if (atomic) return atomicOp(env, st, pc, i, size, value!);
      const target = regs[i.dst]!;
      if (value && isPointer(value) && !env.privileged && target.type !== 'stack') {
        reject(pc, `storing a pointer (r${i.src}) into ${describeReg(target)} leaks a kernel address`, `R${i.src} leaks addr into mem`);
      }
      checkMemAccess(env, st, { pc, regNo: i.dst, insnOff: i.off, size, write: true, value, what: memText(i, false) });
      return pc + 1;
    }
    case Class.LD:
      if (i.code === LDDW) {
        regs[i.dst] = lddwReg(env, pc, i);
        return pc + 2;
      }
      return ldAbs(env, st, pc, i);
    default:
      return jump(env, p, o, fork);
  }
}

/** Access texts by (size, register, offset), made once: they only appear in messages. */
const MEM_TEXT = new Map<number, string>();

function memText(i: Insn, load: boolean): string {
  const reg = load ? i.src : i.dst;
  const key = ((i.off + 0x8000) * 16 + reg) * 32 + opSize(i.code);
  let text = MEM_TEXT.get(key);
  if (text === undefined) {
    const t = SIZES.find((s) => s.size === opSize(i.code))!.ctype;
    text = `*(${t} *)(r${reg} ${i.off < 0 ? '-' : '+'} ${Math.abs(i.off)})`;
    if (MEM_TEXT.size < 8192) MEM_TEXT.set(key, text);
  }
  return text;
}

function atomicOp(env: Env, st: VState, pc: number, i: Insn, size: number, value: Reg): number {
  const regs = curFrame(st).regs;
  if (isPointer(value)) reject(pc, `atomic operation with a pointer operand (r${i.src})`, `R${i.src} leaks addr into mem`);
  if (i.imm === AtomicOp.CMPXCHG) readReg(env, st, pc, 0);
  const what = `lock ${memText(i, false)}`;
  checkMemAccess(env, st, { pc, regNo: i.dst, insnOff: i.off, size, write: false, atomic: true, what });
  checkMemAccess(env, st, { pc, regNo: i.dst, insnOff: i.off, size, write: true, atomic: true, what });
  const loaded = scalarReg(truncate(UNKNOWN, size));
  if (i.imm === AtomicOp.CMPXCHG) regs[0] = loaded;
  else if (i.imm & AtomicOp.FETCH) regs[i.src] = loaded;
  return pc + 1;
}

function lddwReg(env: Env, pc: number, i: Insn): Reg {
  switch (i.src) {
    case PseudoLd.IMM64:
      return scalarReg(sconst(lddwValue(env.insns, pc)));
    case PseudoLd.MAP_FD:
    case PseudoLd.MAP_IDX:
    case PseudoLd.MAP_VALUE:
    case PseudoLd.MAP_IDX_VALUE: {
      const m = env.lddwMaps.get(pc);
      if (!m) reject(pc, `the map referenced here (${i.src === PseudoLd.MAP_FD || i.src === PseudoLd.MAP_VALUE ? 'fd' : 'index'} ${i.imm}) is unknown: pass its spec in opts.maps`, `fd ${i.imm} is not pointing to valid bpf_map`);
      if (m!.valueOff === undefined) return { type: 'map_ptr', s: sconst(0), off: 0, map: m!.map };
      if (m!.valueOff >= m!.map.valueSize) {
        reject(pc, `the address of map ${m!.map.name}'s value at offset ${m!.valueOff} is past its ${m!.map.valueSize} bytes`, `invalid access to map value pointer, value_size=${m!.map.valueSize} off=${m!.valueOff}`);
      }
      return { type: 'map_value', s: sconst(0), off: m!.valueOff, map: m!.map };
    }
    case PseudoLd.FUNC:
      return { type: 'func', s: sconst(0), off: 0, subprog: pc + 1 + i.imm };
    default:
      return reject(pc, 'unsupported: lddw of a BTF id (ksym variable); typed kernel pointers are not modelled');
  }
}

function ldAbs(env: Env, st: VState, pc: number, i: Insn): number {
  const regs = curFrame(st).regs;
  const r6 = regs[6]!;
  if (r6.type !== 'ctx' || ![1, 3, 4, 8].includes(env.progType)) {
    reject(pc, 'legacy packet loads (LD_ABS/LD_IND) need r6 to hold the __sk_buff context pointer of a socket or tc program', 'at the time of BPF_LD_ABS|IND R6 != pointer to skb');
  }
  if (st.refs.length) reject(pc, 'legacy packet loads cannot be mixed with held references', 'BPF_LD_[ABS|IND] cannot be mixed with socket references');
  if (opMode(i.code) === Mode.IND) {
    const src = readReg(env, st, pc, i.src);
    if (isPointer(src)) reject(pc, `the index register r${i.src} of a legacy packet load must be a scalar`, `R${i.src} leaks addr`);
  }
  for (let r = 1; r <= 5; r++) regs[r] = NOT_INIT;
  regs[0] = scalarReg(truncate(UNKNOWN, sizeBytes(opSize(i.code))));
  return pc + 1;
}

function jump(env: Env, p: Path, o: ExploreOptions, fork: (p: Path, st: VState, pc: number) => void): number | undefined {
  const { st, pc } = p;
  const i = env.insns[pc]!;
  const cls = opClass(i.code);
  const op = opJmp(i.code);
  if (op === JmpOp.JA) return pc + 1 + (cls === Class.JMP32 ? i.imm : i.off);
  if (op === JmpOp.EXIT) return exit(env, p);
  if (op === JmpOp.CALL) {
    if (opSource(i.code) === Source.X) reject(pc, 'unsupported: indirect calls (callx)');
    if (i.src === PseudoCall.CALL) {
      enterFunction(env, st, pc, pc + 1 + i.imm, undefined);
      return pc + 1 + i.imm;
    }
    if (i.src === PseudoCall.KFUNC) {
      checkKfuncCall(env, st, pc, i, o.kfuncs.get(pc));
      return pc + 1;
    }
    // Only helpers calling a callback need the state from before the call.
    const before = verifierProto(i.imm)?.callback ? cloneState(st) : undefined;
    const cb = checkHelperCall(env, st, pc, i);
    if (cb && before) {
      enterFunction(env, before, pc, cb.subprog, cb.args, { kind: cb.kind, retMin: 0, retMax: 1 });
      before.cbIter++;
      fork(p, before, cb.subprog);
    }
    return pc + 1;
  }
  const b = checkCondJmp(env, st, pc, i);
  const target = pc + 1 + i.off;
  if (b.taken && b.fall) {
    fork(p, b.taken, target);
    p.st = b.fall;
    return pc + 1;
  }
  if (b.taken) {
    p.st = b.taken;
    return target;
  }
  if (b.fall) {
    p.st = b.fall;
    return pc + 1;
  }
  return undefined;
}

function exit(env: Env, p: Path): number | undefined {
  const { st, pc } = p;
  const f = curFrame(st);
  const r0 = f.regs[0]!;
  if (r0.type === 'not_init') reject(pc, `${st.frames.length > 1 ? 'the function' : 'the program'} exits without setting r0 (its return value)`, 'R0 !read_ok');
  if (st.frames.length > 1) {
    if (f.callback) {
      if (r0.type !== 'scalar') reject(pc, `the callback must return a scalar, but r0 is ${describeReg(r0)}`, 'At callback return the register R0 is not a known value');
      if (r0.s.smin < BigInt(f.callback.retMin) || r0.s.smax > BigInt(f.callback.retMax)) {
        reject(pc, `the callback must return ${f.callback.retMin} or ${f.callback.retMax} (0: continue, 1: stop), but r0 is ${describeReg(r0)}`, `At callback return the register R0 has smin=${r0.s.smin} smax=${r0.s.smax} should have been in [${f.callback.retMin}, ${f.callback.retMax}]`);
      }
    }
    return leaveFunction(env, st, pc);
  }
  if (st.refs.length) {
    const r = st.refs[0]!;
    const how = r.what === 'bpf_ringbuf_reserve' ? 'bpf_ringbuf_submit or bpf_ringbuf_discard' : 'bpf_sk_release';
    reject(pc, `the program can exit here still holding the ${r.what} result from insn ${r.pc}: it must be released (${how}) on every path`, `Unreleased reference id=${r.id} alloc_insn=${r.pc}`);
  }
  if (st.rcu) reject(pc, 'the program exits inside an RCU read-side section: bpf_rcu_read_unlock is missing', 'bpf_rcu_read_unlock is missing');
  const range = returnRange(env.progType, env.expectedAttachType);
  if (range) {
    if (r0.type !== 'scalar') reject(pc, `the return value must be a number in [${range[0]}, ${range[1]}], but r0 is ${describeReg(r0)}`, `At program exit the register R0 is not a known value (${r0.type})`);
    if (r0.s.smin < BigInt(range[0]) || r0.s.smax > BigInt(range[1])) {
      reject(pc, `the return value must be in [${range[0]}, ${range[1]}] for this program type, but r0 is ${describeReg(r0)}`, `At program exit the register R0 has smin=${r0.s.smin} smax=${r0.s.smax} should have been in [${range[0]}, ${range[1]}]`);
    }
  } else if (isPointer(r0) && (env.strict || !env.privileged)) {
    reject(pc, `the program returns a pointer (r0 is ${describeReg(r0)}), which would leak a kernel address; return a number`, 'R0 leaks addr as return value');
  }
  return undefined;
}
