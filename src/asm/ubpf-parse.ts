/**
 * Assembler for the uBPF / bpf_conformance syntax (`mov32 %r0, 0`, `ldxdw %r1, [%r10-8]`, `jeq %r1, 5, +3`,
 * `lock fetch add [%r10-8], %r1`, `call local func1`, labels `name:`), plus a few extensions so that every
 * valid instruction has a spelling: `lddw %r1, map_fd(5)` (pseudo sources), `call runtime N` / `call kfunc N`
 * (src=2), `ldabsw N` / `ldindw %r1, N` (legacy packet loads), `callx %r1`.
 *
 * Like bpf_conformance, the first `exit` instruction defines an implicit label `exit` (unless a label of that
 * name is written explicitly), so `jne %r0, 1, exit` works.
 */
import {
  ALU_OPS,
  AluOp,
  ATOMIC_OPS,
  Class,
  EndSource,
  JMP_OPS,
  JmpOp,
  LDDW,
  Mode,
  PseudoCall,
  PseudoLd,
  SIZES,
  Source,
  helperByName,
  insn,
  lddw,
} from '../isa/index.js';
import { ProgramBuilder, type AssembledProgram, type Loc } from './builder.js';
import { imm32, imm64, off16 } from './numbers.js';
import { PSEUDO_LD_BY_NAME, pseudoHasOffset } from './pseudo.js';
import { slotFromRaw } from './slots.js';
import { lexUbpf, parseUbpfReg, type UbpfToken } from './ubpf-lex.js';

type Group = UbpfToken[];

interface Ctx {
  b: ProgramBuilder;
  line: number;
  mnemonic: string;
  mcol: number;
}

const loc = (ctx: Ctx, col: number): Loc => ({ line: ctx.line, column: col });

/** Assemble uBPF-syntax text. Throws `AsmError` (file, line, column, reason) on malformed input. */
export function assembleUbpf(text: string, file?: string): AssembledProgram {
  const b: ProgramBuilder = new ProgramBuilder(file);
  const lines = text.split('\n');
  for (let li = 0; li < lines.length; li++) {
    const line = li + 1;
    const src = lines[li]!;
    const fail: (reason: string, l: Loc) => never = (reason, l) => b.fail(reason, l);
    const trimmed = src.trimStart();
    const col0 = src.length - trimmed.length + 1;
    if (trimmed.startsWith('--')) {
      fail(`unknown directive ${trimmed.replace(/\s*[#;].*$/, '').trimEnd()}`, { line, column: col0 });
    }
    let toks = lexUbpf(src, line, fail);
    // Labels (possibly several, possibly followed by an instruction on the same line).
    while (toks.length >= 2 && toks[0]!.k === 'word' && toks[1]!.k === 'punct' && toks[1]!.text === ':') {
      b.defineLabel(toks[0]!.text, { line, column: toks[0]!.col });
      toks = toks.slice(2);
    }
    if (toks.length === 0) continue;
    const first = toks[0]!;
    if (first.k !== 'word') fail(`expected a mnemonic, got ${first.text}`, { line, column: first.col });
    if (first.text === '.insn') {
      const t = toks[1];
      const v = t?.k === 'num' ? imm64(t.lit) : undefined;
      if (toks.length !== 2 || v === undefined) fail('.insn takes one 64-bit raw slot value', { line, column: first.col });
      if (typeof v === 'string') fail(v, { line, column: t!.col });
      b.emit(line, slotFromRaw(v));
      continue;
    }
    if (first.text.startsWith('.')) fail(`unknown directive ${first.text}`, { line, column: first.col });
    const ctx: Ctx = { b, line, mnemonic: first.text.toLowerCase(), mcol: first.col };
    assembleInsn(ctx, splitGroups(ctx, toks.slice(1)));
  }
  return b.finish();
}

