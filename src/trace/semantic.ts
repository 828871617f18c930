/**
 * Semantic pass: checks one probe body for one attach point and types every expression (the typed AST is the
 * syntax tree plus the `types` side table). Map types are shared by all probes: the first assignment defines
 * them, later uses must agree. Unsupported bpftrace features are reported, never compiled wrongly.
 */
import { constants as osConstants } from 'node:os';
import type { Expr, Loc, MapExpr, Probe, Stmt, TypeRef } from './ast.js';
import { traceError, unsupported } from './errors.js';
import { isStringConv, parseFormat, type FormatPart } from './printf-format.js';
import type { AttachPoint } from './probes.js';
import type { TpField } from './tpformat.js';
import { AGGS, BUF_MAX, INT, STACK_MAX, STR, UINT, VOID, isStringLike, sameTy, tyName, tySize, type AggKind, type MapInfo, type Ty } from './types.js';
import { ctypeName, ctypeSize, isCharArray, kernelEnumValue, parseCType, taskStruct, type CType } from './ctypes.js';
import { checkStrftime } from './strftime.js';
import { kernelAddress } from './symbols.js';
import { PT_REGS_LAYOUT, fieldNamed } from '../isa/index.js';
import { dataSymbol } from './usyms.js';
import { resolveLibrary } from '../kernel/link/libpath.js';

/** Integer builtins and whether they are signed. */
const INT_BUILTINS: Record<string, boolean> = {
  pid: false, tid: false, uid: false, gid: false, nsecs: false, elapsed: false, cpu: false, cgroup: false,
  curtask: false, rand: false, cpid: false, jiffies: false, retval: false, ppid: false,
};
const UNSUPPORTED_BUILTINS = new Set(['ctx', 'numaid', 'kstack_']);
const UNSUPPORTED_FUNCS = new Set([
  'cgroupid', 'kptr', 'override', 'pton',
  'skboutput', 'strerror', 'uptr',
  'unwatch', 'len', 'has_key', 'percpu_kaddr', 'debugf', 'errorf', 'bswap', 'strcontains', 'nsecs', 'print_stack',
]);

/** A printf call as compiled: format parts and argument types (defines the event record layout). */
export interface PrintfInfo {
  parts: FormatPart[];
  args: Ty[];
}

/** State shared by the checks of every probe of a script. */
export interface Globals {
  maps: Map<string, MapInfo>;
  file: string;
  /** Whether `-c CMD` was given (`cpid` is valid). */
  hasChild: boolean;
  /** Positional parameters (`$1` is params[0]). */
  params: string[];
  /** The script's enumerators. */
  enums?: Map<string, bigint>;
  /** `--unsafe` was given (signal(), system()). */
  unsafe?: boolean;
  /** Script-defined structs/unions by `struct NAME`. */
  records: Map<string, CType>;
}

/** The number of a signal name (`SIGKILL`, `KILL`, `sigkill`), or undefined. */
export function signalNumber(name: string): number | undefined {
  const up = name.toUpperCase();
  const sigs = osConstants.signals as Record<string, number>;
  return sigs[up.startsWith('SIG') ? up : 'SIG' + up];
}

/** The integer value of positional parameter `n`: 0 when missing; undefined when not a number. */
export function positionalInt(params: string[], n: number | '#'): bigint | undefined {
  if (n === '#') return BigInt(params.length);
  const v = params[n - 1];
  if (v === undefined || v === '') return 0n;
  const m = /^(-?)(0[xX][0-9a-fA-F]+|[0-9]+)$/.exec(v);
  if (!m) return undefined;
  const x = BigInt(m[2]!);
  return BigInt.asIntN(64, m[1] ? -x : x);
}

/** The ctype → value type of reading something of type `ct` (int, pointer, string for char arrays, else memory). */
export function valueTyOf(ct: CType, user: boolean | undefined): Ty | string {
  switch (ct.c) {
    case 'int':
      return ct.size === 8 ? (ct.signed ? INT : UINT) : { k: 'int', signed: ct.signed, bits: ct.size * 8 };
    case 'ptr':
      return { k: 'int', signed: false, ptr: true, to: ct.to, user };
    case 'array':
      return isCharArray(ct) ? STR : { k: 'mem', ct, user };
    case 'record':
      return { k: 'mem', ct, user };
    case 'void':
      return `values of type '${ctypeName(ct)}' cannot be read`;
  }
}

/** A read of a for loop's key or value. */
export interface ForRef {
  loop: Stmt;
  part: 'key' | 'value';
  /** Byte offset in the key (multi-key maps) or value. */
  off: number;
}

/** The result of checking one probe for one attach point. */
export interface CheckedProbe {
  ap: AttachPoint;
  probe: Probe;
  types: Map<Expr, Ty>;
  vars: Map<string, Ty>;
  tpFields?: Map<string, TpField>;
  printfs: Map<Expr, PrintfInfo>;
  unrollCounts: Map<Stmt, number>;
  /** Values of compile-time constant expressions. */
  consts: Map<Expr, bigint>;
  /** uaddr() of PIE executables: `consts` holds the offset from the process's mm->start_code. */
  pieAddrs: Set<Expr>;
  /** Reads of for loop variables (`$kv.0`, `$kv.1`). */
  forRefs: Map<Expr, ForRef>;
  params: string[];
}

/**
 * Check `probe` for `ap`. With `lenient`, reads of not-yet-defined maps are typed as integers (first pass
 * over all probes to collect map definitions); otherwise they are errors.
 */
export function checkProbe(probe: Probe, ap: AttachPoint, g: Globals, tpFields: TpField[] | undefined, lenient: boolean): CheckedProbe {
  const c = new Checker(g, ap, tpFields, lenient);
  const out: CheckedProbe = {
    ap,
    probe,
    types: c.types,
    vars: c.vars,
    tpFields: c.fields,
    printfs: c.printfs,
    unrollCounts: c.unrollCounts,
    consts: c.consts,
    pieAddrs: c.pieAddrs,
    forRefs: c.forRefs,
    params: g.params,
  };
  if (probe.pred) {
    const t = c.expr(probe.pred);
    if (t.k !== 'int') throw c.err(`Invalid type for predicate: ${tyName(t)}`, probe.pred.loc);
  }
  c.stmts(probe.body);
  return out;
}

