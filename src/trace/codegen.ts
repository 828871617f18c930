/**
 * Code generation: one checked probe (body + attach point) → eBPF instructions. Integer expressions are
 * evaluated into r0 (operands spilled to stack slots), strings into zero-padded 64-byte stack buffers;
 * r6 holds the context. Maps are referenced by name (`m<index>`) and resolved by the loader.
 * Events to userspace (printf, exit, print, clear, zero) go through one ring buffer: a u32 kind, a u32 id,
 * then the arguments (8 bytes per integer, 64 per string).
 */
import { AluOp, JmpOp, PT_REGS_ARGS, PT_REGS_LAYOUT, fieldNamed, HelperId, Uapi, type Insn } from '../isa/index.js';
import type { InsnReference } from '../spec/program.js';
import type { Expr, Loc, MapExpr, Stmt } from './ast.js';
import { Emitter, FP, R0, R1, R2, R3, R4, R6, R7, R8, R9 } from './emitter.js';
import { traceError } from './errors.js';
import { positionalInt, signalNumber, type CheckedProbe, type PrintfInfo } from './semantic.js';
import { ctypeSize, taskStruct, type CType } from './ctypes.js';
import { JOIN_ARGS, JOIN_ARGSIZE, JOIN_HEADER, JoinFlag, STACK_MAX, STRLEN, mapKeySize, mapValueSize, tySize, type MapInfo, type Ty } from './types.js';
import { taskOffsets, type TaskOffsets } from './task-offsets.js';
import type { UsdtArg } from '../elf/usdt-args.js';

/** Event kinds in the first u32 of a ring buffer record. */
export const EventKind = { PRINTF: 1, EXIT: 2, PRINT: 3, CLEAR: 4, ZERO: 5, /** print(@m, top, div): then u64 top, u64 div */ PRINT_TOP: 6, /** join(): see JOIN_HEADER */ JOIN: 7, /** system(): a printf record whose text is run by /bin/sh */ SYSTEM: 8, /** cat(): a printf record naming a file to print */ CAT: 9, /** time(fmt): the id is the format's index */ TIME: 10 } as const;

/** Reference names of the internal maps. */
export const EVENTS_MAP = 'events';
export const GLOBALS_MAP = 'globals';
export const KSTACK_MAP = 'kstacks';
export const USTACK_MAP = 'ustacks';
/** ustack id (u64: frame limit << 32 | id) → the pid that took it (user space needs it to find the symbols). */
export const USTACK_PID_MAP = 'ustackpids';
/** Reference name of the stack map holding `limit` frames (the default maps for STACK_MAX). */
export function stackMapRef(user: boolean, limit: number = STACK_MAX): string {
  const base = user ? USTACK_MAP : KSTACK_MAP;
  return limit === STACK_MAX ? base : `${base}_${limit}`;
}
/** Per-CPU scratch of join() records (too big for the BPF stack): one JOIN_HEADER + JOIN_ARGS * JOIN_ARGSIZE value. */
export const JOIN_MAP = 'join';
export const JOIN_VALUE_SIZE = JOIN_HEADER + JOIN_ARGS * JOIN_ARGSIZE;
/** Globals map value: [0] start time (ns, CLOCK_MONOTONIC), [8] child pid. */
export const GLOBAL_START = 0;
export const GLOBAL_CPID = 8;

/** What codegen needs from the whole script. */
export interface CodegenEnv {
  maps: Map<string, MapInfo>;
  /** Map name → reference name (`m0`...). */
  mapRef: (name: string) => string;
  /** Map name → index used in print/clear events. */
  mapIndex: (name: string) => number;
  /** printf id for a checked printf (registers its layout). */
  printfId: (info: PrintfInfo) => number;
  /** join id for a delimiter (registers it; the script then needs JOIN_MAP). */
  joinId: (delim: string) => number;
  /** Index of a time() format (registers it). */
  timeId: (fmt: string) => number;
  file: string;
}

/** Instructions and the map references they carry. */
export interface GeneratedProgram {
  insns: Insn[];
  references: InsnReference[];
  /** Instruction offsets where subprograms (for loop callbacks) start; they need BTF func_info to load. */
  subprograms?: number[];
}

const H = (name: string): number => {
  const id = HelperId[name];
  if (id === undefined) throw new Error(`trace codegen: unknown helper ${name}`);
  return id;
};

const regOff = (reg: string) => fieldNamed(PT_REGS_LAYOUT, reg)!.offset;
/** Types held in stack buffers rather than r0. */
const isBuf = (t: Ty) => t.k === 'str' || t.k === 'inet' || t.k === 'usym' || t.k === 'buf' || t.k === 'mac';
const isArgs = (x: Expr) => x.kind === 'builtin' && x.name === 'args';

/** Whether statements contain a for loop. */
function hasFor(ss: Stmt[]): boolean {
  return ss.some((s) => s.kind === 'for' || ((s.kind === 'if' || s.kind === 'while' || s.kind === 'unroll') && (hasFor(s.kind === 'if' ? [...s.then, ...(s.else ?? [])] : s.body))));
}

/** Generate the program of one checked probe. */
export function generateProbe(cp: CheckedProbe, env: CodegenEnv): GeneratedProgram {
  const g = new Gen(cp, env);
  return g.run();
}

class Gen {
  private readonly e = new Emitter();
  private sp = 0;
  private readonly varSlots = new Map<string, number>();
  /** Labels of the enclosing while loops (innermost last). */
  private readonly loops: { top: number; end: number }[] = [];
  /** The label before the program's `return 0`. */
  private endLabel = -1;
  /** Bytes at the top of every frame holding the scratch variables (and the context pointer when there are for loops). */
  private varArea = 0;
  /** fp offset of the saved context pointer (for loops only). */
  private ctxSlot = 0;
  /** for loop callbacks still to emit, and the one being emitted (with its key/value pointer slots). */
  private readonly pendingFor: { s: Extract<Stmt, { kind: 'for' }>; label: number }[] = [];
  private curFor?: { s: Stmt; keySlot: number; valSlot: number };

  constructor(
    private readonly cp: CheckedProbe,
    private readonly env: CodegenEnv,
  ) {}

  private err(reason: string, loc: Loc): never {
    throw traceError(reason, loc, this.env.file);
  }

  /** Allocate `size` bytes of stack (8-aligned); returns the fp offset. */
  private alloc(size: number, loc: Loc): number {
    this.sp += (size + 7) & ~7;
    if (this.sp > 512) this.err('The probe needs more than 512 bytes of BPF stack (too many strings or map keys in one statement)', loc);
    return -this.sp;
  }

  private ty(x: Expr): Ty {
    const t = this.cp.types.get(x);
    if (!t) throw new Error(`trace codegen: untyped ${x.kind} expression`);
    return t;
  }

  run(): GeneratedProgram {
    const e = this.e;
    e.mov(R6, R1);
    if (hasFor(this.cp.probe.body)) {
      this.ctxSlot = this.alloc(8, this.cp.probe.loc);
      e.stx(8, FP, this.ctxSlot, R6);
    }
    for (const [name, t] of this.cp.vars) {
      const off = this.alloc(tySize(t), this.cp.probe.loc);
      this.varSlots.set(name, off);
      this.zero(off, tySize(t));
    }
    this.varArea = this.sp;
    const end = e.label();
    this.endLabel = end;
    if (this.cp.probe.pred) {
      const m = this.sp;
      this.int(this.cp.probe.pred);
      this.sp = m;
      e.jmpImm(JmpOp.JEQ, R0, 0, end);
    }
    this.stmts(this.cp.probe.body);
    e.bind(end);
    e.movImm(R0, 0);
    e.exit();
    const subprograms: number[] = [];
    for (let f = this.pendingFor.shift(); f; f = this.pendingFor.shift()) {
      subprograms.push(e.insns.length);
      this.forCallback(f.s, f.label);
    }
    return { insns: e.finish(), references: e.refs, ...(subprograms.length ? { subprograms } : {}) };
  }