/** Split operand tokens at top-level commas. */
function splitGroups(ctx: Ctx, toks: UbpfToken[]): Group[] {
  const groups: Group[] = [];
  let cur: Group = [];
  let depth = 0;
  for (const t of toks) {
    if (t.k === 'punct') {
      if (t.text === ':') ctx.b.fail(`unexpected ':'`, loc(ctx, t.col));
      if (t.text === '(') depth++;
      if (t.text === ')') depth--;
      if (t.text === ',' && depth === 0) {
        if (cur.length === 0) ctx.b.fail('empty operand', loc(ctx, t.col));
        groups.push(cur);
        cur = [];
        continue;
      }
    }
    cur.push(t);
  }
  if (cur.length) groups.push(cur);
  else if (toks.length) ctx.b.fail('empty operand', loc(ctx, toks[toks.length - 1]!.col));
  return groups;
}

function count(ctx: Ctx, groups: Group[], n: number, what = ctx.mnemonic): void {
  if (groups.length !== n) {
    const col = groups[n]?.[0]?.col ?? ctx.mcol;
    ctx.b.fail(`invalid operand count for ${what}: expected ${n}, got ${groups.length}`, loc(ctx, col));
  }
}

function single(ctx: Ctx, g: Group): UbpfToken {
  if (g.length !== 1) ctx.b.fail(`unexpected ${g[1]!.text} in operand`, loc(ctx, g[1]!.col));
  return g[0]!;
}

function reg(ctx: Ctx, g: Group): number {
  const t = single(ctx, g);
  if (t.k === 'reg') return t.reg;
  if (t.k === 'word' && /^r\d+$/.test(t.text)) {
    const r = parseUbpfReg(t.text);
    if (typeof r === 'string') ctx.b.fail(r, loc(ctx, t.col));
    return r;
  }
  return ctx.b.fail(`expected a register, got ${t.text}`, loc(ctx, t.col));
}

function mem(ctx: Ctx, g: Group): { reg: number; off: number } {
  const t = single(ctx, g);
  if (t.k !== 'mem') ctx.b.fail(`expected a memory operand [%rN+off], got ${t.text}`, loc(ctx, t.col));
  return t;
}

function num32(ctx: Ctx, t: UbpfToken): number {
  if (t.k !== 'num') ctx.b.fail(`expected an immediate, got ${t.text}`, loc(ctx, t.col));
  const v = imm32(t.lit);
  if (typeof v === 'string') ctx.b.fail(v, loc(ctx, t.col));
  return v;
}

const isReg = (g: Group) => g.length === 1 && (g[0]!.k === 'reg' || (g[0]!.k === 'word' && /^r\d+$/.test(g[0]!.text)));

/** A jump target: `+N`/`-N`/`N` (offset) or a label, filling `off` or `imm` of the next instruction. */
function target(ctx: Ctx, g: Group, field: 'off' | 'imm'): number {
  const t = single(ctx, g);
  if (t.k === 'num') {
    if (field === 'imm') return num32(ctx, t);
    const v = off16(t.lit);
    if (typeof v === 'string') ctx.b.fail(v, loc(ctx, t.col));
    return v;
  }
  if (t.k === 'word') {
    ctx.b.reference(t.text, field, loc(ctx, t.col));
    return 0;
  }
  return ctx.b.fail(`expected a jump target (+N, -N or a label), got ${t.text}`, loc(ctx, t.col));
}

// ---- mnemonic tables, derived from the ISA tables ----

interface AluEntry {
  cls: number;
  op: number;
  off: number;
}
const ALU_TABLE = new Map<string, AluEntry>();
for (const a of ALU_OPS) {
  if (a.op === AluOp.END || a.op === AluOp.NEG) continue;
  for (const [name, off] of [[a.name, 0], ...(a.signedName ? [[a.signedName, 1] as const] : [])] as const) {
    ALU_TABLE.set(name, { cls: Class.ALU64, op: a.op, off });
    ALU_TABLE.set(name + '64', { cls: Class.ALU64, op: a.op, off });
    ALU_TABLE.set(name + '32', { cls: Class.ALU, op: a.op, off });
  }
}
for (const bits of [8, 16, 32]) {
  ALU_TABLE.set(`movsx${bits}64`, { cls: Class.ALU64, op: AluOp.MOV, off: bits });
  if (bits !== 32) ALU_TABLE.set(`movsx${bits}32`, { cls: Class.ALU, op: AluOp.MOV, off: bits });
}