class Checker {
  readonly types = new Map<Expr, Ty>();
  readonly vars = new Map<string, Ty>();
  readonly printfs = new Map<Expr, PrintfInfo>();
  readonly unrollCounts = new Map<Stmt, number>();
  /** Values of compile-time constant expressions (sizeof, offsetof, kaddr, uaddr of ET_EXEC files, enum values). */
  readonly consts = new Map<Expr, bigint>();
  /** Enclosing for loops (innermost last). */
  private readonly forLoops: { var: string; map: MapInfo; stmt: Stmt }[] = [];
  /** `$kv.0` / `$kv.1` reads: which loop, key or value, and the byte offset in it. */
  readonly forRefs = new Map<Expr, ForRef>();
  /** uaddr() expressions of PIE executables: the const is relative to the process's mm->start_code. */
  readonly pieAddrs = new Set<Expr>();
  /** The C type in memory of field / index / deref expressions. */
  private readonly memTypes = new Map<Expr, CType>();
  readonly fields?: Map<string, TpField>;
  private loops = 0;

  constructor(
    private readonly g: Globals,
    private readonly ap: AttachPoint,
    tpFields: TpField[] | undefined,
    private readonly lenient: boolean,
  ) {
    if (tpFields) this.fields = new Map(tpFields.map((f) => [f.name, f]));
  }

  err(reason: string, loc: Loc) {
    return traceError(reason, loc, this.g.file);
  }

  stmts(ss: Stmt[]): void {
    for (const s of ss) this.stmt(s);
  }

  private stmt(s: Stmt): void {
    switch (s.kind) {
      case 'if': {
        const t = this.expr(s.cond);
        if (t.k !== 'int') throw this.err(`Invalid condition in if(): ${tyName(t)}`, s.cond.loc);
        this.stmts(s.then);
        if (s.else) this.stmts(s.else);
        return;
      }
      case 'while': {
        const t = this.expr(s.cond);
        if (t.k !== 'int') throw this.err(`Invalid condition in while(): ${tyName(t)}`, s.cond.loc);
        this.loops++;
        this.stmts(s.body);
        this.loops--;
        return;
      }
      case 'unroll': {
        const c = s.count;
        const n = c.kind === 'int' ? c.value : c.kind === 'positional' ? positionalInt(this.g.params, c.n) : undefined;
        if (n === undefined) throw this.err('unroll count must be an integer', c.loc);
        if (n > 100n) throw this.err('unroll maximum value is 100', s.loc);
        if (n < 1n) throw this.err('unroll minimum value is 1', s.loc);
        this.unrollCounts.set(s, Number(n));
        const saved = this.loops;
        this.loops = 0;
        this.stmts(s.body);
        this.loops = saved;
        return;
      }
      case 'jump':
        if (s.what !== 'return' && !this.loops) throw this.err(`${s.what} used outside of a loop`, s.loc);
        if (s.what === 'return' && this.forLoops.length) throw unsupported('return inside a for loop', s.loc, this.g.file);
        return;
      case 'for': {
        const info = this.g.maps.get(s.map.name);
        if (!info) {
          if (this.lenient) return;
          throw this.err(`Undefined map: @${s.map.name}`, s.map.loc);
        }
        if (info.kind !== 'value') throw unsupported(`for loops over ${info.kind}() maps (per-CPU values)`, s.map.loc, this.g.file);
        if (!info.keys.length) throw this.err(`@${s.map.name} has no keys: for loops need a map with keys`, s.map.loc);
        if (this.vars.has(s.var) || this.forLoops.some((f) => f.var === s.var)) throw this.err(`Loop declaration shadows existing variable: $${s.var}`, s.loc);
        this.forLoops.push({ var: s.var, map: info, stmt: s });
        const saved = this.loops;
        this.loops = 1;
        this.stmts(s.body);
        this.loops = saved;
        this.forLoops.pop();
        return;
      }
      case 'expr': {
        const e = s.expr;
        if (e.kind === 'call' && AGGS.includes(e.name as AggKind)) throw this.err(`${e.name}() should be directly assigned to a map`, e.loc);
        this.expr(e, true);
        return;
      }
      case 'assign':
        return this.assign(s);
    }
  }

  private assign(s: Extract<Stmt, { kind: 'assign' }>): void {
    const v = s.value;
    if (s.target.kind === 'var') {
      const t = this.expr(v);
      if (t.k === 'void') throw this.err(`Value '${describeExpr(v)}' cannot be assigned to a scratch variable.`, v.loc);
      if (t.k === 'mem') throw unsupported(`Storing a ${tyName(t)} value in a variable`, v.loc, this.g.file);
      const prev = this.vars.get(s.target.name);
      if (s.op !== '=') {
        if (!prev) throw this.err(`Undefined or undeclared variable: $${s.target.name}`, s.target.loc);
        if (prev.k !== 'int' || t.k !== 'int') throw this.err(`The ${s.op} operator needs integer operands`, s.loc);
      } else if (prev && !sameTy(prev, t)) {
        throw this.err(`Type mismatch for $${s.target.name}: trying to assign value of type '${tyName(t)}' when variable already contains a value of type '${tyName(prev)}'`, s.loc);
      }
      if (!prev) this.vars.set(s.target.name, t);
      this.types.set(s.target, prev ?? t);
      return;
    }
    const m = s.target;
    const keys = m.keys.map((k) => this.keyExpr(k));
    if (v.kind === 'call' && AGGS.includes(v.name as AggKind)) {
      if (s.op !== '=') throw this.err(`${v.name}() can only be assigned with "="`, s.loc);
      const agg = v.name as AggKind;
      const info = this.aggCall(v, agg);
      const def = this.defineMap(m, keys, agg, undefined, info);
      const at = v.args[0] ? this.types.get(v.args[0]) : undefined;
      if (agg === 'min' || agg === 'max' || agg === 'avg' || agg === 'stats') def.signed = true;
      else if (agg === 'sum') def.signed = (def.signed ?? true) && at?.k === 'int' && at.signed;
      return;
    }
    const t = this.expr(v);
    if (t.k === 'void') throw this.err(`Value '${describeExpr(v)}' cannot be assigned to a map.`, v.loc);
    if (t.k === 'mem') throw unsupported(`Storing a ${tyName(t)} value in a map`, v.loc, this.g.file);
    if (s.op !== '=' && t.k !== 'int') throw this.err(`The ${s.op} operator needs integer operands`, s.loc);
    this.defineMap(m, keys, 'value', t);
    this.types.set(m, t);
  }

  private keyExpr(k: Expr): Ty {
    const t = this.expr(k);
    if (t.k === 'void') throw this.err('Map keys must have a value', k.loc);
    if (t.k === 'mem') throw unsupported(`Map keys of type ${tyName(t)}`, k.loc, this.g.file);
    return t;
  }