  /**
   * `for ($kv : @m) body` → bpf_for_each_map_elem(@m, callback, &vars, 0). The callback (a subprogram after the
   * main one) gets the caller's variable area through its context pointer: it copies it into the same slots of
   * its own frame, runs the body, and copies it back (so variables work as in the caller); `continue` returns
   * 0 (next element), `break` 1 (stop).
   */
  private forLoop(s: Extract<Stmt, { kind: 'for' }>): void {
    const e = this.e;
    const label = e.label();
    this.pendingFor.push({ s, label });
    e.ldMap(R1, this.env.mapRef(s.map.name));
    e.ldFunc(R2, label);
    e.fpAddr(R3, -this.varArea);
    e.movImm(R4, 0);
    e.call(H('for_each_map_elem'));
  }

  private forCallback(s: Extract<Stmt, { kind: 'for' }>, label: number): void {
    const e = this.e;
    e.bind(label);
    this.sp = this.varArea;
    const keySlot = this.alloc(8, s.loc);
    const valSlot = this.alloc(8, s.loc);
    const argSlot = this.alloc(8, s.loc);
    e.stx(8, FP, keySlot, R2);
    e.stx(8, FP, valSlot, R3);
    e.stx(8, FP, argSlot, R4);
    const copyArea = (toCaller: boolean) => {
      e.ldx(8, R4, FP, argSlot);
      for (let i = 0; i < this.varArea; i += 8) {
        if (toCaller) {
          e.ldx(8, R1, FP, -this.varArea + i);
          e.stx(8, R4, i, R1);
        } else {
          e.ldx(8, R1, R4, i);
          e.stx(8, FP, -this.varArea + i, R1);
        }
      }
    };
    copyArea(false);
    e.ldx(8, R6, FP, this.ctxSlot);
    const next = e.label();
    const stop = e.label();
    const savedLoops = this.loops.splice(0);
    this.loops.push({ top: next, end: stop });
    const savedFor = this.curFor;
    this.curFor = { s, keySlot, valSlot };
    this.stmts(s.body);
    this.curFor = savedFor;
    this.loops.splice(0, this.loops.length, ...savedLoops);
    // The verifier refuses unreachable code: a body ending in `break` never gets here.
    if (e.used(next) || !e.endsWithJump()) {
      e.bind(next);
      copyArea(true);
      e.movImm(R0, 0);
      e.exit();
    }
    // Only when some `break` jumps there (the verifier refuses unreachable code).
    if (!e.used(stop)) return;
    e.bind(stop);
    copyArea(true);
    e.movImm(R0, 1);
    e.exit();
  }

  /** r0 = an integer key/value part of the current for loop's element. */
  private forRead(x: Expr): boolean {
    const r = this.cp.forRefs.get(x);
    if (!r) return false;
    if (!this.curFor || this.curFor.s !== r.loop) this.err('for loop variable used outside its loop', x.loc);
    this.e.ldx(8, R1, FP, r.part === 'key' ? this.curFor.keySlot : this.curFor.valSlot);
    return true;
  }

  private zero(off: number, size: number): void {
    for (let i = 0; i < size; i += 8) this.e.st(8, FP, off + i, 0);
  }

  private copy(dst: number, src: number, srcReg: number, size: number): void {
    for (let i = 0; i < size; i += 8) {
      this.e.ldx(8, R1, srcReg, src + i);
      this.e.stx(8, FP, dst + i, R1);
    }
  }

  private stmts(ss: Stmt[]): void {
    for (const s of ss) {
      const m = this.sp;
      this.stmt(s);
      this.sp = m;
    }
  }

  private stmt(s: Stmt): void {
    const e = this.e;
    switch (s.kind) {
      case 'if': {
        const els = e.label();
        const end = e.label();
        const m = this.sp;
        this.int(s.cond);
        this.sp = m;
        e.jmpImm(JmpOp.JEQ, R0, 0, els);
        this.stmts(s.then);
        if (s.else) e.ja(end);
        e.bind(els);
        if (s.else) this.stmts(s.else);
        e.bind(end);
        return;
      }
      case 'while': {
        const top = e.label();
        const end = e.label();
        e.bind(top);
        const m = this.sp;
        this.int(s.cond);
        this.sp = m;
        e.jmpImm(JmpOp.JEQ, R0, 0, end);
        this.loops.push({ top, end });
        this.stmts(s.body);
        this.loops.pop();
        e.ja(top);
        e.bind(end);
        return;
      }
      case 'unroll': {
        const n = this.cp.unrollCounts.get(s)!;
        for (let i = 0; i < n; i++) this.stmts(s.body);
        return;
      }
      case 'jump': {
        if (s.what === 'return') return e.ja(this.endLabel);
        const l = this.loops[this.loops.length - 1];
        if (!l) this.err(`${s.what} used outside of a loop`, s.loc);
        return e.ja(s.what === 'break' ? l.end : l.top);
      }
      case 'expr':
        return this.exprStmt(s.expr);
      case 'assign':
        return this.assign(s);
      case 'for':
        return this.forLoop(s);
    }
  }

  private exprStmt(x: Expr): void {
    if (x.kind === 'call') {
      switch (x.name) {
        case 'printf':
          return this.printf(x, EventKind.PRINTF);
        case 'system':
          return this.printf(x, EventKind.SYSTEM);
        case 'cat':
          return this.printf(x, EventKind.CAT);
        case 'signal': {
          // bpf_send_signal(sig) to the current process: a name or literal is checked and resolved at compile time.
          const a = x.args[0]!;
          if (a.kind === 'str' || a.kind === 'builtin') this.e.movImm(R1, signalNumber(a.kind === 'str' ? a.value : a.name)!);
          else {
            this.int(a);
            this.e.mov(R1, R0);
          }
          this.e.call(H('send_signal'));
          return;
        }
        case 'exit':
          return this.event(EventKind.EXIT, 0, x.loc);
        case 'time': {
          const f = x.args[0];
          return this.event(EventKind.TIME, this.env.timeId(f && f.kind === 'str' ? f.value : '%H:%M:%S\n'), x.loc);
        }
        case 'join':
          return this.join(x);
        case 'print':
        case 'clear':
        case 'zero': {
          const m = x.args[0] as MapExpr;
          if (!this.env.maps.has(m.name)) this.err(`Undefined map: @${m.name}`, m.loc);
          const kind = x.name === 'print' ? EventKind.PRINT : x.name === 'clear' ? EventKind.CLEAR : EventKind.ZERO;
          if (x.args.length > 1) {
            const num = (a: Expr | undefined, dflt: bigint) => (!a ? dflt : a.kind === 'int' ? a.value : a.kind === 'positional' ? positionalInt(this.cp.params, a.n) ?? 0n : dflt);
            const buf = this.alloc(24, x.loc);
            this.e.st(4, FP, buf, EventKind.PRINT_TOP);
            this.e.st(4, FP, buf + 4, this.env.mapIndex(m.name));
            this.e.movImm(R1, num(x.args[1], 0n));
            this.e.stx(8, FP, buf + 8, R1);
            this.e.movImm(R1, num(x.args[2], 1n));
            this.e.stx(8, FP, buf + 16, R1);
            return this.output(buf, 24);
          }
          return this.event(kind, this.env.mapIndex(m.name), x.loc);
        }
        case 'delete': {
          const m = x.args[0] as MapExpr;
          const key = this.key(m, x.loc);
          const info = this.env.maps.get(m.name)!;
          if (info.kind === 'hist' || info.kind === 'lhist') {
            // Every bucket of the key is its own element: delete them all in a bounded loop.
            const buckets = info.kind === 'hist' ? 66 : 2 + Math.floor((info.lhist!.max - info.lhist!.min) / info.lhist!.step);
            const slot = key + mapKeySize(info) - 8;
            const loop = this.e.label();
            this.e.st(8, FP, slot, 0);
            this.e.bind(loop);
            this.e.ldMap(R1, this.env.mapRef(m.name));
            this.e.fpAddr(R2, key);
            this.e.call(H('map_delete_elem'));
            this.e.ldx(8, R1, FP, slot);
            this.e.aluImm(AluOp.ADD, R1, 1);
            this.e.stx(8, FP, slot, R1);
            this.e.jmpImm(JmpOp.JLT, R1, buckets, loop);
            return;
          }
          this.e.ldMap(R1, this.env.mapRef(m.name));
          this.e.fpAddr(R2, key);
          this.e.call(H('map_delete_elem'));
          return;
        }
      }
    }
    const t = this.ty(x);
    if (isBuf(t)) this.str(x, this.alloc(tySize(t), x.loc));
    else this.int(x);
  }