const END_TABLE = new Map<string, { code: number; imm: number }>();
for (const bits of [16, 32, 64]) {
  END_TABLE.set(`le${bits}`, { code: Class.ALU | AluOp.END | EndSource.TO_LE, imm: bits });
  END_TABLE.set(`be${bits}`, { code: Class.ALU | AluOp.END | EndSource.TO_BE, imm: bits });
  END_TABLE.set(`bswap${bits}`, { code: Class.ALU64 | AluOp.END | EndSource.TO_LE, imm: bits });
  END_TABLE.set(`swap${bits}`, { code: Class.ALU64 | AluOp.END | EndSource.TO_LE, imm: bits });
}

const MEM_TABLE = new Map<string, { kind: 'ldx' | 'st' | 'stx' | 'ldabs' | 'ldind'; code: number }>();
for (const s of SIZES) {
  MEM_TABLE.set(`ldx${s.suffix}`, { kind: 'ldx', code: Class.LDX | Mode.MEM | s.size });
  if (s.bytes !== 8) {
    MEM_TABLE.set(`ldxs${s.suffix}`, { kind: 'ldx', code: Class.LDX | Mode.MEMSX | s.size });
    MEM_TABLE.set(`ldabs${s.suffix}`, { kind: 'ldabs', code: Class.LD | Mode.ABS | s.size });
    MEM_TABLE.set(`ldind${s.suffix}`, { kind: 'ldind', code: Class.LD | Mode.IND | s.size });
  }
  MEM_TABLE.set(`st${s.suffix}`, { kind: 'st', code: Class.ST | Mode.MEM | s.size });
  MEM_TABLE.set(`stx${s.suffix}`, { kind: 'stx', code: Class.STX | Mode.MEM | s.size });
}

const JMP_TABLE = new Map<string, number>();
for (const j of JMP_OPS) {
  if (!j.conditional) continue;
  JMP_TABLE.set(j.name, Class.JMP | j.op);
  JMP_TABLE.set(j.name + '32', Class.JMP32 | j.op);
}

/** Atomic op names: `add`, `fetch_add`, `xchg`... (also reachable as `fetch add`). */
const ATOMIC_TABLE = new Map(ATOMIC_OPS.map((a) => [a.name, a.imm]));