  private defineMap(m: MapExpr, keys: Ty[], kind: MapInfo['kind'], value?: Ty, lhist?: MapInfo['lhist']): MapInfo {
    const name = '@' + m.name;
    const prev = this.g.maps.get(m.name);
    if (!prev) {
      const info: MapInfo = { name: m.name, keys, kind, value, lhist, loc: m.loc };
      this.g.maps.set(m.name, info);
      return info;
    }
    this.checkKeys(prev, keys, m);
    if (prev.kind !== kind) {
      const what = (x: MapInfo['kind'], t?: Ty) => (x === 'value' ? tyName(t!) : `${x}`);
      throw this.err(`Type mismatch for ${name}: trying to assign value of type '${what(kind, value)}' when map already contains a value of type '${what(prev.kind, prev.value)}'`, m.loc);
    }
    if (kind === 'value' && !sameTy(prev.value!, value!)) {
      throw this.err(`Type mismatch for ${name}: trying to assign value of type '${tyName(value!)}' when map already contains a value of type '${tyName(prev.value!)}'`, m.loc);
    }
    if (kind === 'lhist' && JSON.stringify(prev.lhist) !== JSON.stringify(lhist)) throw this.err('Different lhist bounds in a single map unsupported', m.loc);
    return prev;
  }

  private checkKeys(info: MapInfo, keys: Ty[], m: MapExpr): void {
    if (keys.length !== info.keys.length || keys.some((k, i) => !sameTy(k, info.keys[i]!))) {
      const list = (ks: Ty[]) => (ks.length ? `[${ks.map(tyName).join(', ')}]` : '[]');
      throw this.err(`Argument mismatch for @${m.name}: trying to access with arguments: ${list(keys)} when map expects arguments: ${list(info.keys)}`, m.loc);
    }
  }

  /** Check an aggregation call's arguments; returns lhist bounds for lhist. */
  private aggCall(c: Extract<Expr, { kind: 'call' }>, agg: AggKind): MapInfo['lhist'] {
    const want = agg === 'count' ? 0 : agg === 'lhist' ? 4 : 1;
    if (agg === 'hist' && c.args.length === 2) throw unsupported('hist() with a bucket-bits argument', c.loc, this.g.file);
    if (c.args.length !== want) throw this.err(`${agg}() requires ${want} argument${want === 1 ? '' : 's'} (${c.args.length} provided)`, c.loc);
    for (const a of c.args) {
      const t = this.expr(a);
      if (t.k !== 'int') throw this.err(`${agg}() expects an integer argument (${tyName(t)} provided)`, a.loc);
    }
    if (agg !== 'lhist') return undefined;
    const lit = (e: Expr, what: string): number => {
      if (e.kind !== 'int') throw this.err(`lhist: invalid ${what} value (must be an integer literal)`, e.loc);
      return Number(e.value);
    };
    const min = lit(c.args[1]!, 'min');
    const max = lit(c.args[2]!, 'max');
    const step = lit(c.args[3]!, 'step');
    if (step <= 0) throw this.err('lhist() step must be >= 1', c.args[3]!.loc);
    if (min < 0) throw this.err('lhist() min must be non-negative', c.args[1]!.loc);
    if (min > max) throw this.err('lhist() min must be less than max', c.args[1]!.loc);
    if ((max - min) / step > 1000) throw this.err('lhist() too many buckets, must be <= 1000', c.loc);
    return { min, max, step };
  }

  private mapRead(m: MapExpr): Ty {
    const keys = m.keys.map((k) => this.keyExpr(k));
    const info = this.g.maps.get(m.name);
    if (!info) {
      if (this.lenient) return INT;
      throw this.err(`Undefined map: @${m.name}`, m.loc);
    }
    this.checkKeys(info, keys, m);
    if (info.kind !== 'value') throw unsupported(`Reading the value of a ${info.kind}() map (@${m.name}) in a probe`, m.loc, this.g.file);
    return info.value!;
  }

  expr(e: Expr, stmtLevel = false): Ty {
    const t = this.exprInner(e, stmtLevel);
    this.types.set(e, t);
    return t;
  }

  private needInt(e: Expr, what: string): void {
    const t = this.expr(e);
    if (t.k !== 'int') throw this.err(`${what} expects integer operands (${tyName(t)} provided)`, e.loc);
  }

  private exprInner(e: Expr, stmtLevel: boolean): Ty {
    switch (e.kind) {
      case 'int':
        return INT;
      case 'str':
        return STR;
      case 'var': {
        if (this.forLoops.some((f) => f.var === e.name)) throw unsupported(`Using the for loop variable $${e.name} as a whole (use $${e.name}.0 for the key, $${e.name}.1 for the value)`, e.loc, this.g.file);
        const t = this.vars.get(e.name);
        if (!t) throw this.err(`Undefined or undeclared variable: $${e.name}`, e.loc);
        return t;
      }
      case 'map':
        return this.mapRead(e);
      case 'builtin':
        return this.builtin(e);
      case 'binop': {
        const l = this.expr(e.left);
        const r = this.expr(e.right);
        if ((e.op === '==' || e.op === '!=') && l.k === 'str' && r.k === 'str') return INT;
        if (l.k !== 'int' || r.k !== 'int') {
          throw this.err(`Type mismatch for '${e.op}': comparing '${tyName(l)}' with '${tyName(r)}'`, e.loc);
        }
        if (['==', '!=', '<', '<=', '>', '>=', '&&', '||'].includes(e.op)) return INT;
        // C pointer arithmetic: `p + n` / `p - n` move by n elements.
        if ((e.op === '+' || e.op === '-') && l.to && !r.ptr) return { k: 'int', signed: false, ptr: true, to: l.to, user: l.user };
        return l.signed && r.signed ? INT : UINT;
      }
      case 'unop': {
        const t = this.expr(e.expr);
        if (t.k !== 'int') throw this.err(`Invalid type for unary operator '${e.op}': ${tyName(t)}`, e.loc);
        return e.op === '!' ? INT : e.op === '-' ? INT : t.signed ? INT : UINT;
      }
      case 'ternary': {
        this.needInt(e.cond, 'Ternary condition');
        const a = this.expr(e.then);
        const b = this.expr(e.else);
        if (a.k !== b.k || a.k === 'void' || a.k === 'stack') throw this.err(`Ternary operator must return the same type: have '${tyName(a)}' and '${tyName(b)}'`, e.loc);
        return a.k === 'int' && b.k === 'int' ? (a.signed && b.signed ? INT : UINT) : a;
      }
      case 'field':
        return this.field(e);
      case 'positional': {
        const v = positionalInt(this.g.params, e.n);
        if (v === undefined) throw this.err(`$${e.n} used numerically but given ${JSON.stringify(this.g.params[(e.n as number) - 1])}. Try using str($${e.n}).`, e.loc);
        return INT;
      }
      case 'cast':
        return this.cast(e);
      case 'index':
        return this.index(e);
      case 'deref': {
        const t = this.expr(e.expr);
        if (t.k !== 'int' || !t.to) throw this.err(`Can not dereference type '${bpftraceTyName(t)}'`, e.loc);
        return this.read(t.to, t.user, e.loc, e);
      }
      case 'incdec': {
        if (e.target.kind === 'var') {
          const t = this.vars.get(e.target.name);
          if (!t) throw this.err(`Undefined or undeclared variable: $${e.target.name}`, e.target.loc);
          if (t.k !== 'int') throw this.err(`The ${e.op} operator needs an integer variable`, e.loc);
          this.types.set(e.target, t);
          return t;
        }
        const keys = e.target.keys.map((k) => this.keyExpr(k));
        const info = this.g.maps.get(e.target.name);
        if (!info) {
          this.defineMap(e.target, keys, 'value', INT);
        } else {
          this.checkKeys(info, keys, e.target);
          if (info.kind !== 'value' || info.value!.k !== 'int') throw this.err(`The ${e.op} operator needs an integer map`, e.loc);
        }
        const t = this.g.maps.get(e.target.name)!.value!;
        this.types.set(e.target, t);
        return t;
      }
      case 'call':
        return this.call(e, stmtLevel);
      case 'sizeof':
        this.consts.set(e, BigInt(e.type ? this.typeSize(e.type, e.typeLoc!) : this.exprSize(e.expr!)));
        return UINT;
      case 'offsetof':
        this.consts.set(e, BigInt(this.offsetOf(e)));
        return UINT;
    }
  }