  /**
   * join(arr [, delim]): fill the per-CPU scratch record with up to JOIN_ARGS strings of the NULL-terminated
   * pointer array `arr` (packed, each at most JOIN_ARGSIZE bytes with its NUL), then send only the used bytes.
   * r7 = the record, r8 = bytes used so far, r9 = the array.
   */
  private join(x: Extract<Expr, { kind: 'call' }>): void {
    const e = this.e;
    const d = x.args[1];
    const id = this.env.joinId(d && d.kind === 'str' ? d.value : ' ');
    const t = this.ty(x.args[0]!);
    const ap = this.cp.ap;
    // Syscall arguments and uprobe registers point into the traced process.
    const user = (t.k === 'int' && t.user) || ap.kind === 'uprobe' || ap.kind === 'uretprobe' || ap.kind === 'usdt' || (ap.kind === 'tracepoint' && ap.category === 'syscalls');
    const readPtr = H(user ? 'probe_read_user' : 'probe_read_kernel');
    const readStr = H(user ? 'probe_read_user_str' : 'probe_read_kernel_str');
    const slot = this.alloc(8, x.loc);
    this.int(x.args[0]!);
    e.mov(R9, R0);
    e.st(8, FP, slot, 0);
    e.ldMap(R1, JOIN_MAP);
    e.fpAddr(R2, slot);
    e.call(H('map_lookup_elem'));
    const end = e.label();
    const fault = e.label();
    const out = e.label();
    e.jmpImm(JmpOp.JEQ, R0, 0, end);
    e.mov(R7, R0);
    e.st(4, R7, 0, EventKind.JOIN);
    e.st(4, R7, 4, id);
    e.call(H('get_current_pid_tgid'));
    e.stx(8, R7, 8, R0);
    e.st(8, R7, 16, 0);
    e.movImm(R8, JOIN_HEADER);
    const setFlag = (flag: number) => {
      e.ldx(4, R1, R7, 20);
      e.aluImm(AluOp.OR, R1, flag);
      e.stx(4, R7, 20, R1);
    };
    for (let i = 0; i <= JOIN_ARGS; i++) {
      e.fpAddr(R1, slot);
      e.movImm(R2, 8);
      e.mov(R3, R9);
      if (i) e.aluImm(AluOp.ADD, R3, i * 8);
      e.call(readPtr);
      e.jmpImm(JmpOp.JNE, R0, 0, fault);
      e.ldx(8, R3, FP, slot);
      e.jmpImm(JmpOp.JEQ, R3, 0, out);
      if (i === JOIN_ARGS) {
        setFlag(JoinFlag.MORE);
        break;
      }
      // Always true; tells the verifier the string fits the record.
      e.jmpImm(JmpOp.JGT, R8, JOIN_HEADER + i * JOIN_ARGSIZE, out);
      e.mov(R1, R7);
      e.alu(AluOp.ADD, R1, R8);
      e.movImm(R2, JOIN_ARGSIZE);
      e.call(readStr);
      e.jmpImm(JmpOp.JSLE, R0, 0, fault);
      e.jmpImm(JmpOp.JGT, R0, JOIN_ARGSIZE, fault);
      e.alu(AluOp.ADD, R8, R0);
      e.st(4, R7, 16, i + 1);
      const full = e.label();
      e.jmpImm(JmpOp.JNE, R0, JOIN_ARGSIZE, full);
      setFlag(JoinFlag.TRUNCATED);
      e.bind(full);
    }
    e.ja(out);
    e.bind(fault);
    setFlag(JoinFlag.FAULT);
    e.bind(out);
    e.ldMap(R1, EVENTS_MAP);
    e.mov(R2, R7);
    e.mov(R3, R8);
    e.movImm(R4, 0);
    e.call(H('ringbuf_output'));
    e.bind(end);
  }

  private event(kind: number, id: number, loc: Loc): void {
    const buf = this.alloc(8, loc);
    this.e.st(4, FP, buf, kind);
    this.e.st(4, FP, buf + 4, id);
    this.output(buf, 8);
  }

  private output(buf: number, size: number): void {
    const e = this.e;
    e.ldMap(R1, EVENTS_MAP);
    e.fpAddr(R2, buf);
    e.movImm(R3, size);
    e.movImm(R4, 0);
    e.call(H('ringbuf_output'));
  }

  /** printf / system / cat: the event `kind`, the format's id, then the arguments. */
  private printf(x: Extract<Expr, { kind: 'call' }>, kind: number): void {
    const info = this.cp.printfs.get(x)!;
    const size = 8 + info.args.reduce((n, t) => n + tySize(t), 0);
    const buf = this.alloc(size, x.loc);
    this.e.st(4, FP, buf, kind);
    this.e.st(4, FP, buf + 4, this.env.printfId(info));
    let off = buf + 8;
    x.args.slice(1).forEach((a, i) => {
      const t = info.args[i]!;
      const m = this.sp;
      if (isBuf(t)) this.str(a, off);
      else {
        this.int(a);
        this.e.stx(8, FP, off, R0);
      }
      this.sp = m;
      off += tySize(t);
    });
    this.output(buf, size);
  }

  /** Build the key of `m` on the stack (with room for the bucket of hist maps); returns its fp offset. */
  private key(m: MapExpr, loc: Loc): number {
    const info = this.env.maps.get(m.name)!;
    const size = mapKeySize(info);
    const base = this.alloc(size, loc);
    if (!m.keys.length) this.e.st(8, FP, base, 0);
    let off = base;
    for (const k of m.keys) {
      const t = this.ty(k);
      const mark = this.sp;
      if (isBuf(t)) this.str(k, off);
      else {
        this.int(k);
        this.e.stx(8, FP, off, R0);
      }
      this.sp = mark;
      off += tySize(t);
    }
    return base;
  }

  /** r0 = pointer to the value of key at `key` in map `name`, or 0. */
  private lookup(name: string, key: number): void {
    this.e.ldMap(R1, this.env.mapRef(name));
    this.e.fpAddr(R2, key);
    this.e.call(H('map_lookup_elem'));
  }