function assembleInsn(ctx: Ctx, g: Group[]): void {
  const m = ctx.mnemonic;
  const b: ProgramBuilder = ctx.b;
  const line = ctx.line;
  const alu = ALU_TABLE.get(m);
  if (alu) {
    count(ctx, g, 2);
    const dst = reg(ctx, g[0]!);
    if (alu.op === AluOp.MOV && alu.off !== 0) {
      // movsx: register source only.
      if (!isReg(g[1]!)) b.fail(`${m} takes a register source`, loc(ctx, g[1]![0]!.col));
      b.emit(line, insn(alu.cls | alu.op | Source.X, dst, reg(ctx, g[1]!), alu.off, 0));
    } else if (isReg(g[1]!)) {
      b.emit(line, insn(alu.cls | alu.op | Source.X, dst, reg(ctx, g[1]!), alu.off, 0));
    } else {
      b.emit(line, insn(alu.cls | alu.op | Source.K, dst, 0, alu.off, num32(ctx, single(ctx, g[1]!))));
    }
    return;
  }
  if (m === 'neg' || m === 'neg64' || m === 'neg32') {
    count(ctx, g, 1);
    b.emit(line, insn((m === 'neg32' ? Class.ALU : Class.ALU64) | AluOp.NEG, reg(ctx, g[0]!)));
    return;
  }
  const end = END_TABLE.get(m);
  if (end) {
    count(ctx, g, 1);
    b.emit(line, insn(end.code, reg(ctx, g[0]!), 0, 0, end.imm));
    return;
  }
  const memop = MEM_TABLE.get(m);
  if (memop) {
    switch (memop.kind) {
      case 'ldx': {
        count(ctx, g, 2);
        const dst = reg(ctx, g[0]!);
        const a = mem(ctx, g[1]!);
        b.emit(line, insn(memop.code, dst, a.reg, a.off, 0));
        return;
      }
      case 'st': {
        count(ctx, g, 2);
        const a = mem(ctx, g[0]!);
        b.emit(line, insn(memop.code, a.reg, 0, a.off, num32(ctx, single(ctx, g[1]!))));
        return;
      }
      case 'stx': {
        count(ctx, g, 2);
        const a = mem(ctx, g[0]!);
        b.emit(line, insn(memop.code, a.reg, reg(ctx, g[1]!), a.off, 0));
        return;
      }
      case 'ldabs':
        count(ctx, g, 1);
        b.emit(line, insn(memop.code, 0, 0, 0, num32(ctx, single(ctx, g[0]!))));
        return;
      case 'ldind':
        count(ctx, g, 2);
        b.emit(line, insn(memop.code, 0, reg(ctx, g[0]!), 0, num32(ctx, single(ctx, g[1]!))));
        return;
    }
  }
  const jmp = JMP_TABLE.get(m);
  if (jmp !== undefined) {
    count(ctx, g, 3);
    const dst = reg(ctx, g[0]!);
    if (isReg(g[1]!)) {
      const src = reg(ctx, g[1]!);
      const off = target(ctx, g[2]!, 'off');
      b.emit(line, insn(jmp | Source.X, dst, src, off, 0));
    } else {
      const imm = num32(ctx, single(ctx, g[1]!));
      const off = target(ctx, g[2]!, 'off');
      b.emit(line, insn(jmp | Source.K, dst, 0, off, imm));
    }
    return;
  }
  switch (m) {
    case 'lddw':
      return assembleLddw(ctx, g);
    case 'ja': {
      count(ctx, g, 1);
      const off = target(ctx, g[0]!, 'off');
      b.emit(line, insn(Class.JMP | JmpOp.JA, 0, 0, off, 0));
      return;
    }
    case 'ja32':
    case 'gotol': {
      count(ctx, g, 1);
      const imm = target(ctx, g[0]!, 'imm');
      b.emit(line, insn(Class.JMP32 | JmpOp.JA, 0, 0, 0, imm));
      return;
    }
    case 'exit':
      count(ctx, g, 0);
      b.defineImplicitLabel('exit');
      b.emit(line, insn(Class.JMP | JmpOp.EXIT));
      return;
    case 'callx':
      count(ctx, g, 1);
      b.emit(line, insn(Class.JMP | JmpOp.CALL | Source.X, reg(ctx, g[0]!)));
      return;
    case 'call':
      return assembleCall(ctx, g);
    case 'lock':
      return assembleLock(ctx, g);
  }
  b.fail(`invalid mnemonic ${ctx.mnemonic}`, loc(ctx, ctx.mcol));
}

function assembleLddw(ctx: Ctx, g: Group[]): void {
  count(ctx, g, 2);
  const dst = reg(ctx, g[0]!);
  const op = g[1]!;
  const t = op[0]!;
  if (t.k === 'num') {
    single(ctx, op);
    const v = imm64(t.lit);
    if (typeof v === 'string') ctx.b.fail(v, loc(ctx, t.col));
    ctx.b.emit(ctx.line, ...lddw(dst, v, PseudoLd.IMM64));
    return;
  }
  // Pseudo form: name(imm) or name(imm, offset).
  const pseudo = t.k === 'word' ? PSEUDO_LD_BY_NAME.get(t.text.toLowerCase()) : undefined;
  if (pseudo === undefined) {
    return ctx.b.fail(`expected a 64-bit immediate or a pseudo source like map_fd(N), got ${t.text}`, loc(ctx, t.col));
  }
  const args = op.slice(1);
  const open = args[0];
  const close = args[args.length - 1];
  if (!open || open.text !== '(' || !close || close.text !== ')') {
    return ctx.b.fail(`expected ${t.text}(...)`, loc(ctx, (open ?? t).col));
  }
  const inner = args.slice(1, -1).filter((x) => !(x.k === 'punct' && x.text === ','));
  const want = pseudoHasOffset(pseudo) ? 2 : 1;
  if (inner.length !== want || args.length - 2 !== want * 2 - 1) {
    return ctx.b.fail(`${t.text}(...) takes ${want} argument${want > 1 ? 's' : ''}`, loc(ctx, open.col));
  }
  const lo = num32(ctx, inner[0]!);
  const hi = want === 2 ? num32(ctx, inner[1]!) : 0;
  ctx.b.emit(ctx.line, insn(LDDW, dst, pseudo, 0, lo), insn(0, 0, 0, 0, hi));
}