  /** The C type a `sizeof`/`offsetof` type names. */
  private namedType(tr: TypeRef, loc: Loc): CType {
    if (tr.ptr) return { c: 'ptr', to: { c: 'void' } };
    if (tr.base === 'int') return { c: 'int', size: tr.bits / 8, signed: tr.signed };
    if (tr.base === 'record') {
      const ct = parseCType(tr.name, this.g.records);
      if (ct && ct.c === 'record') return ct;
    }
    throw this.err(`Unknown struct/union: '${tr.text}'`, loc);
  }

  private typeSize(tr: TypeRef, loc: Loc): number {
    const ct = this.namedType(tr, loc);
    if (ct.c === 'record' && !ct.fields()) throw this.err(`Cannot take the size of incomplete type '${ct.name}'`, loc);
    return ctypeSize(ct);
  }

  /** bpftrace's size of an expression's value (string literals: their bytes + NUL; comm: 16; memory: its C type). */
  private exprSize(x: Expr): number {
    const t = this.expr(x);
    const mt = this.memTypes.get(x);
    if (mt) return ctypeSize(mt);
    if (x.kind === 'str') return Buffer.byteLength(x.value, 'latin1') + 1;
    if (x.kind === 'builtin' && x.name === 'comm') return 16;
    if (x.kind === 'field' && x.expr.kind === 'builtin' && x.expr.name === 'args') {
      const f = this.fields?.get(x.field);
      if (f && f.kind !== 'dataloc') return f.size;
    }
    if (t.k === 'int') return t.ptr || !t.bits ? 8 : t.bits / 8;
    if (t.k === 'mem') return ctypeSize(t.ct);
    return tySize(t);
  }

  private offsetOf(e: Extract<Expr, { kind: 'offsetof' }>): number {
    let ct: CType;
    if (e.type) ct = this.namedType(e.type, e.typeLoc!);
    else {
      const t = this.expr(e.expr!);
      if (t.k === 'mem') ct = t.ct;
      else if (t.k === 'int' && t.to) ct = t.to;
      else throw this.err(`offsetof() needs a struct or union, not '${tyName(t)}'`, e.expr!.loc);
    }
    let off = 0;
    for (const name of e.fields) {
      const fs = ct.c === 'record' ? ct.fields() : undefined;
      if (!fs) throw this.err(`'${ctypeName(ct)}' is not a struct or union with fields`, e.loc);
      const f = fs.get(name);
      if (!f) throw this.err(`'${ctypeName(ct)}' has no field named '${name}'`, e.loc);
      off += f.offset;
      ct = f.type;
    }
    return off;
  }

  private builtin(e: Extract<Expr, { kind: 'builtin' }>): Ty {
    const n = e.name;
    const kind = this.ap.kind;
    const probeOnly = (ok: boolean, what: string) => {
      if (!ok) throw this.err(`The ${n} builtin can only be used with ${what} probes`, e.loc);
    };
    if (n === 'cpid' && !this.g.hasChild) throw this.err('cpid cannot be used without child command', e.loc);
    if (n === 'retval') probeOnly(kind === 'uretprobe' || kind === 'kretprobe', "'kretprobe' and 'uretprobe'");
    if (n === 'curtask') {
      const ts = taskStruct();
      return ts ? { k: 'int', signed: false, ptr: true, to: ts } : UINT;
    }
    if (n in INT_BUILTINS) return INT_BUILTINS[n] ? INT : UINT;
    const am = /^arg([0-9]+)$/.exec(n);
    if (am && this.ap.kind === 'usdt') {
      // bpftrace 0.17 types every USDT argument as uint64 (sign-extended from its size when the spec says signed).
      if (Number(am[1]) >= this.ap.args.length) throw this.err(`couldn't get argument ${am[1]} for ${this.ap.path}:${this.ap.provider}:${this.ap.probe}`, e.loc);
      return UINT;
    }
    if (am) {
      probeOnly(kind === 'uprobe' || kind === 'kprobe' || kind === 'rawtracepoint', "'kprobes', 'uprobes' and 'rawtracepoint'");
      if (kind !== 'rawtracepoint' && Number(am[1]) > 5) throw unsupported(`${n} (only arg0..arg5 are read from registers)`, e.loc, this.g.file);
      return UINT;
    }
    if (n === 'comm' || n === 'probe') return STR;
    if (n === 'username') return { k: 'username' };
    if (n === 'func') {
      if (kind === 'usdt') throw this.err("The func builtin can not be used with 'usdt' probes", e.loc);
      probeOnly(['uprobe', 'uretprobe', 'kprobe', 'kretprobe'].includes(kind), "'kprobe' and 'uprobe'");
      return STR;
    }
    if (n === 'kstack' || n === 'ustack') return { k: 'stack', user: n === 'ustack' };
    if (n === 'args') throw this.err('args must be used with a field (args->field)', e.loc);
    if (/^sarg[0-9]+$/.test(n) || UNSUPPORTED_BUILTINS.has(n)) throw unsupported(`The builtin "${n}"`, e.loc, this.g.file);
    // Enumerators: the script's enum definitions, then the kernel's (BTF).
    const ev = this.g.enums?.get(n) ?? kernelEnumValue(n);
    if (ev !== undefined) {
      this.consts.set(e, ev);
      return INT;
    }
    throw this.err(`Unknown identifier: '${n}'`, e.loc);
  }