  private update(name: string, key: number, val: number, internal = false): void {
    this.e.ldMap(R1, internal ? name : this.env.mapRef(name));
    this.e.fpAddr(R2, key);
    this.e.fpAddr(R3, val);
    this.e.movImm(R4, 0);
    this.e.call(H('map_update_elem'));
  }

  private assign(s: Extract<Stmt, { kind: 'assign' }>): void {
    const e = this.e;
    const v = s.value;
    if (s.target.kind === 'var') {
      const slot = this.varSlots.get(s.target.name)!;
      const t = this.ty(s.target);
      if (isBuf(t)) {
        const tmp = this.alloc(tySize(t), s.loc);
        this.str(v, tmp);
        this.copy(slot, tmp, FP, tySize(t));
        return;
      }
      this.int(v);
      if (s.op !== '=') {
        e.mov(R1, R0);
        e.ldx(8, R0, FP, slot);
        this.binop(s.op.slice(0, -1), t.k === 'int' && t.signed, s.loc);
      }
      e.stx(8, FP, slot, R0);
      return;
    }
    const m = s.target;
    const info = this.env.maps.get(m.name)!;
    if (info.kind !== 'value') return this.aggregate(m, info, v as Extract<Expr, { kind: 'call' }>, s.loc);
    const t = info.value!;
    const key = this.key(m, s.loc);
    const val = this.alloc(tySize(t), s.loc);
    if (isBuf(t)) this.str(v, val);
    else {
      this.int(v);
      if (s.op !== '=') {
        e.stx(8, FP, val, R0);
        this.readIntValue(m.name, key);
        e.ldx(8, R1, FP, val);
        this.binop(s.op.slice(0, -1), t.k === 'int' && t.signed, s.loc);
      }
      e.stx(8, FP, val, R0);
    }
    this.update(m.name, key, val);
  }

  /** r0 = the u64 at offset `off` of the value (0 when absent). */
  private readIntValue(name: string, key: number, off = 0): void {
    const skip = this.e.label();
    this.lookup(name, key);
    this.e.jmpImm(JmpOp.JEQ, R0, 0, skip);
    this.e.ldx(8, R0, R0, off);
    this.e.bind(skip);
  }

  private aggregate(m: MapExpr, info: MapInfo, call: Extract<Expr, { kind: 'call' }>, loc: Loc): void {
    const e = this.e;
    const key = this.key(m, loc);
    const keyBytes = mapKeySize(info);
    const val = this.alloc(mapValueSize(info), loc);
    const arg = this.alloc(8, loc);
    if (info.kind !== 'count') {
      this.int(call.args[0]!);
      e.stx(8, FP, arg, R0);
    }
    switch (info.kind) {
      case 'count':
      case 'sum': {
        this.readIntValue(m.name, key);
        if (info.kind === 'count') e.aluImm(AluOp.ADD, R0, 1);
        else {
          e.ldx(8, R1, FP, arg);
          e.alu(AluOp.ADD, R0, R1);
        }
        e.stx(8, FP, val, R0);
        break;
      }
      case 'min':
      case 'max': {
        const store = e.label();
        const done = e.label();
        this.lookup(m.name, key);
        e.jmpImm(JmpOp.JEQ, R0, 0, store);
        e.ldx(8, R1, R0, 8);
        e.jmpImm(JmpOp.JEQ, R1, 0, store);
        e.ldx(8, R1, R0, 0);
        e.ldx(8, R2, FP, arg);
        // keep the old value unless the new one is smaller (min) / larger (max)
        e.jmp(info.kind === 'min' ? JmpOp.JSGE : JmpOp.JSLE, R2, R1, done);
        e.bind(store);
        e.ldx(8, R1, FP, arg);
        e.stx(8, FP, val, R1);
        e.st(8, FP, val + 8, 1);
        this.update(m.name, key, val);
        e.bind(done);
        return;
      }
      case 'avg':
      case 'stats': {
        const have = e.label();
        const go = e.label();
        this.lookup(m.name, key);
        e.movImm(R1, 0);
        e.movImm(R2, 0);
        e.jmpImm(JmpOp.JEQ, R0, 0, go);
        e.bind(have);
        e.ldx(8, R1, R0, 0);
        e.ldx(8, R2, R0, 8);
        e.bind(go);
        e.aluImm(AluOp.ADD, R1, 1);
        e.ldx(8, R3, FP, arg);
        e.alu(AluOp.ADD, R2, R3);
        e.stx(8, FP, val, R1);
        e.stx(8, FP, val + 8, R2);
        break;
      }
      case 'hist':
      case 'lhist': {
        if (info.kind === 'hist') this.log2(arg);
        else this.linear(arg, info.lhist!);
        e.stx(8, FP, key + keyBytes - 8, R0);
        this.readIntValue(m.name, key);
        e.aluImm(AluOp.ADD, R0, 1);
        e.stx(8, FP, val, R0);
        break;
      }
    }
    this.update(m.name, key, val);
  }

  /** r0 = bpftrace's log2 bucket of the s64 at `arg`: 0 for negatives, 1 for zero, 2 + floor(log2(n)) otherwise. */
  private log2(arg: number): void {
    const e = this.e;
    const done = e.label();
    e.ldx(8, R1, FP, arg);
    e.movImm(R0, 0);
    e.jmpImm(JmpOp.JSLT, R1, 0, done);
    e.movImm(R0, 1);
    e.jmpImm(JmpOp.JEQ, R1, 0, done);
    e.movImm(R0, 2);
    for (const shift of [32, 16, 8, 4, 2, 1]) {
      const skip = e.label();
      e.mov(R2, R1);
      e.aluImm(AluOp.RSH, R2, shift);
      e.jmpImm(JmpOp.JEQ, R2, 0, skip);
      e.mov(R1, R2);
      e.aluImm(AluOp.ADD, R0, shift);
      e.bind(skip);
    }
    e.bind(done);
  }

  /** r0 = lhist bucket: 0 below min, 1 + (v - min) / step inside, 1 + (max - min) / step at or above max. */
  private linear(arg: number, b: { min: number; max: number; step: number }): void {
    const e = this.e;
    const done = e.label();
    const top = e.label();
    e.ldx(8, R1, FP, arg);
    e.movImm(R0, 0);
    e.jmpImm(JmpOp.JSLT, R1, b.min, done);
    e.jmpImm(JmpOp.JSGT, R1, b.max, top);
    e.mov(R0, R1);
    e.aluImm(AluOp.SUB, R0, b.min);
    e.aluImm(AluOp.DIV, R0, b.step);
    e.aluImm(AluOp.ADD, R0, 1);
    e.ja(done);
    e.bind(top);
    e.movImm(R0, 1 + Math.floor((b.max - b.min) / b.step));
    e.bind(done);
  }

  /** r0 = op(r0, r1). */
  private binop(op: string, signed: boolean, loc: Loc): void {
    const e = this.e;
    const ops: Record<string, number> = { '+': AluOp.ADD, '-': AluOp.SUB, '*': AluOp.MUL, '/': AluOp.DIV, '%': AluOp.MOD, '&': AluOp.AND, '|': AluOp.OR, '^': AluOp.XOR, '<<': AluOp.LSH, '>>': signed ? AluOp.ARSH : AluOp.RSH };
    const a = ops[op];
    if (a !== undefined) {
      e.alu(a, R0, R1, signed && (op === '/' || op === '%') ? 1 : 0);
      return;
    }
    const cmp: Record<string, number> = {
      '==': JmpOp.JEQ, '!=': JmpOp.JNE,
      '<': signed ? JmpOp.JSLT : JmpOp.JLT, '<=': signed ? JmpOp.JSLE : JmpOp.JLE,
      '>': signed ? JmpOp.JSGT : JmpOp.JGT, '>=': signed ? JmpOp.JSGE : JmpOp.JGE,
    };
    const j = cmp[op];
    if (j === undefined) this.err(`Unknown operator ${op}`, loc);
    const yes = e.label();
    const end = e.label();
    e.jmp(j, R0, R1, yes);
    e.movImm(R0, 0);
    e.ja(end);
    e.bind(yes);
    e.movImm(R0, 1);
    e.bind(end);
  }

