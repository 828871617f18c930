/**
 * Assembler for the LLVM / kernel syntax. Accepts what `llvm-objdump -d` prints (with or without raw bytes
 * and `<sym+0x..>` annotations, `0000000000000000 <func>:` headers as labels), what the verifier log prints
 * (`12: (bf) r1 = r2`, `goto pc+3`, `(r10 -8)`, `call bpf_map_lookup_elem#1`, `r1 = map[id:5]`, trailing
 * `; R1=...` state) and the complete forms of `formatLlvmAsm`. Labels are `name:`; jump targets are
 * `+N`/`-N`/`pc+N` or a label. Comments: `;`, `//`, or `#` at the start of a line.
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
  NUM_REGS,
  PseudoCall,
  PseudoLd,
  SIZES,
  Size,
  Source,
  helperByName,
  insn,
  lddw,
  type Insn,
} from '../isa/index.js';
import { ProgramBuilder, type AssembledProgram, type FixupField } from './builder.js';
import { imm32, imm32any, imm64, off16, parseIntLiteral, type IntLiteral } from './numbers.js';
import { slotFromRaw } from './slots.js';

/** Directives found in clang/llvm-mc assembly that carry no instruction; they are skipped. */
const IGNORED_DIRECTIVES = new Set([
  '.text', '.data', '.bss', '.rodata', '.section', '.globl', '.global', '.local', '.weak', '.hidden', '.p2align',
  '.align', '.balign', '.type', '.size', '.file', '.addrsig', '.addrsig_sym', '.ident', '.loc', '.cfi_startproc',
  '.cfi_endproc', '.cfi_sections', '.previous', '.pushsection', '.popsection', '.set', '.protected', '.internal',
]);

const REG = String.raw`([rw]\d+)`;
const NUM = String.raw`([+-]?(?:0[xX][0-9a-fA-F]+|\d+))`;
const TARGET = String.raw`((?:pc)?[+-]\d+|\d+|[A-Za-z_.$][\w.$]*)`;
/** Memory operand `(r1 + 8)`, `(r1 - 8)`, `(r1 +8)`, `(r1 + -8)`: groups reg, sign, number. */
const MEM = String.raw`\(\s*${REG}\s*([+-])\s*${NUM}\s*\)`;
const MEMBARE = String.raw`${REG}\s*([+-])\s*${NUM}`;
const CTYPE = String.raw`(u8|u16|u32|u64)`;

const ALU_BY_OP = new Map<string, { op: number; off: number }>();
for (const a of ALU_OPS) {
  if (a.op === AluOp.NEG || a.op === AluOp.END || a.op === AluOp.MOV) continue;
  ALU_BY_OP.set(a.llvm, { op: a.op, off: 0 });
  if (a.signedLlvm) ALU_BY_OP.set(a.signedLlvm, { op: a.op, off: 1 });
}
const JMP_BY_OP = new Map(JMP_OPS.filter((j) => j.conditional).map((j) => [j.llvm, j.op]));
const SIZE_BY_CTYPE = new Map<string, number>();
for (const s of SIZES) {
  SIZE_BY_CTYPE.set(s.ctype, s.size);
  SIZE_BY_CTYPE.set(s.sctype, s.size);
}
const ATOMIC_BY_LLVM = new Map(ATOMIC_OPS.filter((a) => !a.fetch).map((a) => [a.llvm, a.imm]));
const ATOMIC_FETCH = new Map(ATOMIC_OPS.filter((a) => a.fetch && a.name.startsWith('fetch_')).map((a) => [a.llvm, a.imm]));
const XCHG = ATOMIC_OPS.find((a) => a.name === 'xchg')!.imm;
const CMPXCHG = ATOMIC_OPS.find((a) => a.name === 'cmpxchg')!.imm;

const rx = (s: string) => new RegExp(`^${s}$`, 'd');
const ALU_OPS_RE = [...ALU_BY_OP.keys()].sort((a, b) => b.length - a.length).map((o) => o.replace(/[|*+^/]/g, '\\$&')).join('|');
const JMP_OPS_RE = [...JMP_BY_OP.keys()].sort((a, b) => b.length - a.length).join('|');