  /** The value type of reading a `ct` in memory (errors for void). */
  private read(ct: CType, user: boolean | undefined, loc: Loc, at?: Expr): Ty {
    if (at) this.memTypes.set(at, ct);
    const t = valueTyOf(ct, user);
    if (typeof t === 'string') throw unsupported(`Reading ${t.replace(/ cannot be read$/, '')}`, loc, this.g.file);
    return t;
  }

  private cast(e: Extract<Expr, { kind: 'cast' }>): Ty {
    const from = this.expr(e.expr);
    const tr = e.type;
    if (from.k !== 'int') throw this.err(`Casts are not supported for type: "${tyName(from)}"`, e.typeLoc);
    if (tr.ptr === 0) {
      if (tr.base === 'record') throw unsupported(`Casts to ${tr.text} (not a pointer)`, e.typeLoc, this.g.file);
      if (tr.base !== 'int') throw this.err(`Cannot cast to "${tr.text}"`, e.typeLoc);
      return { k: 'int', signed: tr.signed, bits: tr.bits };
    }
    let base: CType | undefined;
    if (tr.base === 'int') base = { c: 'int', size: tr.bits / 8, signed: tr.signed };
    else if (tr.base === 'record') base = parseCType(tr.name, this.g.records);
    else base = { c: 'void' };
    if (!base) throw this.err(`Unknown struct/union: '${tr.text.replace(/ \*+$/, '')}'`, e.typeLoc);
    for (let i = 1; i < tr.ptr; i++) base = { c: 'ptr', to: base };
    // Pointers from a uprobe's registers point into the traced process.
    const user = from.to ? from.user : this.ap.kind === 'uprobe' || this.ap.kind === 'uretprobe' || this.ap.kind === 'usdt';
    return { k: 'int', signed: false, ptr: true, to: base, user };
  }

  private index(e: Extract<Expr, { kind: 'index' }>): Ty {
    const t = this.expr(e.expr);
    const it = this.expr(e.index);
    if (it.k !== 'int') throw this.err(`The array index operator [] needs an integer index (${tyName(it)} provided)`, e.index.loc);
    if (t.k === 'int' && t.to) {
      if (t.to.c === 'void') throw this.err(`Can not index a void pointer`, e.loc);
      return this.read(t.to, t.user, e.loc, e);
    }
    if (t.k === 'mem' && t.ct.c === 'array') {
      if (e.index.kind === 'int' && (e.index.value < 0n || e.index.value >= BigInt(t.ct.n))) {
        throw this.err(`the index ${e.index.value} is out of bounds for array of size ${t.ct.n}`, e.loc);
      }
      return this.read(t.ct.elem, t.user, e.loc, e);
    }
    throw this.err(`The array index operator [] can only be used on arrays and pointers, found ${bpftraceTyName(t)}.`, e.loc);
  }

  /** `$kv.0`, `$kv.0.N` (multi-key maps) or `$kv.1` of a for loop variable, or undefined for other fields. */
  private forField(e: Extract<Expr, { kind: 'field' }>): Ty | undefined {
    const whole = e.expr.kind === 'var' ? e.expr : e.expr.kind === 'field' && e.expr.expr.kind === 'var' && e.expr.field === '0' ? e.expr.expr : undefined;
    const name = whole?.name;
    const idx = this.forLoops.findIndex((f) => f.var === name);
    if (idx < 0) return undefined;
    const f = this.forLoops[idx]!;
    if (idx !== this.forLoops.length - 1) throw unsupported(`Using $${name} of an outer for loop in an inner one`, e.loc, this.g.file);
    const keys = f.map.keys;
    if (e.expr.kind === 'var') {
      if (e.field === '1') {
        this.forRefs.set(e, { loop: f.stmt, part: 'value', off: 0 });
        return f.map.value!;
      }
      if (e.field !== '0') throw this.err(`Invalid tuple index: ${e.field}. Found 2 elements in tuple.`, e.loc);
      if (keys.length !== 1) throw unsupported(`The key of a ${keys.length}-key map as a whole (use $${name}.0.0, $${name}.0.1...)`, e.loc, this.g.file);
      this.forRefs.set(e, { loop: f.stmt, part: 'key', off: 0 });
      return keys[0]!;
    }
    const i = Number(e.field);
    if (keys.length === 1 || !/^[0-9]+$/.test(e.field) || i >= keys.length) throw this.err(`Invalid tuple index: ${e.field}. Found ${keys.length} elements in tuple.`, e.loc);
    this.forRefs.set(e, { loop: f.stmt, part: 'key', off: keys.slice(0, i).reduce((n, t) => n + tySize(t), 0) });
    return keys[i]!;
  }

  private field(e: Extract<Expr, { kind: 'field' }>): Ty {
    const ft = this.forField(e);
    if (ft) return ft;
    if (e.expr.kind !== 'builtin' || e.expr.name !== 'args') {
      const t = this.expr(e.expr);
      let rec: CType | undefined;
      let user: boolean | undefined;
      if (t.k === 'int' && t.to) {
        if (!e.arrow) throw this.err(`Can not access field '${e.field}' on type '${tyName(t)}'. Try dereferencing it first, or using '->'`, e.loc);
        rec = t.to;
        user = t.user;
      } else if (t.k === 'mem' && t.ct.c === 'record') {
        if (e.arrow) throw this.err(`Can not access field '${e.field}' on type '${tyName(t)}'. Try using '.'`, e.loc);
        rec = t.ct;
        user = t.user;
      }
      if (!rec || rec.c !== 'record') throw this.err(`Can not access field '${e.field}' on expression of type '${bpftraceTyName(t)}'`, e.loc);
      const fields = rec.fields();
      if (!fields) throw this.err(`Cannot access field '${e.field}' of incomplete type '${rec.name}'`, e.loc);
      const f = fields.get(e.field);
      if (!f) throw this.err(`Struct/union of type '${rec.name}' does not contain a field named '${e.field}'`, e.loc);
      return this.read(f.type, user, e.loc, e);
    }
    if (this.ap.kind !== 'tracepoint') {
      if (this.ap.kind === 'rawtracepoint') throw unsupported('args in rawtracepoint probes (use arg0..argN)', e.loc, this.g.file);
      throw this.err('The args builtin can only be used with tracepoint probes', e.expr.loc);
    }
    const f = this.fields?.get(e.field);
    if (!f) throw this.err(`Struct/union of type 'struct ${this.ap.category}_${this.ap.event}_args' does not contain a field named '${e.field}'`, e.loc);
    if (f.kind === 'array') {
      const elem = parseCType(f.type, this.g.records);
      const n = elem && elem.c !== 'void' ? f.size / (elem.c === 'int' ? elem.size : elem.c === 'ptr' ? 8 : Math.max(1, elem.c === 'record' ? elem.size : 1)) : 0;
      if (!elem || elem.c === 'void' || !Number.isInteger(n) || n < 1) throw unsupported(`Reading array field ${e.field} (${f.type})`, e.loc, this.g.file);
      return { k: 'mem', ct: { c: 'array', elem, n } };
    }
    if (f.kind === 'chars' || f.kind === 'dataloc') return STR;
    if (f.kind === 'ptr') {
      const ct = parseCType(f.type, this.g.records);
      // Pointers in syscall arguments point into the calling process (bpftrace: the user address space).
      const user = this.ap.category === 'syscalls' ? true : undefined;
      return { k: 'int', signed: false, ptr: true, to: ct?.c === 'ptr' ? ct.to : undefined, user };
    }
    return f.size < 8 ? { k: 'int', signed: f.signed, bits: f.size * 8 } : f.signed ? INT : UINT;
  }