  /** Evaluate an integer (or stack id) expression into r0. */
  private int(x: Expr): void {
    const e = this.e;
    switch (x.kind) {
      case 'int':
        return e.movImm(R0, x.value);
      case 'var':
        return e.ldx(8, R0, FP, this.varSlots.get(x.name)!);
      case 'map': {
        const key = this.key(x, x.loc);
        return this.readIntValue(x.name, key);
      }
      case 'builtin':
        return this.builtin(x);
      case 'field':
        if (this.forRead(x)) return e.ldx(8, R0, R1, this.cp.forRefs.get(x)!.off);
        if (isArgs(x.expr)) return this.field(x);
        return this.readScalar(x);
      case 'index':
      case 'deref':
        return this.readScalar(x);
      case 'positional':
        return e.movImm(R0, positionalInt(this.cp.params, x.n) ?? 0n);
      case 'sizeof':
      case 'offsetof':
        return e.movImm(R0, this.cp.consts.get(x)!);
      case 'cast': {
        // Like bpftrace (LLVM IntCast with the target's signedness): keep the low min(from, to) bits and extend
        // them with the target type's signedness.
        this.int(x.expr);
        const t = x.type;
        if (t.ptr || t.base !== 'int') return;
        const from = this.ty(x.expr);
        const n = Math.min(t.bits, from.k === 'int' && !from.ptr ? from.bits ?? 64 : 64);
        if (n === 64) return;
        if (n === 32 && !t.signed) return e.zext32(R0);
        e.aluImm(AluOp.LSH, R0, 64 - n);
        return e.aluImm(t.signed ? AluOp.ARSH : AluOp.RSH, R0, 64 - n);
      }
      case 'unop':
        this.int(x.expr);
        if (x.op === '-') e.neg(R0);
        else if (x.op === '~') e.aluImm(AluOp.XOR, R0, -1);
        else {
          e.mov(R1, R0);
          e.movImm(R0, 0);
          this.binop('==', false, x.loc);
        }
        return;
      case 'ternary': {
        const els = e.label();
        const end = e.label();
        this.int(x.cond);
        e.jmpImm(JmpOp.JEQ, R0, 0, els);
        this.int(x.then);
        e.ja(end);
        e.bind(els);
        this.int(x.else);
        e.bind(end);
        return;
      }
      case 'binop': {
        if (x.op === '&&' || x.op === '||') {
          const short = e.label();
          const end = e.label();
          this.int(x.left);
          e.jmpImm(x.op === '&&' ? JmpOp.JEQ : JmpOp.JNE, R0, 0, short);
          this.int(x.right);
          e.jmpImm(x.op === '&&' ? JmpOp.JEQ : JmpOp.JNE, R0, 0, short);
          e.movImm(R0, x.op === '&&' ? 1 : 0);
          e.ja(end);
          e.bind(short);
          e.movImm(R0, x.op === '&&' ? 0 : 1);
          e.bind(end);
          return;
        }
        const lt = this.ty(x.left);
        const rt = this.ty(x.right);
        if (lt.k === 'str') return this.strEq(x.left, x.right, x.op === '!=', x.loc);
        const tmp = this.alloc(8, x.loc);
        this.int(x.left);
        e.stx(8, FP, tmp, R0);
        this.int(x.right);
        e.mov(R1, R0);
        const res = this.ty(x);
        if (res.k === 'int' && res.to && lt.k === 'int' && lt.to) {
          const size = ctypeSize(lt.to) || 1;
          if (size !== 1) e.aluImm(AluOp.MUL, R1, size);
        }
        e.ldx(8, R0, FP, tmp);
        const signed = lt.k === 'int' && rt.k === 'int' && lt.signed && rt.signed;
        return this.binop(x.op, signed, x.loc);
      }
      case 'incdec': {
        const t = x.target;
        const delta = x.op === '++' ? 1 : -1;
        if (t.kind === 'var') {
          const slot = this.varSlots.get(t.name)!;
          e.ldx(8, R0, FP, slot);
          e.aluImm(AluOp.ADD, R0, delta);
          e.stx(8, FP, slot, R0);
          if (!x.prefix) e.aluImm(AluOp.ADD, R0, -delta);
          return;
        }
        const key = this.key(t, x.loc);
        const val = this.alloc(8, x.loc);
        this.readIntValue(t.name, key);
        e.aluImm(AluOp.ADD, R0, delta);
        e.stx(8, FP, val, R0);
        this.update(t.name, key, val);
        e.ldx(8, R0, FP, val);
        if (!x.prefix) e.aluImm(AluOp.ADD, R0, -delta);
        return;
      }
      case 'call':
        if (x.name === 'kaddr') return e.movImm(R0, this.cp.consts.get(x)!);
        if (x.name === 'uaddr') return this.uaddr(x);
        if (x.name === 'reg') return e.ldx(8, R0, R6, regOff((x.args[0] as Extract<Expr, { kind: 'str' }>).value));
        // ksym() and strftime() values are the address / timestamp; userspace formats them.
        if (x.name === 'ksym') return this.int(x.args[0]!);
        if (x.name === 'strftime') return this.int(x.args[1]!);
        // cgroup_path(): the id; user space walks the cgroup mounts for its paths.
        if (x.name === 'cgroup_path') return this.int(x.args[0]!);
        if (x.name === 'kstack' || x.name === 'ustack') return this.stackId(x);
        if (x.name === 'strncmp') return this.strncmp(x);
        this.err(`cannot compute ${x.name}() as an integer`, x.loc);
        break;
      default:
        this.err(`cannot compute ${x.kind} as an integer`, x.loc);
    }
  }

  /** r0 = strncmp(a, b, n): 0 when the first n bytes are equal (or equal up to a common NUL), else 1. */
  private strncmp(x: Extract<Expr, { kind: 'call' }>): void {
    const e = this.e;
    const n = Math.min(Number(this.cp.consts.get(x)!), STRLEN);
    const ba = this.alloc(STRLEN, x.loc);
    const bb = this.alloc(STRLEN, x.loc);
    this.str(x.args[0]!, ba);
    this.str(x.args[1]!, bb);
    const ne = e.label();
    const eq = e.label();
    const end = e.label();
    for (let i = 0; i < n; i++) {
      e.ldx(1, R1, FP, ba + i);
      e.ldx(1, R2, FP, bb + i);
      e.jmp(JmpOp.JNE, R1, R2, ne);
      e.jmpImm(JmpOp.JEQ, R1, 0, eq);
    }
    e.bind(eq);
    e.movImm(R0, 0);
    e.ja(end);
    e.bind(ne);
    e.movImm(R0, 1);
    e.bind(end);
  }

