/**
 * Control-flow checks done before any abstract interpretation (the kernel's check_subprogs / check_cfg):
 * every slot decodes, jumps stay inside their function and land on an instruction start, each function ends
 * in exit or a jump, no instruction is unreachable, calls do not recurse. Also computes function boundaries,
 * prune points (where states are saved and compared) and register liveness (dead registers are ignored when
 * comparing states).
 */
import { checkInsn, isLddw, type Insn } from '../isa/insn.js';
import { Class, JmpOp, Mode, PseudoCall, PseudoLd, Source, opAlu, opClass, opJmp, opMode, opSource } from '../isa/opcodes.js';
import { AluOp } from '../isa/opcodes.js';
import { helperById } from '../isa/helpers.js';
import { reject } from './env.js';

/** Control-flow facts of a program. */
export interface Cfg {
  /** Function start pcs, sorted; [0] is 0. */
  readonly funcs: number[];
  /** Function start of each pc. */
  readonly funcOf: Int32Array;
  /** pc is the first slot of an instruction. */
  readonly starts: Uint8Array;
  /** States are saved and compared here. */
  readonly prune: Uint8Array;
  /** Registers live on entry to each pc (bit r). */
  readonly liveIn: Uint16Array;
  /** Functions referenced as callbacks (lddw of a function). */
  readonly callbacks: Set<number>;
}

/** Successor pcs of the instruction at `pc` inside its function (calls fall through). */
export function successors(insns: readonly Insn[], pc: number): number[] {
  const i = insns[pc]!;
  if (isLddw(i)) return [pc + 2];
  const cls = opClass(i.code);
  if (cls !== Class.JMP && cls !== Class.JMP32) return [pc + 1];
  const op = opJmp(i.code);
  if (op === JmpOp.EXIT) return [];
  if (op === JmpOp.CALL) return [pc + 1];
  if (op === JmpOp.JA) return [pc + 1 + (cls === Class.JMP32 ? i.imm : i.off)];
  return [pc + 1, pc + 1 + i.off];
}

const R = (...rs: number[]) => rs.reduce((m, r) => m | (1 << r), 0);
const ARGS = R(1, 2, 3, 4, 5);
const CALLER_SAVED = R(0, 1, 2, 3, 4, 5);

/** Registers read and written by one instruction (for liveness). */
function useDef(i: Insn): { use: number; def: number } {
  const cls = opClass(i.code);
  const x = opSource(i.code) === Source.X;
  switch (cls) {
    case Class.ALU:
    case Class.ALU64: {
      const op = opAlu(i.code);
      const use = (op === AluOp.MOV ? 0 : R(i.dst)) | (x ? R(i.src) : 0);
      return { use, def: R(i.dst) };
    }
    case Class.LDX:
      return { use: R(i.src), def: R(i.dst) };
    case Class.ST:
      return { use: R(i.dst), def: 0 };
    case Class.STX: {
      if (opMode(i.code) === Mode.ATOMIC) {
        const cmpxchg = i.imm === 0xf1;
        return { use: R(i.dst, i.src) | (cmpxchg ? R(0) : 0), def: cmpxchg ? R(0) : i.imm & 1 ? R(i.src) : 0 };
      }
      return { use: R(i.dst, i.src), def: 0 };
    }
    case Class.LD:
      if (isLddw(i)) return { use: 0, def: R(i.dst) };
      return { use: R(6) | (opMode(i.code) === Mode.IND ? R(i.src) : 0), def: CALLER_SAVED };
    default: {
      const op = opJmp(i.code);
      if (op === JmpOp.EXIT) return { use: R(0), def: 0 };
      if (op === JmpOp.JA) return { use: 0, def: 0 };
      if (op === JmpOp.CALL) {
        if (i.src === PseudoCall.HELPER) {
          const h = helperById(i.imm);
          const n = h ? Math.min(h.args.filter((a) => a.kind !== 'varargs').length, 5) : 5;
          return { use: h?.args.some((a) => a.kind === 'varargs') ? ARGS : (1 << (n + 1)) - 2, def: CALLER_SAVED };
        }
        return { use: ARGS, def: CALLER_SAVED };
      }
      return { use: R(i.dst) | (x ? R(i.src) : 0), def: 0 };
    }
  }
}