const P = {
  exit: rx('exit'),
  goto: rx(String.raw`(goto|gotol)\s+${TARGET}`),
  cond: rx(String.raw`if\s+${REG}\s*(${JMP_OPS_RE})\s*(?:${REG}|${NUM})\s+goto\s+${TARGET}`),
  callx: rx(String.raw`callx\s+${REG}`),
  call: rx(String.raw`call\s+(.+?)`),
  lock: rx(String.raw`lock\s+\*\(\s*${CTYPE}\s*\*\)\s*${MEM}\s*(\+=|\|=|&=|\^=)\s*${REG}`),
  fetch: rx(String.raw`${REG}\s*=\s*atomic(64)?_fetch_(add|or|and|xor)\(\s*\(\s*${CTYPE}\s*\*\)\s*${MEM}\s*,\s*${REG}\s*\)`),
  xchg: rx(String.raw`${REG}\s*=\s*(xchg_64|xchg32_32)\(\s*${MEMBARE}\s*,\s*${REG}\s*\)`),
  kxchg: rx(String.raw`${REG}\s*=\s*atomic(64)?_xchg\(\s*\(\s*${CTYPE}\s*\*\)\s*${MEM}\s*,\s*${REG}\s*\)`),
  cmpxchg: rx(String.raw`${REG}\s*=\s*(cmpxchg_64|cmpxchg32_32)\(\s*${MEMBARE}\s*,\s*${REG}\s*,\s*${REG}\s*\)`),
  kcmpxchg: rx(String.raw`${REG}\s*=\s*atomic(64)?_cmpxchg\(\s*\(\s*${CTYPE}\s*\*\)\s*${MEM}\s*,\s*${REG}\s*,\s*${REG}\s*\)`),
  store: rx(String.raw`\*\(\s*${CTYPE}\s*\*\)\s*${MEM}\s*=\s*(?:${REG}|${NUM})`),
  load: rx(String.raw`${REG}\s*=\s*\*\(\s*(u8|u16|u32|u64|s8|s16|s32)\s*\*\)\s*${MEM}`),
  skb: rx(String.raw`${REG}\s*=\s*\*\(\s*(u8|u16|u32)\s*\*\)\s*skb\[\s*(?:${NUM}|${REG}(?:\s*\+\s*${NUM})?)\s*\]`),
  ldPseudo: rx(String.raw`ld_pseudo\s+${REG}\s*,\s*${NUM}\s*,\s*${NUM}`),
  map: rx(String.raw`${REG}\s*=\s*map\[(id|fd|idx):${NUM}\](?:\[0\]\s*\+\s*${NUM})?`),
  end: rx(String.raw`${REG}\s*=\s*(le|be|bswap)(16|32|64)\s+${REG}`),
  neg: rx(String.raw`${REG}\s*=\s*-\s*${REG}`),
  movsx: rx(String.raw`${REG}\s*=\s*\(\s*s(8|16|32)\s*\)\s*${REG}`),
  movImm: rx(String.raw`${REG}\s*=\s*${NUM}(\s+ll)?`),
  movReg: rx(String.raw`${REG}\s*=\s*${REG}`),
  alu: rx(String.raw`${REG}\s*(${ALU_OPS_RE})\s*(?:${REG}|${NUM})`),
};

interface Line {
  b: ProgramBuilder;
  line: number;
  /** Column (1-based) of the instruction text's first character in the original line. */
  base: number;
  text: string;
  /** Opcode from a `(xx)` verifier-log prefix, if present. */
  opcode?: number;
}

type Match = RegExpExecArray & { indices: Array<[number, number] | undefined> };