  private strEq(a: Expr, b: Expr, negate: boolean, loc: Loc): void {
    const e = this.e;
    const ba = this.alloc(STRLEN, loc);
    const bb = this.alloc(STRLEN, loc);
    this.str(a, ba);
    this.str(b, bb);
    const ne = e.label();
    const end = e.label();
    for (let i = 0; i < STRLEN; i += 8) {
      e.ldx(8, R1, FP, ba + i);
      e.ldx(8, R2, FP, bb + i);
      e.jmp(JmpOp.JNE, R1, R2, ne);
    }
    e.movImm(R0, negate ? 0 : 1);
    e.ja(end);
    e.bind(ne);
    e.movImm(R0, negate ? 1 : 0);
    e.bind(end);
  }

  private builtin(x: Extract<Expr, { kind: 'builtin' }>): void {
    const e = this.e;
    const ap = this.cp.ap;
    const enumValue = this.cp.consts.get(x);
    if (enumValue !== undefined) return e.movImm(R0, enumValue);
    switch (x.name) {
      case 'pid':
        e.call(H('get_current_pid_tgid'));
        return e.aluImm(AluOp.RSH, R0, 32);
      case 'tid':
        e.call(H('get_current_pid_tgid'));
        return e.zext32(R0);
      case 'uid':
        e.call(H('get_current_uid_gid'));
        return e.zext32(R0);
      case 'gid':
        e.call(H('get_current_uid_gid'));
        return e.aluImm(AluOp.RSH, R0, 32);
      case 'nsecs':
        return e.call(H('ktime_get_ns'));
      case 'cpu':
        return e.call(H('get_smp_processor_id'));
      case 'cgroup':
        return e.call(H('get_current_cgroup_id'));
      case 'curtask':
        return e.call(H('get_current_task'));
      case 'ppid': {
        // bpfkit extension (not in bpftrace 0.17): current->real_parent->tgid, offsets from kernel BTF.
        const o = taskOffsets();
        if (typeof o === 'string') this.err(`ppid: ${o}`, x.loc);
        const off = o as TaskOffsets;
        const tmp = this.alloc(8, x.loc);
        e.call(H('get_current_task'));
        e.mov(R3, R0);
        e.aluImm(AluOp.ADD, R3, off.realParent);
        e.fpAddr(R1, tmp);
        e.movImm(R2, 8);
        e.call(H('probe_read_kernel'));
        e.ldx(8, R3, FP, tmp);
        e.st(8, FP, tmp, 0);
        e.aluImm(AluOp.ADD, R3, off.tgid);
        e.fpAddr(R1, tmp);
        e.movImm(R2, 4);
        e.call(H('probe_read_kernel'));
        return e.ldx(4, R0, FP, tmp);
      }
      case 'rand':
        return e.call(H('get_prandom_u32'));
      case 'jiffies':
        return e.call(H('jiffies64'));
      case 'elapsed': {
        const tmp = this.alloc(8, x.loc);
        e.call(H('ktime_get_ns'));
        e.stx(8, FP, tmp, R0);
        this.global(GLOBAL_START, x.loc);
        e.mov(R1, R0);
        e.ldx(8, R0, FP, tmp);
        return e.alu(AluOp.SUB, R0, R1);
      }
      case 'cpid':
        return this.global(GLOBAL_CPID, x.loc);
      case 'retval':
        return e.ldx(8, R0, R6, regOff('ax'));
      case 'kstack':
      case 'ustack':
        return this.stackId(x);
      case 'username':
        e.call(H('get_current_uid_gid'));
        return e.zext32(R0);
    }
    const am = /^arg([0-9]+)$/.exec(x.name);
    if (am) {
      const n = Number(am[1]);
      if (ap.kind === 'usdt') return this.usdtArg(ap.args[n]!, x.loc);
      if (ap.kind === 'rawtracepoint') return e.ldx(8, R0, R6, n * 8);
      return e.ldx(8, R0, R6, regOff(PT_REGS_ARGS[n]!));
    }
    this.err(`Unknown identifier: '${x.name}'`, x.loc);
  }

  /**
   * r0 = the id of the current kernel or user stack in the stack map of the expression's frame limit. For user
   * stacks the pid is recorded too (USTACK_PID_MAP), so user space can find the process's symbols.
   */
  private stackId(x: Expr): void {
    const e = this.e;
    const t = this.ty(x);
    if (t.k !== 'stack') this.err('not a stack', x.loc);
    const limit = t.limit ?? STACK_MAX;
    e.mov(R1, R6);
    e.ldMap(R2, stackMapRef(t.user, limit));
    e.movImm(R3, t.user ? Uapi.BPF_F_USER_STACK : 0);
    e.call(H('get_stackid'));
    if (!t.user) return;
    const id = this.alloc(8, x.loc);
    const key = this.alloc(8, x.loc);
    const val = this.alloc(8, x.loc);
    const skip = e.label();
    e.stx(8, FP, id, R0);
    e.jmpImm(JmpOp.JSLT, R0, 0, skip);
    e.movImm(R1, BigInt(limit) << 32n);
    e.alu(AluOp.OR, R1, R0);
    e.stx(8, FP, key, R1);
    e.call(H('get_current_pid_tgid'));
    e.aluImm(AluOp.RSH, R0, 32);
    e.stx(8, FP, val, R0);
    this.update(USTACK_PID_MAP, key, val, true);
    e.bind(skip);
    e.ldx(8, R0, FP, id);
  }

  /**
   * r0 = a USDT argument where its spec says (like libbpf's bpf_usdt_arg): a constant, a register of the
   * context's pt_regs, or user memory at register + offset (or base + index × scale + offset), cut to the
   * argument's size and sign- or zero-extended to 64 bits.
   */
  private usdtArg(a: UsdtArg, loc: Loc): void {
    const e = this.e;
    if (a.kind === 'const') e.movImm(R0, a.value);
    else if (a.kind === 'reg') e.ldx(8, R0, R6, a.regOffset);
    else {
      const tmp = this.alloc(8, loc);
      e.ldx(8, R3, R6, a.regOffset);
      if (a.kind === 'sib') {
        e.ldx(8, R1, R6, a.indexRegOffset!);
        if (a.scale! > 1) e.aluImm(AluOp.LSH, R1, Math.log2(a.scale!));
        e.alu(AluOp.ADD, R3, R1);
      }
      if (a.value >= -0x80000000n && a.value <= 0x7fffffffn) {
        if (a.value) e.aluImm(AluOp.ADD, R3, Number(a.value));
      } else {
        e.movImm(R1, a.value);
        e.alu(AluOp.ADD, R3, R1);
      }
      e.st(8, FP, tmp, 0);
      this.probeRead(tmp, a.size, true);
      e.ldx(8, R0, FP, tmp);
    }
    if (a.size < 8) {
      e.aluImm(AluOp.LSH, R0, 64 - 8 * a.size);
      e.aluImm(a.signed ? AluOp.ARSH : AluOp.RSH, R0, 64 - 8 * a.size);
    }
  }