  /** The C array type of a char array read from memory (typed as a string), or undefined. */
  private memArray(x: Expr): CType | undefined {
    const ct = this.memTypes.get(x);
    return ct?.c === 'array' && !this.forRefs.has(x) ? ct : undefined;
  }

  /** `kstack(mode)`, `kstack(N)`, `kstack(mode, N)` (same for ustack): mode is `bpftrace` or `perf`. */
  private stackCall(e: Extract<Expr, { kind: 'call' }>): Ty {
    const n = e.name;
    const args = e.args;
    if (args.length < 1 || args.length > 2) throw this.err(`${n}() takes up to two arguments (${args.length} provided)`, e.loc);
    let perf = false;
    let limit: number | undefined;
    const lim = (a: Expr) => {
      const v = a.kind === 'int' ? a.value : a.kind === 'positional' ? positionalInt(this.g.params, a.n) : undefined;
      if (v === undefined) throw this.err(`${n}() expects a integer literal (${a.kind === 'builtin' ? 'none' : tyName(this.expr(a))} provided)`, e.loc);
      if (v < 1n) throw this.err(`${n}() limit must be at least 1`, a.loc);
      if (v > BigInt(STACK_MAX)) throw this.err(`${n}() limit must be at most ${STACK_MAX} (the kernel's perf_event_max_stack)`, a.loc);
      this.types.set(a, INT);
      return Number(v);
    };
    const a0 = args[0]!;
    const m = stackMode(a0);
    if (m) {
      perf = m === 'perf';
      this.types.set(a0, INT);
      if (args[1]) limit = lim(args[1]);
    } else {
      if (args.length === 2) throw this.err(`${n}() expects a stack mode (bpftrace or perf) as its first argument`, a0.loc);
      if (a0.kind === 'builtin' && !/^arg\d+$/.test(a0.name)) throw this.err(`Unknown stack mode: '${a0.name}' (bpftrace or perf)`, a0.loc);
      limit = lim(a0);
    }
    return { k: 'stack', user: n === 'ustack', ...(perf ? { perf } : {}), ...(limit !== undefined && limit !== STACK_MAX ? { limit } : {}) };
  }