/** Assemble LLVM/kernel-syntax text. Throws `AsmError` (file, line, column, reason). */
export function assembleLlvm(text: string, file?: string): AssembledProgram {
  const b: ProgramBuilder = new ProgramBuilder(file);
  const lines = text.split('\n');
  for (let li = 0; li < lines.length; li++) {
    const line = li + 1;
    let s = lines[li]!.replace(/\r$/, '');
    // Comments: ';' and '//' anywhere, '#' at the start of a line.
    const cut = s.search(/;|\/\/|^\s*#/);
    if (cut >= 0) s = s.slice(0, cut);
    let pos = 0;
    const skip = (re: RegExp) => {
      const m = re.exec(s.slice(pos));
      if (m) pos += m[0].length;
      return m;
    };
    skip(/^\s*/);
    // llvm-objdump symbol header: "0000000000000000 <func>:".
    const header = /^[0-9a-fA-F]{8,16}\s+<([^>]+)>:\s*$/.exec(s.slice(pos));
    if (header) {
      b.defineLabel(header[1]!, { line, column: pos + 1 });
      continue;
    }
    // "12:" pc prefix (verifier log and objdump), then objdump raw bytes, then "(bf)" opcode.
    skip(/^\d+:\s*/);
    skip(/^(?:[0-9a-fA-F]{2}[ \t]){8}(?:(?:[0-9a-fA-F]{2}[ \t]){8})?\s*/);
    let opcode: number | undefined;
    const op = skip(/^\(([0-9a-fA-F]{2})\)\s*/);
    if (op) opcode = parseInt(op[1]!, 16);
    // Labels.
    for (let m = skip(/^([A-Za-z_.$][\w.$]*)\s*:(?!=)\s*/); m; m = skip(/^([A-Za-z_.$][\w.$]*)\s*:(?!=)\s*/)) {
      b.defineLabel(m[1]!, { line, column: pos - m[0].length + 1 });
    }
    const rest = s.slice(pos).replace(/\s+<[^<>]*>\s*$/, '').trimEnd();
    if (!rest) continue;
    const l: Line = { b, line, base: pos + 1, text: rest, opcode };
    if (rest.startsWith('.')) {
      directive(l);
      continue;
    }
    const before = b.pc;
    instruction(l);
    if (opcode !== undefined && b.insns[before] && b.insns[before]!.code !== opcode) {
      b.fail(`opcode prefix (${op![1]}) does not match the instruction (${b.insns[before]!.code.toString(16).padStart(2, '0')})`, { line, column: l.base });
    }
  }
  return b.finish();
}

function directive(l: Line): void {
  const m = /^(\.[\w.]*)\s*(.*)$/.exec(l.text)!;
  if (m[1] === '.insn') {
    const lit = parseIntLiteral(m[2]!.trim());
    const v = lit && imm64(lit);
    if (v === undefined || typeof v === 'string') l.b.fail('.insn takes one 64-bit raw slot value', at(l, 0));
    l.b.emit(l.line, slotFromRaw(v));
    return;
  }
  if (IGNORED_DIRECTIVES.has(m[1]!) || m[1]!.startsWith('.cfi_')) return;
  l.b.fail(`unknown directive ${m[1]}`, at(l, 0));
}

const at = (l: Line, offset: number) => ({ line: l.line, column: l.base + offset });
const col = (l: Line, m: Match, g: number) => at(l, m.indices[g]?.[0] ?? 0);

/** A register operand: number and whether it was written as `wN`. */
function reg(l: Line, m: Match, g: number, want?: 'r' | 'w'): number {
  const t = m[g]!;
  const n = Number(t.slice(1));
  if (n >= NUM_REGS || String(n) !== t.slice(1)) l.b.fail(`invalid register ${t}`, col(l, m, g));
  if (want && t[0] !== want) {
    l.b.fail(`expected a ${want === 'w' ? '32-bit (wN)' : '64-bit (rN)'} register, got ${t}`, col(l, m, g));
  }
  return n;
}

function lit(l: Line, m: Match, g: number): IntLiteral {
  const v = parseIntLiteral(m[g]!.replace(/\s+/g, ''));
  if (!v) l.b.fail(`invalid number ${m[g]}`, col(l, m, g));
  return v;
}

function i32(l: Line, m: Match, g: number, anySign = false): number {
  const v = (anySign ? imm32any : imm32)(lit(l, m, g));
  if (typeof v === 'string') l.b.fail(v, col(l, m, g));
  return v;
}

/** Memory operand at groups g (reg), g+1 (sign), g+2 (number). */
function memOff(l: Line, m: Match, g: number): { reg: number; off: number } {
  const r = reg(l, m, g, 'r');
  const n = lit(l, m, g + 2);
  const signed: IntLiteral = { ...n, value: m[g + 1] === '-' ? -n.value : n.value, text: `${m[g + 1]}${n.text}` };
  const off = off16(signed);
  if (typeof off === 'string') l.b.fail(off, col(l, m, g + 2));
  return { reg: r, off };
}

/** Jump target at group g: `+N`, `pc+N`, `N` or a label. */
function target(l: Line, m: Match, g: number, field: FixupField): number {
  const t = m[g]!;
  const num = parseIntLiteral(t.replace(/^pc/, ''));
  if (num) {
    const v = field === 'off' ? off16(num) : imm32(num);
    if (typeof v === 'string') l.b.fail(v, col(l, m, g));
    return v;
  }
  l.b.reference(t, field, col(l, m, g));
  return 0;
}

function instruction(l: Line): void {
  const b: ProgramBuilder = l.b;
  const { line, text } = l;
  const emit = (...i: Insn[]) => b.emit(line, ...i);
  let m: Match | null;
  const match = (re: RegExp) => (m = re.exec(text) as Match | null);

  if (match(P.exit)) return emit(insn(Class.JMP | JmpOp.EXIT));
  if (match(P.goto)) {
    const m_ = m!;
    if (m_[1] === 'gotol') return void emit(insn(Class.JMP32 | JmpOp.JA, 0, 0, 0, target(l, m_, 2, 'imm')));
    return void emit(insn(Class.JMP | JmpOp.JA, 0, 0, target(l, m_, 2, 'off'), 0));
  }
  if (match(P.cond)) {
    const m_ = m!;
    const w = m_[1]![0] === 'w';
    const cls = w ? Class.JMP32 : Class.JMP;
    const dst = reg(l, m_, 1, w ? 'w' : 'r');
    const jop = JMP_BY_OP.get(m_[2]!)!;
    if (m_[3]) {
      const src = reg(l, m_, 3, w ? 'w' : 'r');
      return void emit(insn(cls | jop | Source.X, dst, src, target(l, m_, 5, 'off'), 0));
    }
    const imm = i32(l, m_, 4);
    return void emit(insn(cls | jop | Source.K, dst, 0, target(l, m_, 5, 'off'), imm));
  }
  if (match(P.callx)) return void emit(insn(Class.JMP | JmpOp.CALL | Source.X, reg(l, m!, 1, 'r')));
  if (match(P.call)) return call(l, m!);
  if (match(P.lock)) {
    const m_ = m!;
    const size = SIZE_BY_CTYPE.get(m_[1]!)!;
    if (size !== Size.W && size !== Size.DW) b.fail('atomic operations are 32 or 64 bits only', col(l, m_, 1));
    const a = memOff(l, m_, 2);
    const op = ATOMIC_BY_LLVM.get(m_[5]!)!;
    return void emit(insn(Class.STX | Mode.ATOMIC | size, a.reg, reg(l, m_, 6), a.off, op));
  }
  if (match(P.fetch)) {
    const m_ = m!;
    const size = atomicSize(l, m_, 4);
    const a = memOff(l, m_, 5);
    const src = reg(l, m_, 8);
    sameReg(l, m_, 1, 8);
    return void emit(insn(Class.STX | Mode.ATOMIC | size, a.reg, src, a.off, ATOMIC_FETCH.get(m_[3]!)!));
  }
  if (match(P.xchg)) {
    const m_ = m!;
    const size = m_[2] === 'xchg_64' ? Size.DW : Size.W;
    const a = memOff(l, m_, 3);
    sameReg(l, m_, 1, 6);
    return void emit(insn(Class.STX | Mode.ATOMIC | size, a.reg, reg(l, m_, 6), a.off, XCHG));
  }
  if (match(P.kxchg)) {
    const m_ = m!;
    const size = atomicSize(l, m_, 3);
    const a = memOff(l, m_, 4);
    sameReg(l, m_, 1, 7);
    return void emit(insn(Class.STX | Mode.ATOMIC | size, a.reg, reg(l, m_, 7), a.off, XCHG));
  }
  if (match(P.cmpxchg)) {
    const m_ = m!;
    const size = m_[2] === 'cmpxchg_64' ? Size.DW : Size.W;
    const a = memOff(l, m_, 3);
    r0(l, m_, 1);
    r0(l, m_, 6);
    return void emit(insn(Class.STX | Mode.ATOMIC | size, a.reg, reg(l, m_, 7), a.off, CMPXCHG));
  }
  if (match(P.kcmpxchg)) {
    const m_ = m!;
    const size = atomicSize(l, m_, 3);
    const a = memOff(l, m_, 4);
    r0(l, m_, 1);
    r0(l, m_, 7);
    return void emit(insn(Class.STX | Mode.ATOMIC | size, a.reg, reg(l, m_, 8), a.off, CMPXCHG));
  }
  if (match(P.store)) {
    const m_ = m!;
    const size = SIZE_BY_CTYPE.get(m_[1]!)!;
    const a = memOff(l, m_, 2);
    if (m_[5]) return void emit(insn(Class.STX | Mode.MEM | size, a.reg, reg(l, m_, 5), a.off, 0));
    return void emit(insn(Class.ST | Mode.MEM | size, a.reg, 0, a.off, i32(l, m_, 6)));
  }
  if (match(P.load)) {
    const m_ = m!;
    const dst = reg(l, m_, 1);
    const mode = m_[2]![0] === 's' ? Mode.MEMSX : Mode.MEM;
    const a = memOff(l, m_, 3);
    return void emit(insn(Class.LDX | mode | SIZE_BY_CTYPE.get(m_[2]!)!, dst, a.reg, a.off, 0));
  }
  if (match(P.skb)) {
    const m_ = m!;
    if (reg(l, m_, 1, 'r') !== 0) b.fail('legacy packet loads always write r0', col(l, m_, 1));
    const size = SIZE_BY_CTYPE.get(m_[2]!)!;
    if (m_[3]) return void emit(insn(Class.LD | Mode.ABS | size, 0, 0, 0, i32(l, m_, 3)));
    const src = reg(l, m_, 4, 'r');
    return void emit(insn(Class.LD | Mode.IND | size, 0, src, 0, m_[5] ? i32(l, m_, 5) : 0));
  }
  if (match(P.ldPseudo)) {
    const m_ = m!;
    const dst = reg(l, m_, 1, 'r');
    const src = Number(lit(l, m_, 2).value);
    if (!(src >= 1 && src <= 15)) b.fail(`invalid pseudo source ${m_[2]} (1..15)`, col(l, m_, 2));
    return void emit(insn(LDDW, dst, src, 0, i32(l, m_, 3, true)), insn(0));
  }
  if (match(P.map)) {
    const m_ = m!;
    const dst = reg(l, m_, 1, 'r');
    const byIdx = m_[2] === 'idx';
    const value = m_[4] !== undefined;
    const src = byIdx ? (value ? PseudoLd.MAP_IDX_VALUE : PseudoLd.MAP_IDX) : value ? PseudoLd.MAP_VALUE : PseudoLd.MAP_FD;
    return void emit(insn(LDDW, dst, src, 0, i32(l, m_, 3, true)), insn(0, 0, 0, 0, value ? i32(l, m_, 4, true) : 0));
  }
  if (match(P.end)) {
    const m_ = m!;
    const dst = reg(l, m_, 1, 'r');
    if (reg(l, m_, 4, 'r') !== dst) b.fail('byte swap source and destination must be the same register', col(l, m_, 4));
    const bits = Number(m_[3]);
    const code =
      m_[2] === 'bswap'
        ? Class.ALU64 | AluOp.END | EndSource.TO_LE
        : Class.ALU | AluOp.END | (m_[2] === 'be' ? EndSource.TO_BE : EndSource.TO_LE);
    return void emit(insn(code, dst, 0, 0, bits));
  }
  if (match(P.neg)) {
    const m_ = m!;
    const w = m_[1]![0] === 'w';
    const dst = reg(l, m_, 1);
    if (reg(l, m_, 2, w ? 'w' : 'r') !== dst) b.fail('neg source and destination must be the same register', col(l, m_, 2));
    return void emit(insn((w ? Class.ALU : Class.ALU64) | AluOp.NEG, dst));
  }
  if (match(P.movsx)) {
    const m_ = m!;
    const w = m_[1]![0] === 'w';
    const dst = reg(l, m_, 1);
    const src = reg(l, m_, 3, w ? 'w' : 'r');
    const bits = Number(m_[2]);
    if (w && bits === 32) b.fail('(s32) sign extension needs 64-bit registers', col(l, m_, 2));
    return void emit(insn((w ? Class.ALU : Class.ALU64) | AluOp.MOV | Source.X, dst, src, bits, 0));
  }
  if (match(P.movImm)) {
    const m_ = m!;
    const w = m_[1]![0] === 'w';
    const dst = reg(l, m_, 1);
    const n = lit(l, m_, 2);
    const isLddw = m_[3] !== undefined || l.opcode === LDDW;
    if (isLddw || (!w && (n.value < -(2n ** 31n) || n.value > 2n ** 31n - 1n))) {
      if (w) b.fail('64-bit immediate load needs an rN register', col(l, m_, 1));
      const v = imm64(n);
      if (typeof v === 'string') b.fail(v, col(l, m_, 2));
      return void emit(...lddw(dst, v, PseudoLd.IMM64));
    }
    return void emit(insn((w ? Class.ALU : Class.ALU64) | AluOp.MOV | Source.K, dst, 0, 0, i32(l, m_, 2)));
  }
  if (match(P.movReg)) {
    const m_ = m!;
    const w = m_[1]![0] === 'w';
    const dst = reg(l, m_, 1);
    return void emit(insn((w ? Class.ALU : Class.ALU64) | AluOp.MOV | Source.X, dst, reg(l, m_, 2, w ? 'w' : 'r'), 0, 0));
  }
  if (match(P.alu)) {
    const m_ = m!;
    const w = m_[1]![0] === 'w';
    const cls = w ? Class.ALU : Class.ALU64;
    const dst = reg(l, m_, 1);
    const { op, off } = ALU_BY_OP.get(m_[2]!)!;
    if (m_[3]) return void emit(insn(cls | op | Source.X, dst, reg(l, m_, 3, w ? 'w' : 'r'), off, 0));
    return void emit(insn(cls | op | Source.K, dst, 0, off, i32(l, m_, 4)));
  }
  // Nothing matched: point at an invalid register if there is one, else at the line.
  const bad = /\b[rw](\d+)\b/g;
  for (let r = bad.exec(text); r; r = bad.exec(text)) {
    if (Number(r[1]) >= NUM_REGS) b.fail(`invalid register ${r[0]}`, at(l, r.index));
  }
  b.fail(`unrecognized instruction: ${text}`, at(l, 0));
}

function atomicSize(l: Line, m: Match, g: number): number {
  const size = SIZE_BY_CTYPE.get(m[g]!)!;
  if (size !== Size.W && size !== Size.DW) l.b.fail('atomic operations are 32 or 64 bits only', col(l, m, g));
  return size;
}

function sameReg(l: Line, m: Match, a: number, b: number): void {
  if (m[a]!.slice(1) !== m[b]!.slice(1)) l.b.fail(`result register ${m[a]} must be the source register ${m[b]}`, col(l, m, a));
}

function r0(l: Line, m: Match, g: number): void {
  if (m[g]!.slice(1) !== '0') l.b.fail(`cmpxchg compares with r0/w0, got ${m[g]}`, col(l, m, g));
}

function call(l: Line, m: Match): void {
  const b: ProgramBuilder = l.b;
  const line = l.line;
  const arg = m[1]!.trim();
  const CALL = Class.JMP | JmpOp.CALL;
  const c = col(l, m, 1);
  const local = /^pc([+-]\d+)$/.exec(arg);
  if (local) {
    const v = imm32(parseIntLiteral(local[1]!)!);
    if (typeof v === 'string') b.fail(v, c);
    return b.emit(line, insn(CALL, 0, PseudoCall.CALL, 0, v));
  }
  const num = parseIntLiteral(arg);
  if (num) {
    const v = imm32(num);
    if (typeof v === 'string') b.fail(v, c);
    return b.emit(line, insn(CALL, 0, PseudoCall.HELPER, 0, v));
  }
  const named = /^([A-Za-z_][\w-]*)#([+-]?\d+)$/.exec(arg);
  if (named) {
    const v = imm32(parseIntLiteral(named[2]!)!);
    if (typeof v === 'string') b.fail(v, c);
    const h = helperByName(named[1]!);
    const isHelper = named[1] === 'unknown' || (h !== undefined && h.id === v);
    if (h && !isHelper) b.fail(`helper ${named[1]} has id ${h.id}, not ${v}`, c);
    return b.emit(line, insn(CALL, 0, isHelper ? PseudoCall.HELPER : PseudoCall.KFUNC, 0, v));
  }
  if (/^[A-Za-z_.$][\w.$]*$/.test(arg)) {
    const h = helperByName(arg);
    if (h) return b.emit(line, insn(CALL, 0, PseudoCall.HELPER, 0, h.id));
    // Not a helper: a bpf-to-bpf call to a label.
    b.reference(arg, 'imm', c);
    return b.emit(line, insn(CALL, 0, PseudoCall.CALL, 0, 0));
  }
  b.fail(`invalid call target ${arg}`, c);
}