  /**
   * r0 = uaddr(): a constant for ET_EXEC files; for PIE executables current->mm->start_code plus the symbol's
   * distance from the lowest executable segment (0 when the task has no mm).
   */
  private uaddr(x: Expr): void {
    const e = this.e;
    const c = this.cp.consts.get(x)!;
    if (!this.cp.pieAddrs.has(x)) return e.movImm(R0, c);
    const ts = taskStruct();
    const mmF = ts?.c === 'record' ? ts.fields()?.get('mm') : undefined;
    const mm = mmF?.type.c === 'ptr' ? mmF.type.to : undefined;
    const sc = mm?.c === 'record' ? mm.fields()?.get('start_code') : undefined;
    if (!mmF || !sc) this.err('uaddr() of a PIE executable needs task_struct.mm and mm_struct.start_code in the kernel BTF', x.loc);
    const tmp = this.alloc(8, x.loc);
    const done = e.label();
    e.call(H('get_current_task'));
    e.mov(R3, R0);
    e.aluImm(AluOp.ADD, R3, mmF.offset);
    e.st(8, FP, tmp, 0);
    this.probeRead(tmp, 8, false);
    e.ldx(8, R3, FP, tmp);
    e.movImm(R0, 0);
    e.jmpImm(JmpOp.JEQ, R3, 0, done);
    e.aluImm(AluOp.ADD, R3, sc.offset);
    this.probeRead(tmp, 8, false);
    e.ldx(8, R0, FP, tmp);
    e.movImm(R1, c);
    e.alu(AluOp.ADD, R0, R1);
    e.bind(done);
  }

  /** r0 = the u64 at `off` of the globals map value. */
  private global(off: number, loc: Loc): void {
    const key = this.alloc(8, loc);
    this.e.st(4, FP, key, 0);
    this.e.st(4, FP, key + 4, 0);
    this.e.ldMap(R1, GLOBALS_MAP);
    this.e.fpAddr(R2, key);
    this.e.call(H('map_lookup_elem'));
    const skip = this.e.label();
    this.e.jmpImm(JmpOp.JEQ, R0, 0, skip);
    this.e.ldx(8, R0, R0, off);
    this.e.bind(skip);
  }

  private field(x: Extract<Expr, { kind: 'field' }>): void {
    const e = this.e;
    const f = this.cp.tpFields!.get(x.field)!;
    const t = this.ty(x);
    if (f.offset < 8) {
      // The verifier refuses direct reads of a tracepoint record's first 8 bytes: copy them out.
      const tmp = this.alloc(8, x.loc);
      e.st(8, FP, tmp, 0);
      e.fpAddr(R1, tmp);
      e.movImm(R2, f.size);
      e.mov(R3, R6);
      e.aluImm(AluOp.ADD, R3, f.offset);
      e.call(H('probe_read_kernel'));
      e.ldx(f.size, R0, FP, tmp);
    } else e.ldx(f.size, R0, R6, f.offset);
    if (t.k === 'int' && t.signed && f.size < 8) {
      e.aluImm(AluOp.LSH, R0, 64 - 8 * f.size);
      e.aluImm(AluOp.ARSH, R0, 64 - 8 * f.size);
    }
  }

  /** Evaluate a string (or other buffer: ntop's inet) expression into the zero-padded stack buffer at `dst`. */
  private str(x: Expr, dst: number): void {
    const e = this.e;
    const size = tySize(this.ty(x));
    this.zero(dst, size);
    switch (x.kind) {
      case 'str':
        return this.literal(x.value, dst);
      case 'builtin':
        if (x.name === 'comm') {
          e.fpAddr(R1, dst);
          e.movImm(R2, 16);
          return e.call(H('get_current_comm'));
        }
        if (x.name === 'probe') return this.literal(this.cp.ap.name, dst);
        if (x.name === 'func') {
          const ap = this.cp.ap;
          return this.literal('func' in ap ? ap.func : '', dst);
        }
        break;
      case 'var':
        return this.copy(dst, this.varSlots.get(x.name)!, FP, size);
      case 'map': {
        const key = this.key(x, x.loc);
        const skip = e.label();
        this.lookup(x.name, key);
        e.jmpImm(JmpOp.JEQ, R0, 0, skip);
        e.mov(R7, R0);
        this.copy(dst, 0, R7, size);
        e.bind(skip);
        return;
      }
      case 'ternary': {
        const els = e.label();
        const end = e.label();
        this.int(x.cond);
        e.jmpImm(JmpOp.JEQ, R0, 0, els);
        this.str(x.then, dst);
        e.ja(end);
        e.bind(els);
        this.str(x.else, dst);
        e.bind(end);
        return;
      }
      case 'call': {
        if (x.name === 'ntop') return this.ntop(x, dst);
        if (x.name === 'usym') {
          // [u64 address][u64 pid]: user space resolves it through /proc/PID/maps.
          this.int(x.args[0]!);
          e.stx(8, FP, dst, R0);
          e.call(H('get_current_pid_tgid'));
          e.aluImm(AluOp.RSH, R0, 32);
          return e.stx(8, FP, dst + 8, R0);
        }
        if (x.name === 'buf' || x.name === 'macaddr') return this.bytes(x, dst);
        if (x.name !== 'str') break;
        if (this.ty(x.args[0]!).k === 'str') return this.str(x.args[0]!, dst);
        if (x.args[0]!.kind === 'positional') return this.str(x.args[0]!, dst);
        this.int(x.args[0]!);
        const lenArg = x.args[1];
        if (lenArg && lenArg.kind !== 'int') {
          // str(p, n) with a run-time n: read min(max(n, 0), STRLEN - 1) bytes plus the NUL.
          const ptr = this.alloc(8, x.loc);
          e.stx(8, FP, ptr, R0);
          this.int(lenArg);
          const lo = e.label();
          const ok = e.label();
          e.jmpImm(JmpOp.JSLT, R0, 0, lo);
          e.jmpImm(JmpOp.JSLT, R0, STRLEN, ok);
          e.movImm(R0, STRLEN - 1);
          e.ja(ok);
          e.bind(lo);
          e.movImm(R0, 0);
          e.bind(ok);
          e.mov(R2, R0);
          e.aluImm(AluOp.ADD, R2, 1);
          e.ldx(8, R3, FP, ptr);
          e.fpAddr(R1, dst);
          return e.call(H('probe_read_str'));
        }
        const n = lenArg && lenArg.kind === 'int' ? Math.max(1, Math.min(Number(lenArg.value) + 1, STRLEN)) : STRLEN;
        e.mov(R3, R0);
        e.fpAddr(R1, dst);
        e.movImm(R2, n);
        return e.call(H('probe_read_str'));
      }
      case 'positional':
        return this.literal(x.n === '#' ? String(this.cp.params.length) : this.cp.params[x.n - 1] ?? '', dst);
      case 'index':
      case 'deref':
        return this.readChars(x, dst);
      case 'field': {
        if (this.forRead(x)) {
          e.mov(R7, R1);
          return this.copy(dst, this.cp.forRefs.get(x)!.off, R7, size);
        }
        if (!isArgs(x.expr)) return this.readChars(x, dst);
        const f = this.cp.tpFields!.get(x.field)!;
        if (f.kind === 'dataloc') {
          e.ldx(4, R3, R6, f.offset);
          e.aluImm(AluOp.AND, R3, 0xffff);
          e.alu(AluOp.ADD, R3, R6);
          e.fpAddr(R1, dst);
          e.movImm(R2, STRLEN);
        } else {
          e.mov(R3, R6);
          e.aluImm(AluOp.ADD, R3, f.offset);
          e.fpAddr(R1, dst);
          e.movImm(R2, Math.min(f.size + 1, STRLEN));
        }
        return e.call(H('probe_read_kernel_str'));
      }
    }
    this.err(`cannot compute ${x.kind} as a string`, x.loc);
  }