function assembleCall(ctx: Ctx, g: Group[]): void {
  const b: ProgramBuilder = ctx.b;
  const line = ctx.line;
  count(ctx, g, 1);
  const toks = g[0]!;
  const t0 = toks[0]!;
  const CALL = Class.JMP | JmpOp.CALL;
  if (toks.length === 1) {
    if (isReg(toks)) {
      b.emit(line, insn(CALL | Source.X, reg(ctx, toks)));
      return;
    }
    if (t0.k === 'num') {
      b.emit(line, insn(CALL, 0, PseudoCall.HELPER, 0, num32(ctx, t0)));
      return;
    }
    if (t0.k === 'word') {
      const h = helperByName(t0.text);
      if (!h) b.fail(`unknown helper ${t0.text} (use "call local ${t0.text}" for a bpf-to-bpf call)`, loc(ctx, t0.col));
      b.emit(line, insn(CALL, 0, PseudoCall.HELPER, 0, h.id));
      return;
    }
    b.fail(`expected a helper id, helper name or register, got ${t0.text}`, loc(ctx, t0.col));
  }
  if (t0.k !== 'word') return b.fail(`unexpected ${toks[1]!.text} in operand`, loc(ctx, toks[1]!.col));
  const rest = toks.slice(1);
  switch (t0.text) {
    case 'local': {
      const imm = target(ctx, rest, 'imm');
      b.emit(line, insn(CALL, 0, PseudoCall.CALL, 0, imm));
      return;
    }
    case 'helper': {
      if (isReg(rest)) {
        b.emit(line, insn(CALL | Source.X, reg(ctx, rest)));
        return;
      }
      b.emit(line, insn(CALL, 0, PseudoCall.HELPER, 0, num32(ctx, single(ctx, rest))));
      return;
    }
    case 'runtime':
    case 'kfunc':
      b.emit(line, insn(CALL, 0, PseudoCall.KFUNC, 0, num32(ctx, single(ctx, rest))));
      return;
  }
  b.fail(`invalid call mode ${t0.text} (expected local, helper, runtime or kfunc)`, loc(ctx, t0.col));
}

function assembleLock(ctx: Ctx, g: Group[]): void {
  const b: ProgramBuilder = ctx.b;
  const line = ctx.line;
  if (g.length === 0) b.fail('invalid operand count for lock', loc(ctx, ctx.mcol));
  // First group: [fetch] op[32] [mem]; second group: src register.
  const words = g[0]!.filter((t) => t.k === 'word');
  const memTok = g[0]![g[0]!.length - 1]!;
  const lead = g[0]!.slice(0, -1);
  if (lead.length !== words.length || words.length === 0 || words.length > 2) {
    b.fail('expected lock [fetch] OP [%rN+off], %rM', loc(ctx, g[0]![0]!.col));
  }
  let name = words.map((w) => w.text.toLowerCase()).join('_');
  let width64 = true;
  if (name.endsWith('32')) {
    width64 = false;
    name = name.slice(0, -2);
  } else if (name.endsWith('64')) {
    name = name.slice(0, -2);
  }
  const imm = ATOMIC_TABLE.get(name);
  if (imm === undefined) b.fail(`invalid atomic operation ${words.map((w) => w.text).join(' ')}`, loc(ctx, words[0]!.col));
  count(ctx, g, 2, `lock ${words.map((w) => w.text).join(' ')}`);
  const a = mem(ctx, [memTok]);
  const src = reg(ctx, g[1]!);
  const size = width64 ? SIZES[3]!.size : SIZES[2]!.size;
  b.emit(line, insn(Class.STX | Mode.ATOMIC | size, a.reg, src, a.off, imm));
}

/** Exposed for tests: the mnemonics this syntax knows (without `lock` forms). */
export function ubpfMnemonics(): string[] {
  return [
    ...ALU_TABLE.keys(),
    'neg',
    'neg32',
    ...END_TABLE.keys(),
    ...MEM_TABLE.keys(),
    ...JMP_TABLE.keys(),
    'lddw',
    'ja',
    'ja32',
    'exit',
    'call',
    'callx',
    'lock',
  ];
}