/** Check the program's control flow and compute its `Cfg`. Throws `Reject` on malformed control flow. */
export function buildCfg(insns: readonly Insn[]): Cfg {
  const n = insns.length;
  if (n === 0) reject(0, 'the program is empty', 'last insn is not an exit or jmp');
  const starts = new Uint8Array(n);
  for (let pc = 0; pc < n; pc++) {
    const why = checkInsn(insns, pc);
    if (why) reject(pc, `invalid instruction: ${why}`, 'invalid insn');
    starts[pc] = 1;
    if (isLddw(insns[pc]!)) pc++;
  }
  // Functions: targets of bpf-to-bpf calls and of lddw's of functions.
  const funcSet = new Set<number>([0]);
  const callbacks = new Set<number>();
  const target = (pc: number, t: number, what: string) => {
    if (t < 0 || t >= n) reject(pc, `${what} to insn ${t}, outside the program (0..${n - 1})`, `jump out of range from insn ${pc} to ${t}`);
    if (!starts[t]) reject(pc, `${what} into the middle of the 16-byte lddw at insn ${t - 1}`, `jump to reserved code at insn ${t}`);
  };
  for (let pc = 0; pc < n; pc++) {
    if (!starts[pc]) continue;
    const i = insns[pc]!;
    if (isLddw(i) && i.src === PseudoLd.FUNC) {
      target(pc, pc + 1 + i.imm, 'function reference');
      funcSet.add(pc + 1 + i.imm);
      callbacks.add(pc + 1 + i.imm);
    }
    if (opClass(i.code) === Class.JMP && opJmp(i.code) === JmpOp.CALL && opSource(i.code) === Source.K && i.src === PseudoCall.CALL) {
      target(pc, pc + 1 + i.imm, 'call');
      funcSet.add(pc + 1 + i.imm);
    }
  }
  const funcs = [...funcSet].sort((a, b) => a - b);
  const funcOf = new Int32Array(n);
  for (let f = 0; f < funcs.length; f++) funcOf.fill(funcs[f]!, funcs[f]!, funcs[f + 1] ?? n);
  // Each function ends with exit or an unconditional jump; jumps stay in their function.
  for (let f = 0; f < funcs.length; f++) {
    const end = (funcs[f + 1] ?? n) - 1;
    let last = end;
    if (!starts[last]) last--;
    const li = insns[last]!;
    const cls = opClass(li.code);
    const ok = (cls === Class.JMP || cls === Class.JMP32) && (opJmp(li.code) === JmpOp.EXIT || opJmp(li.code) === JmpOp.JA) && !(cls === Class.JMP32 && opJmp(li.code) === JmpOp.EXIT);
    if (!ok) reject(last, `the last instruction of ${funcs[f] === 0 ? 'the program' : `the function at insn ${funcs[f]}`} must be exit or goto (execution would run off the end)`, 'last insn is not an exit or jmp');
  }
  const prune = new Uint8Array(n);
  for (let pc = 0; pc < n; pc++) {
    if (!starts[pc]) continue;
    const i = insns[pc]!;
    const cls = opClass(i.code);
    if (cls !== Class.JMP && cls !== Class.JMP32) continue;
    const op = opJmp(i.code);
    if (op === JmpOp.EXIT) continue;
    if (op === JmpOp.CALL) {
      if (opSource(i.code) === Source.X) continue;
      if (pc + 1 < n) prune[pc + 1] = 1;
      prune[pc] = 1;
      continue;
    }
    for (const t of successors(insns, pc)) {
      target(pc, t, 'jump');
      if (funcOf[t] !== funcOf[pc]) reject(pc, `jump from insn ${pc} to insn ${t} leaves its function (which starts at insn ${funcOf[pc]})`, `jump out of range from insn ${pc} to ${t}`);
      prune[t] = 1;
    }
  }
  // Reachability (calls and function references reach their targets).
  const seen = new Uint8Array(n);
  const work = [0, ...callbacks];
  while (work.length) {
    const pc = work.pop()!;
    if (seen[pc]) continue;
    seen[pc] = 1;
    const i = insns[pc]!;
    if (opClass(i.code) === Class.JMP && opJmp(i.code) === JmpOp.CALL && i.src === PseudoCall.CALL && opSource(i.code) === Source.K) work.push(pc + 1 + i.imm);
    for (const s of successors(insns, pc)) if (s < n && !seen[s]) work.push(s);
  }
  for (let pc = 0; pc < n; pc++) if (starts[pc] && !seen[pc]) reject(pc, `insn ${pc} can never be reached (dead code is refused)`, `unreachable insn ${pc}`);
  checkRecursion(insns, funcs, funcOf, starts);
  return { funcs, funcOf, starts, prune, liveIn: liveness(insns, starts), callbacks };
}

function checkRecursion(insns: readonly Insn[], funcs: number[], funcOf: Int32Array, starts: Uint8Array): void {
  const calls = new Map<number, { pc: number; to: number }[]>(funcs.map((f) => [f, []]));
  for (let pc = 0; pc < insns.length; pc++) {
    const i = insns[pc]!;
    if (!starts[pc] || opClass(i.code) !== Class.JMP || opJmp(i.code) !== JmpOp.CALL || i.src !== PseudoCall.CALL || opSource(i.code) !== Source.K) continue;
    calls.get(funcOf[pc]!)!.push({ pc, to: pc + 1 + i.imm });
  }
  const state = new Map<number, 1 | 2>();
  const visit = (f: number) => {
    state.set(f, 1);
    for (const c of calls.get(f) ?? []) {
      const s = state.get(c.to);
      if (s === 1) reject(c.pc, `recursive call from insn ${c.pc} to the function at insn ${c.to} (recursion is not allowed)`, `recursive call from insn ${c.pc} to ${c.to}`);
      if (!s) visit(c.to);
    }
    state.set(f, 2);
  };
  for (const f of funcs) if (!state.get(f)) visit(f);
}

/** Backward dataflow: registers live on entry to each instruction. */
function liveness(insns: readonly Insn[], starts: Uint8Array): Uint16Array {
  const n = insns.length;
  const live = new Uint16Array(n);
  const ud = new Array<{ use: number; def: number }>(n);
  const preds: number[][] = Array.from({ length: n }, () => []);
  for (let pc = 0; pc < n; pc++) {
    if (!starts[pc]) continue;
    ud[pc] = useDef(insns[pc]!);
    for (const s of successors(insns, pc)) if (s < n) preds[s]!.push(pc);
  }
  const work: number[] = [];
  for (let pc = 0; pc < n; pc++) if (starts[pc]) work.push(pc);
  const queued = new Uint8Array(n).fill(1);
  while (work.length) {
    const pc = work.pop()!;
    queued[pc] = 0;
    let out = 0;
    for (const s of successors(insns, pc)) if (s < n) out |= live[s]!;
    const { use, def } = ud[pc]!;
    const inn = use | (out & ~def);
    if (inn !== live[pc]) {
      live[pc] = inn;
      for (const p of preds[pc]!) {
        if (!queued[p]) {
          queued[p] = 1;
          work.push(p);
        }
      }
    }
  }
  return live;
}