  /**
   * r0 = the address of a value in memory (`p->f`, `r.f`, `a[i]`, `p[i]`, `*p`, a tracepoint array field);
   * returns the C type found there and how to read it.
   */
  private place(x: Expr): { ct: CType; user?: boolean; bitShift?: number; bitSize?: number } {
    const e = this.e;
    switch (x.kind) {
      case 'field': {
        if (isArgs(x.expr)) {
          const f = this.cp.tpFields!.get(x.field)!;
          e.mov(R0, R6);
          e.aluImm(AluOp.ADD, R0, f.offset);
          const t = this.ty(x);
          if (t.k !== 'mem') this.err('cannot take the address of this tracepoint field', x.loc);
          return { ct: t.ct };
        }
        const { ct: rec, user } = this.base(x.expr);
        const f = rec?.c === 'record' ? rec.fields()?.get(x.field) : undefined;
        if (!f) this.err(`no field ${x.field}`, x.loc);
        if (f.offset) e.aluImm(AluOp.ADD, R0, f.offset);
        return { ct: f.type, user, bitShift: f.bitShift, bitSize: f.bitSize };
      }
      case 'index': {
        const b = this.base(x.expr);
        const elem = b.pointer ? b.ct : b.ct?.c === 'array' ? b.ct.elem : undefined;
        const user = b.user;
        if (!elem) this.err('cannot index this value', x.loc);
        const size = ctypeSize(elem);
        if (x.index.kind === 'int') {
          const off = Number(BigInt.asIntN(32, x.index.value * BigInt(size)));
          if (off) e.aluImm(AluOp.ADD, R0, off);
        } else {
          const tmp = this.alloc(8, x.loc);
          e.stx(8, FP, tmp, R0);
          this.int(x.index);
          if (size !== 1) e.aluImm(AluOp.MUL, R0, size);
          e.ldx(8, R1, FP, tmp);
          e.alu(AluOp.ADD, R0, R1);
        }
        return { ct: elem, user };
      }
      case 'deref': {
        const bt = this.ty(x.expr);
        this.int(x.expr);
        if (bt.k !== 'int' || !bt.to) this.err('cannot dereference this value', x.loc);
        return { ct: bt.to, user: bt.user };
      }
    }
    this.err(`cannot take the address of a ${x.kind} expression`, x.loc);
  }

  /**
   * r0 = the address `x` designates for `->`/`.`/`[]`: the pointer's value when `x` is a typed pointer (ct is then
   * the pointee, `pointer` true), else the address of the place `x` stands for (ct is its own type).
   */
  private base(x: Expr): { ct: CType | undefined; user: boolean | undefined; pointer: boolean } {
    const bt = this.ty(x);
    if (bt.k === 'int') {
      this.int(x);
      return { ct: bt.to, user: bt.user, pointer: true };
    }
    const p = this.place(x);
    return { ct: p.ct, user: p.user, pointer: false };
  }

  /** `size` bytes from the address in r3 to fp+dst, with the user or kernel probe_read helper. */
  private probeRead(dst: number, size: number, user: boolean | undefined): void {
    this.e.fpAddr(R1, dst);
    this.e.movImm(R2, size);
    this.e.call(H(user ? 'probe_read_user' : 'probe_read_kernel'));
  }

  /** r0 = the integer (or pointer) in memory at a place expression, sign-extended when signed. */
  private readScalar(x: Expr): void {
    const e = this.e;
    const tmp = this.alloc(8, x.loc);
    const p = this.place(x);
    const ct = p.ct;
    if (ct.c !== 'int' && ct.c !== 'ptr') this.err(`cannot read a ${ct.c} as an integer`, x.loc);
    const size = ct.c === 'int' ? ct.size : 8;
    const signed = ct.c === 'int' && ct.signed;
    e.st(8, FP, tmp, 0);
    e.mov(R3, R0);
    if (p.bitSize !== undefined) {
      const shift = p.bitShift ?? 0;
      this.probeRead(tmp, Math.min(8, Math.ceil((shift + p.bitSize) / 8)), p.user);
      e.ldx(8, R0, FP, tmp);
      if (64 - shift - p.bitSize) e.aluImm(AluOp.LSH, R0, 64 - shift - p.bitSize);
      if (p.bitSize < 64) e.aluImm(signed ? AluOp.ARSH : AluOp.RSH, R0, 64 - p.bitSize);
      return;
    }
    this.probeRead(tmp, size, p.user);
    e.ldx(size, R0, FP, tmp);
    if (signed && size < 8) {
      e.aluImm(AluOp.LSH, R0, 64 - 8 * size);
      e.aluImm(AluOp.ARSH, R0, 64 - 8 * size);
    }
  }

  /** ntop(): [u64 family][16 address bytes] at `dst` (already zeroed). */
  private ntop(x: Extract<Expr, { kind: 'call' }>, dst: number): void {
    const e = this.e;
    const addr = x.args[x.args.length - 1]!;
    const t = this.ty(addr);
    if (x.args.length === 2) {
      this.int(x.args[0]!);
      e.stx(8, FP, dst, R0);
    }
    if (t.k === 'int') {
      if (x.args.length === 1) e.st(8, FP, dst, 2);
      this.int(addr);
      return e.stx(8, FP, dst + 8, R0);
    }
    const p = this.place(addr);
    const size = ctypeSize(p.ct);
    if (x.args.length === 1) e.st(8, FP, dst, size === 4 ? 2 : 10);
    e.mov(R3, R0);
    this.probeRead(dst + 8, size, p.user);
  }

  /**
   * buf(x, n): u64 n at `dst`, then n bytes of x (a pointer, an array in memory or a string); macaddr(x): 6 bytes
   * at `dst`. The buffer is already zeroed.
   */
  private bytes(x: Extract<Expr, { kind: 'call' }>, dst: number): void {
    const e = this.e;
    const isBufCall = x.name === 'buf';
    const n = isBufCall ? Number(this.cp.consts.get(x)!) : 6;
    const at = isBufCall ? dst + 8 : dst;
    if (isBufCall) e.st(8, FP, dst, n);
    if (n === 0) return;
    const src = x.args[0]!;
    const t = this.ty(src);
    // A char array in memory (typed as a string): its bytes, not a string copy of them.
    const inMemory = (src.kind === 'field' && !isArgs(src.expr) && !this.cp.forRefs.has(src)) || src.kind === 'index' || src.kind === 'deref';
    if (t.k === 'str' && !inMemory) {
      const tmp = this.alloc(STRLEN, x.loc);
      this.str(src, tmp);
      for (let i = 0; i < n; i++) {
        e.ldx(1, R1, FP, tmp + i);
        e.stx(1, FP, at + i, R1);
      }
      return;
    }
    if (t.k === 'int') {
      this.int(src);
      e.mov(R3, R0);
      e.fpAddr(R1, at);
      e.movImm(R2, n);
      return e.call(H(t.user ? 'probe_read_user' : 'probe_read'));
    }
    const p = this.place(src);
    e.mov(R3, R0);
    this.probeRead(at, n, p.user);
  }

  /** A char array in memory → the zero-padded string buffer at `dst` (at most STRLEN - 1 bytes). */
  private readChars(x: Expr, dst: number): void {
    const p = this.place(x);
    if (p.ct.c !== 'array') this.err('not a char array', x.loc);
    this.e.mov(R3, R0);
    this.probeRead(dst, Math.min(ctypeSize(p.ct), STRLEN - 1), p.user);
  }

  private literal(s: string, dst: number): void {
    const bytes = Buffer.from(s, 'latin1').subarray(0, STRLEN - 1);
    for (let i = 0; i < bytes.length; i += 4) {
      const w = bytes[i]! | ((bytes[i + 1] ?? 0) << 8) | ((bytes[i + 2] ?? 0) << 16) | ((bytes[i + 3] ?? 0) << 24);
      if (w) this.e.st(4, FP, dst + i, w);
    }
  }
}