  private call(e: Extract<Expr, { kind: 'call' }>, stmtLevel: boolean): Ty {
    const n = e.name;
    const args = e.args;
    const mapArg = (what: string): MapExpr => {
      const a = args[0];
      if (!a || a.kind !== 'map') throw this.err(`${what}() expects a map argument`, e.loc);
      return a;
    };
    const statement = () => {
      if (!stmtLevel) throw this.err(`${n}() should not be used in an expression`, e.loc);
    };
    switch (n) {
      case 'system':
      case 'printf':
      case 'cat': {
        if (n === 'system' && !this.g.unsafe) throw this.err('system() is an unsafe function being used in safe mode', e.loc);
        // printf/system/cat("fmt", args...): the formatting happens in user space (system runs the text
        // through /bin/sh, cat prints the named file).
        if (n !== 'printf' && !stmtLevel) throw this.err(`${n}() should not be used in an assignment or as a map key`, e.loc);
        statement();
        const fmt = args[0];
        if (!fmt || fmt.kind !== 'str') throw this.err(`${n}() expects a string literal as its first argument`, e.loc);
        const parts = parseFormat(fmt.value);
        if (typeof parts === 'string') throw this.err(parts, fmt.loc);
        const convs = parts.filter((p): p is Extract<FormatPart, { conv: string }> => 'conv' in p);
        const rest = args.slice(1);
        if (rest.length > convs.length) throw this.err(`${n}: Too many arguments for format string`, e.loc);
        if (rest.length < convs.length) throw this.err(`${n}: Not enough arguments for format string (${rest.length} supplied, ${convs.length} expected)`, e.loc);
        const tys = rest.map((a, i) => {
          const t = this.expr(a);
          const c = convs[i]!;
          if (t.k === 'void' || t.k === 'mem') throw unsupported(`${n} of a ${tyName(t)} value`, a.loc, this.g.file);
          if ((c.conv === 'r') !== (t.k === 'buf')) {
            const what = (x: Ty) => (x.k === 'buf' ? 'buffer' : isStringLike(x) || x.k === 'stack' ? 'string' : 'integer');
            throw this.err(`${n}: %${c.conv} specifier expects a value of type ${c.conv === 'r' ? 'buffer' : isStringConv(c.conv) ? 'string' : 'integer'} (${what(t)} supplied)`, a.loc);
          }
          if (t.k !== 'buf' && isStringConv(c.conv) !== (isStringLike(t) || t.k === 'stack')) {
            throw this.err(`${n}: %${c.conv} specifier expects a value of type ${isStringConv(c.conv) ? 'string' : 'integer'} (${isStringLike(t) ? 'string' : 'integer'} supplied)`, a.loc);
          }
          return t;
        });
        this.printfs.set(e, { parts, args: tys });
        return VOID;
      }
      case 'signal': {
        if (!this.g.unsafe) throw this.err('signal() is an unsafe function being used in safe mode', e.loc);
        const k = this.ap.kind;
        if (k === 'BEGIN' || k === 'END' || k === 'interval') throw this.err(`signal can not be used with "${k}" probes`, e.loc);
        if (!stmtLevel) throw this.err('signal() should not be used in an assignment or as a map key', e.loc);
        if (args.length === 0) throw this.err('signal() requires at least one argument (0 provided)', e.loc);
        if (args.length > 1) throw this.err(`signal() takes up to one argument (${args.length} provided)`, e.loc);
        const a = args[0]!;
        if (a.kind === 'str' || (a.kind === 'builtin' && signalNumber(a.name) !== undefined)) {
          const name = a.kind === 'str' ? a.value : a.name;
          if (signalNumber(name) === undefined) throw this.err(`${name} is not a valid signal`, e.loc);
          this.types.set(a, INT);
          return VOID;
        }
        if (a.kind === 'int' && (a.value < 1n || a.value > 64n)) throw this.err(`${a.value} is not a valid signal, allowed range: [1,64]`, e.loc);
        const t = this.expr(a);
        if (t.k !== 'int') throw this.err('signal only accepts string literals or integers', e.loc);
        return VOID;
      }
      case 'print': {
        statement();
        if (args.length < 1 || args.length > 3) throw this.err('print() requires 1, 2 or 3 arguments', e.loc);
        if (args[0]!.kind !== 'map') throw unsupported('print() of a non-map value', e.loc, this.g.file);
        const m = mapArg('print');
        for (const a of args.slice(1)) {
          const v = a.kind === 'int' ? a.value : a.kind === 'positional' ? positionalInt(this.g.params, a.n) : undefined;
          if (v === undefined || v < 0n) throw this.err('print(): top and div arguments must be non-negative integer literals', a.loc);
          this.types.set(a, INT);
        }
        if (m.keys.length) throw unsupported('print() of one map element', e.loc, this.g.file);
        if (!this.g.maps.has(m.name) && !this.lenient) throw this.err(`Undefined map: @${m.name}`, m.loc);
        return VOID;
      }
      case 'clear':
      case 'zero': {
        statement();
        if (args.length !== 1) throw this.err(`${n}() requires 1 argument`, e.loc);
        const m = mapArg(n);
        if (m.keys.length) throw this.err(`The map passed to ${n}() should not be indexed by a key`, m.loc);
        if (!this.g.maps.has(m.name) && !this.lenient) throw this.err(`Undefined map: @${m.name}`, m.loc);
        return VOID;
      }
      case 'delete': {
        statement();
        if (args.length !== 1) throw this.err('delete() requires 1 argument', e.loc);
        const m = mapArg('delete');
        const info = this.g.maps.get(m.name);
        const keys = m.keys.map((k) => this.keyExpr(k));
        if (!info) {
          if (!this.lenient) throw this.err(`Undefined map: @${m.name}`, m.loc);
          return VOID;
        }
        this.checkKeys(info, keys, m);
        return VOID;
      }
      case 'join': {
        // join(char *arr[] [, delim]): prints up to JOIN_ARGS strings of the NULL-terminated array, on its own line.
        if (!stmtLevel) throw this.err('join() should not be used in an assignment or as a map key', e.loc);
        if (args.length < 1 || args.length > 2) throw this.err('join() requires 1 or 2 arguments', e.loc);
        const t = this.expr(args[0]!);
        if (t.k !== 'int') throw this.err(`join() only supports int or pointer arguments (${tyName(t)} provided)`, args[0]!.loc);
        const d = args[1];
        if (d && d.kind !== 'str') throw this.err('join() expects a string literal as its delimiter', d.loc);
        if (d) this.expr(d);
        return VOID;
      }
      case 'exit':
        statement();
        if (args.length) throw this.err('exit() takes no arguments', e.loc);
        return VOID;
      case 'str': {
        if (args.length < 1 || args.length > 2) throw this.err('str() requires 1 or 2 arguments', e.loc);
        const a0 = args[0]!;
        if (a0.kind === 'positional' && a0.n !== '#') {
          this.types.set(a0, STR);
          if (args[1]) this.needInt(args[1], 'str()');
          return STR;
        }
        const t = this.expr(a0);
        if (t.k === 'str') {
          if (args.length === 2) throw unsupported('str(string, len)', e.loc, this.g.file);
          return STR;
        }
        if (t.k !== 'int') throw this.err(`str() expects an integer or a pointer type as first argument (${tyName(t)} provided)`, args[0]!.loc);
        if (args[1]) this.needInt(args[1], 'str()');
        return STR;
      }
      case 'ntop': {
        if (args.length < 1 || args.length > 2) throw this.err('ntop() requires 1 or 2 arguments', e.loc);
        if (args.length === 2) this.needInt(args[0]!, 'ntop() address family');
        const a = args[args.length - 1]!;
        const t = this.expr(a);
        if (t.k === 'int') return { k: 'inet' };
        if (t.k === 'mem' && t.ct.c === 'array') {
          const size = ctypeSize(t.ct);
          if (size === 4 || size === 16) return { k: 'inet' };
        }
        throw this.err(`ntop() expects an integer or an array of 4 or 16 bytes (${tyName(t)} provided)`, a.loc);
      }
      case 'ksym':
      case 'usym': {
        if (args.length !== 1) throw this.err(`${n}() requires 1 argument`, e.loc);
        this.needInt(args[0]!, `${n}()`);
        return n === 'usym' ? { k: 'usym' } : { k: 'ksym' };
      }
      case 'reg': {
        if (!['uprobe', 'uretprobe', 'usdt', 'kprobe', 'kretprobe', 'profile'].includes(this.ap.kind)) throw this.err(`reg can not be used with "${this.ap.kind}" probes`, e.loc);
        const a = args[0];
        if (args.length !== 1 || a?.kind !== 'str') throw this.err('reg() expects a string literal register name', e.loc);
        this.types.set(a, STR);
        if (!fieldNamed(PT_REGS_LAYOUT, a.value)) throw this.err(`'${a.value}' is not a valid register`, e.loc);
        return UINT;
      }
      case 'kaddr':
      case 'uaddr': {
        if (n === 'uaddr' && !['uprobe', 'uretprobe', 'usdt'].includes(this.ap.kind)) throw this.err(`uaddr can not be used with "${this.ap.kind}" probes`, e.loc);
        if (args.length !== 1) throw this.err(`${n}() requires 1 argument (${args.length} provided)`, e.loc);
        const a = args[0]!;
        if (a.kind !== 'str') throw this.err(`${n}() expects a string literal (${bpftraceTyName(this.expr(a))} provided)`, e.loc);
        this.types.set(a, STR);
        if (n === 'kaddr') {
          const v = kernelAddress(a.value);
          if (v === undefined) throw this.err(`Failed to resolve kernel symbol: ${a.value}`, e.loc);
          this.consts.set(e, v);
          return UINT;
        }
        const ap = this.ap as Extract<AttachPoint, { kind: 'uprobe' | 'uretprobe' | 'usdt' }>;
        const bin = ap.kind === 'usdt' ? ap.path : ap.binary;
        let path = bin;
        try {
          path = ap.kind === 'usdt' ? ap.path : resolveLibrary(ap.binary);
        } catch {
          /* reported below */
        }
        const sym = dataSymbol(path, a.value);
        if (typeof sym === 'string') throw this.err(`Could not resolve symbol: ${bin}:${a.value}${sym === 'not found' ? '' : ` (${sym})`}`, e.loc);
        this.consts.set(e, BigInt(sym.pieDelta ?? sym.address));
        if (sym.pieDelta !== undefined) this.pieAddrs.add(e);
        const size = [1, 2, 4, 8].includes(sym.size) ? sym.size : 8;
        return { k: 'int', signed: false, ptr: true, to: { c: 'int', size, signed: true }, user: true };
      }
      case 'kstack':
      case 'ustack':
        return this.stackCall(e);
      case 'strncmp': {
        // strncmp(a, b, n): 0 when the first n bytes (up to the NULs) are equal, else 1 (bpftrace's semantics).
        if (args.length !== 3) throw this.err(`strncmp() requires 3 arguments (${args.length} provided)`, e.loc);
        for (const i of [0, 1]) {
          const t = this.expr(args[i]!);
          if (t.k !== 'str') throw this.err(`strncmp() expects a string for argument ${i + 1} (${tyName(t)} provided)`, args[i]!.loc);
        }
        const nArg = args[2]!;
        const nv = nArg.kind === 'int' ? nArg.value : nArg.kind === 'positional' ? positionalInt(this.g.params, nArg.n) : undefined;
        if (nv === undefined || nv < 0n) throw this.err('strncmp() expects a non-negative integer literal as its third argument', nArg.loc);
        this.types.set(nArg, INT);
        this.consts.set(e, nv);
        return INT;
      }
      case 'time': {
        // time(["fmt"]): prints the local time (strftime format, default "%H:%M:%S\n") when user space gets the event.
        if (!stmtLevel) throw this.err('time() should not be used in an assignment or as a map key', e.loc);
        if (args.length > 1) throw this.err(`time() takes up to one argument (${args.length} provided)`, e.loc);
        const f = args[0];
        if (f && f.kind !== 'str') throw this.err('time() expects a string literal', f.loc);
        if (f) {
          this.types.set(f, STR);
          const bad = checkStrftime(f.value);
          if (bad) throw unsupported(`time() conversion ${bad}`, f.loc, this.g.file);
        }
        return VOID;
      }
      case 'buf': {
        // buf(ptr, n) / buf(array): n bytes of memory, printed with %r as text with \xNN escapes.
        if (args.length < 1 || args.length > 2) throw this.err(`buf() requires 1 or 2 arguments (${args.length} provided)`, e.loc);
        let t = this.expr(args[0]!);
        const arr = this.memArray(args[0]!);
        if (arr) t = { k: 'mem', ct: arr };
        let n: number;
        if (args.length === 2) {
          const a = args[1]!;
          const v = a.kind === 'int' ? a.value : a.kind === 'positional' ? positionalInt(this.g.params, a.n) : undefined;
          if (v === undefined) throw unsupported('buf() with a length that is not an integer literal', a.loc, this.g.file);
          if (v < 0n) throw this.err('buf() length must be non-negative', a.loc);
          this.types.set(a, INT);
          n = Number(v > BigInt(BUF_MAX) ? BigInt(BUF_MAX) : v);
          if (!(t.k === 'int' || (t.k === 'mem' && t.ct.c === 'array') || t.k === 'str')) throw this.err(`buf() expects an integer, pointer or array as its first argument (${tyName(t)} provided)`, args[0]!.loc);
        } else {
          if (t.k !== 'mem' || t.ct.c !== 'array') throw this.err('buf() expects a length argument for non-array data', e.loc);
          n = Math.min(ctypeSize(t.ct), BUF_MAX);
        }
        if (t.k === 'str') n = Math.min(n, 63);
        this.consts.set(e, BigInt(n));
        return { k: 'buf', n };
      }
      case 'macaddr': {
        if (args.length !== 1) throw this.err(`macaddr() requires 1 argument (${args.length} provided)`, e.loc);
        let t = this.expr(args[0]!);
        const arr = this.memArray(args[0]!);
        if (arr) t = { k: 'mem', ct: arr };
        if (t.k === 'int' && t.to) return { k: 'mac' };
        if (t.k === 'mem' && t.ct.c === 'array') {
          if (ctypeSize(t.ct) !== 6) throw this.err('macaddr() argument must be 6 bytes in size', e.loc);
          return { k: 'mac' };
        }
        if (t.k === 'str') throw this.err('macaddr() argument must be 6 bytes in size', e.loc);
        throw this.err(`macaddr() only supports array or pointer arguments (${tyName(t)} provided)`, e.loc);
      }
      case 'cgroup_path': {
        if (args.length < 1 || args.length > 2) throw this.err(`cgroup_path() requires 1 or 2 arguments (${args.length} provided)`, e.loc);
        this.needInt(args[0]!, 'cgroup_path()');
        const f = args[1];
        if (f && f.kind !== 'str') throw this.err('cgroup_path() expects a string literal as its filter', f.loc);
        if (f) this.types.set(f, STR);
        return { k: 'cgpath', filter: f?.kind === 'str' ? f.value : undefined };
      }
      case 'path':
        // d_path works only in fentry/fexit/LSM/iter programs, which bpfkit cannot load here.
        throw this.err("The path function can only be used with 'kfunc', 'kretfunc', 'iter' probes", e.loc);
      case 'strftime': {
        if (args.length !== 2) throw this.err('strftime() requires 2 arguments', e.loc);
        const f = args[0]!;
        if (f.kind !== 'str') throw this.err('strftime() expects a string literal as its first argument', f.loc);
        const bad = checkStrftime(f.value);
        if (bad) throw unsupported(`strftime() conversion ${bad}`, f.loc, this.g.file);
        this.needInt(args[1]!, 'strftime()');
        return { k: 'time', fmt: f.value };
      }
    }
    if (AGGS.includes(n as AggKind)) throw this.err(`${n}() should be directly assigned to a map`, e.loc);
    if (UNSUPPORTED_FUNCS.has(n)) throw unsupported(`The function ${n}()`, e.loc, this.g.file);
    throw this.err(`Unknown function: ${n}`, { line: e.loc.line, col: e.loc.col, endCol: e.loc.col + n.length - 1 });
  }
}

/** A stack mode argument (`perf` / `bpftrace`) or undefined when `a` is something else. */
function stackMode(a: Expr): 'perf' | 'bpftrace' | undefined {
  return a.kind === 'builtin' && (a.name === 'perf' || a.name === 'bpftrace') ? a.name : undefined;
}

/** bpftrace's spelling of a type in some messages (`unsigned int64`, `string`). */
function bpftraceTyName(t: Ty): string {
  if (t.k === 'int' && !t.to) return t.signed ? 'int64' : 'unsigned int64';
  if (t.k === 'str') return 'string';
  return tyName(t);
}

function describeExpr(e: Expr): string {
  if (e.kind === 'call') return `${e.name}()`;
  return e.kind;
}
