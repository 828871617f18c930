/**
 * Assembler and disassembler for classic BPF in the kernel's bpf_asm syntax (tools/bpf/bpf_exp.y):
 * `ldh [12]`, `jeq #0x800, L1, L2`, `ldxb 4*([14]&0xf)`, `ld #proto`, `ret #65535`, labels `name:`,
 * comments `;...`, `/* ... *\/` and lines starting with `#`.
 */
import { CbpfError } from '../errors.js';
import { type SockFilter, isAncillary } from './insn.js';
import { ANCILLARY_NAMES, AluOp, CClass, CMode, JmpOp, MiscOp, Mode, Rval, SKF_AD_OFF, Size, Source, cls, mode, op, size, src } from './opcodes.js';

const ALU_NAMES: Record<string, number> = {
  add: AluOp.ADD, sub: AluOp.SUB, mul: AluOp.MUL, div: AluOp.DIV, mod: AluOp.MOD, and: AluOp.AND,
  or: AluOp.OR, xor: AluOp.XOR, lsh: AluOp.LSH, rsh: AluOp.RSH,
};
const ALU_BY_OP = new Map(Object.entries(ALU_NAMES).map(([k, v]) => [v, k]));
const EXT_BY_NAME = new Map<string, number>([
  ...Object.entries(ANCILLARY_NAMES).map(([k, v]) => [v, Number(k)] as [string, number]),
  ['vlan_pr', 48],
]);

interface Tok {
  t: string;
  col: number;
}

function tokenize(line: string, lineNo: number): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < line.length) {
    const ch = line[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\r') {
      i++;
      continue;
    }
    if (ch === ';') break;
    if ('[]():,#%+*&'.includes(ch)) {
      out.push({ t: ch, col: i + 1 });
      i++;
      continue;
    }
    const m = /^(0x[0-9a-fA-F]+|0b[01]+|[-+]?[0-9]+|[A-Za-z_][A-Za-z0-9_]*)/.exec(line.slice(i));
    if (!m) throw new CbpfError(`line ${lineNo}:${i + 1}: unexpected character '${ch}'`);
    out.push({ t: m[1]!, col: i + 1 });
    i += m[1]!.length;
  }
  return out;
}

function parseNumber(s: string): number | undefined {
  let v: number;
  if (/^0x[0-9a-fA-F]+$/.test(s)) v = parseInt(s.slice(2), 16);
  else if (/^0b[01]+$/.test(s)) v = parseInt(s.slice(2), 2);
  else if (/^0[0-7]+$/.test(s)) v = parseInt(s.slice(1), 8);
  else if (/^[-+]?[0-9]+$/.test(s)) v = parseInt(s, 10);
  else return undefined;
  if (!Number.isFinite(v) || v > 0xffffffff || v < -0x80000000) return undefined;
  return v >>> 0;
}

interface Pending {
  insn: SockFilter;
  jt?: string;
  jf?: string;
  ja?: string;
  line: number;
}

/**
 * Assemble bpf_asm text into a classic program. Jump targets are labels; a conditional jump with one label
 * falls through on the other outcome (`jne`/`jlt`/`jle` set only the false target, as in bpf_asm).
 * Throws CbpfError with `line N:col: reason`.
 */
export function assembleClassic(text: string): SockFilter[] {
  const src0 = text.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' '));
  const labels = new Map<string, number>();
  const prog: Pending[] = [];
  src0.split('\n').forEach((raw, idx) => {
    const lineNo = idx + 1;
    if (raw.startsWith('#')) return;
    let toks = tokenize(raw, lineNo);
    while (toks.length >= 2 && toks[1]!.t === ':' && /^[A-Za-z_]/.test(toks[0]!.t)) {
      if (labels.has(toks[0]!.t)) throw new CbpfError(`line ${lineNo}: duplicate label '${toks[0]!.t}'`);
      labels.set(toks[0]!.t, prog.length);
      toks = toks.slice(2);
    }
    if (!toks.length) return;
    prog.push(parseInsn(toks, lineNo));
  });
  const resolve = (name: string, from: number, line: number, wide: boolean): number => {
    const at = labels.get(name);
    if (at === undefined) throw new CbpfError(`line ${line}: no such label '${name}'`);
    const d = at - from - 1;
    if (d < 0 || (!wide && d > 255)) throw new CbpfError(`line ${line}: jump to '${name}' is out of range`);
    return d;
  };
  return prog.map((p, pc) => {
    const i = { ...p.insn };
    if (p.ja !== undefined) i.k = resolve(p.ja, pc, p.line, true);
    if (p.jt !== undefined) i.jt = resolve(p.jt, pc, p.line, false);
    if (p.jf !== undefined) i.jf = resolve(p.jf, pc, p.line, false);
    return i;
  });
}

function parseInsn(toks: Tok[], line: number): Pending {
  let pos = 0;
  const fail = (why: string): never => {
    const col = toks[Math.min(pos, toks.length - 1)]?.col ?? 1;
    throw new CbpfError(`line ${line}:${col}: ${why}`);
  };
  const peek = () => toks[pos]?.t;
  const next = () => toks[pos++]?.t ?? fail('unexpected end of line');
  const expect = (t: string) => {
    if (next().toLowerCase() !== t.toLowerCase()) {
      pos--;
      fail(`expected '${t}'`);
    }
  };
  const num = (): number => {
    const t = next();
    const v = parseNumber(t);
    if (v === undefined) {
      pos--;
      fail(`expected a number, got '${t}'`);
    }
    return v!;
  };
  const done = () => {
    if (pos < toks.length) fail(`unexpected '${toks[pos]!.t}'`);
  };
  const isX = () => {
    if (peek() === '%') pos++;
    if (peek()?.toLowerCase() === 'x') {
      pos++;
      return true;
    }
    return false;
  };
  const ext = (): number | undefined => {
    const save = pos;
    if (peek() === '#') pos++;
    const name = peek()?.toLowerCase();
    if (name !== undefined && EXT_BY_NAME.has(name)) {
      pos++;
      return EXT_BY_NAME.get(name)!;
    }
    pos = save;
    return undefined;
  };
  const mnem = next().toLowerCase();
  const mk = (code: number, k = 0): SockFilter => ({ code, jt: 0, jf: 0, k: k >>> 0 });
  const result = (insn: SockFilter, extra: Partial<Pending> = {}): Pending => {
    done();
    return { insn, line, ...extra };
  };
  // Packet loads: ld/ldh/ldb [k], [x + k], extension.
  const load = (sz: number, allowWordForms: boolean): Pending => {
    const e = ext();
    if (e !== undefined) return result(mk(CClass.LD | sz | Mode.ABS, SKF_AD_OFF + e));
    if (allowWordForms) {
      if (peek() === '#') {
        pos++;
        if (peek()?.toLowerCase() === 'len') {
          pos++;
          return result(mk(CClass.LD | Size.W | CMode.LEN));
        }
        return result(mk(CClass.LD | Mode.IMM, num()));
      }
      if (peek()?.toLowerCase() === 'len') {
        pos++;
        return result(mk(CClass.LD | Size.W | CMode.LEN));
      }
      if (peek() === 'M') {
        pos++;
        expect('[');
        const k = num();
        expect(']');
        return result(mk(CClass.LD | Mode.MEM, k));
      }
    }
    expect('[');
    if (isX()) {
      expect('+');
      const k = num();
      expect(']');
      return result(mk(CClass.LD | sz | Mode.IND, k));
    }
    const k = num();
    expect(']');
    return result(mk(CClass.LD | sz | Mode.ABS, k));
  };
  const msh = (): Pending => {
    const four = num();
    expect('*');
    expect('(');
    expect('[');
    const k = num();
    expect(']');
    expect('&');
    const mask = num();
    expect(')');
    if (four !== 4 || mask !== 0xf) fail('only 4*([k]&0xf) is supported');
    return result(mk(CClass.LDX | Size.B | CMode.MSH, k));
  };
  const cond = (jop: number, style: 'both' | 'false-only'): Pending => {
    let code = CClass.JMP | jop;
    let k = 0;
    if (isX()) code |= Source.X;
    else {
      expect('#');
      k = num();
    }
    expect(',');
    const l1 = next();
    if (style === 'false-only') return result(mk(code, k), { jf: l1 });
    if (peek() === ',') {
      pos++;
      const l2 = next();
      return result(mk(code, k), { jt: l1, jf: l2 });
    }
    return result(mk(code, k), { jt: l1 });
  };
  switch (mnem) {
    case 'ld':
      return load(Size.W, true);
    case 'ldh':
      return load(Size.H, false);
    case 'ldb':
      return load(Size.B, false);
    case 'ldi':
      if (peek() === '#') pos++;
      return result(mk(CClass.LD | Mode.IMM, num()));
    case 'ldxi':
      if (peek() === '#') pos++;
      return result(mk(CClass.LDX | Mode.IMM, num()));
    case 'ldx':
      if (peek() === '#') {
        pos++;
        if (peek()?.toLowerCase() === 'len') {
          pos++;
          return result(mk(CClass.LDX | Size.W | CMode.LEN));
        }
        return result(mk(CClass.LDX | Mode.IMM, num()));
      }
      if (peek()?.toLowerCase() === 'len') {
        pos++;
        return result(mk(CClass.LDX | Size.W | CMode.LEN));
      }
      if (peek() === 'M') {
        pos++;
        expect('[');
        const k = num();
        expect(']');
        return result(mk(CClass.LDX | Mode.MEM, k));
      }
      return msh();
    case 'ldxb':
      return msh();
    case 'st':
    case 'stx': {
      expect('M');
      expect('[');
      const k = num();
      expect(']');
      return result(mk(mnem === 'st' ? CClass.ST : CClass.STX, k));
    }
    case 'ja':
    case 'jmp':
      return result(mk(CClass.JMP | JmpOp.JA), { ja: next() });
    case 'jeq':
      return cond(JmpOp.JEQ, 'both');
    case 'jgt':
      return cond(JmpOp.JGT, 'both');
    case 'jge':
      return cond(JmpOp.JGE, 'both');
    case 'jset':
      return cond(JmpOp.JSET, 'both');
    case 'jne':
    case 'jneq':
      return cond(JmpOp.JEQ, 'false-only');
    case 'jlt':
      return cond(JmpOp.JGE, 'false-only');
    case 'jle':
      return cond(JmpOp.JGT, 'false-only');
    case 'neg':
      return result(mk(CClass.ALU | AluOp.NEG));
    case 'tax':
      return result(mk(CClass.MISC | MiscOp.TAX));
    case 'txa':
      return result(mk(CClass.MISC | MiscOp.TXA));
    case 'ret': {
      if (peek() === '%') pos++;
      const t = peek()?.toLowerCase();
      if (t === 'a') {
        pos++;
        return result(mk(CClass.RET | Rval.A));
      }
      if (t === 'x') {
        pos++;
        return result(mk(CClass.RET | Rval.X));
      }
      expect('#');
      return result(mk(CClass.RET | Rval.K, num()));
    }
    default: {
      const aop = ALU_NAMES[mnem];
      if (aop === undefined) {
        pos--;
        return fail(`unknown instruction '${mnem}'`);
      }
      if (isX()) return result(mk(CClass.ALU | aop | Source.X));
      expect('#');
      return result(mk(CClass.ALU | aop, num()));
    }
  }
}

const hex = (k: number) => `0x${(k >>> 0).toString(16)}`;

/** The bpf_asm text of one instruction with jump targets given as label names. */
export function formatClassicInsn(i: SockFilter, target: (abs: number) => string, pc: number): string {
  const c = i.code;
  const sizeName = (s: number) => (s === Size.W ? 'ld' : s === Size.H ? 'ldh' : 'ldb');
  switch (cls(c)) {
    case CClass.LD:
      switch (mode(c)) {
        case Mode.ABS:
          if (isAncillary(i.k) && ANCILLARY_NAMES[(i.k | 0) - SKF_AD_OFF]) return `${sizeName(size(c))} #${ANCILLARY_NAMES[(i.k | 0) - SKF_AD_OFF]}`;
          return `${sizeName(size(c))} [${i.k | 0}]`;
        case Mode.IND:
          return `${sizeName(size(c))} [x + ${i.k | 0}]`;
        case Mode.IMM:
          return `ld #${hex(i.k)}`;
        case Mode.MEM:
          return `ld M[${i.k}]`;
        case CMode.LEN:
          return 'ld #len';
      }
      break;
    case CClass.LDX:
      switch (mode(c)) {
        case Mode.IMM:
          return `ldx #${hex(i.k)}`;
        case Mode.MEM:
          return `ldx M[${i.k}]`;
        case CMode.LEN:
          return 'ldx #len';
        case CMode.MSH:
          return `ldxb 4*([${i.k | 0}]&0xf)`;
      }
      break;
    case CClass.ST:
      return `st M[${i.k}]`;
    case CClass.STX:
      return `stx M[${i.k}]`;
    case CClass.ALU: {
      if (op(c) === AluOp.NEG) return 'neg';
      const name = ALU_BY_OP.get(op(c));
      if (!name) break;
      return src(c) ? `${name} x` : `${name} #${hex(i.k)}`;
    }
    case CClass.JMP: {
      if (op(c) === JmpOp.JA) return `ja ${target(pc + 1 + i.k)}`;
      const name = { [JmpOp.JEQ]: 'jeq', [JmpOp.JGT]: 'jgt', [JmpOp.JGE]: 'jge', [JmpOp.JSET]: 'jset' }[op(c)];
      if (!name) break;
      const operand = src(c) ? 'x' : `#${hex(i.k)}`;
      return `${name} ${operand}, ${target(pc + 1 + i.jt)}, ${target(pc + 1 + i.jf)}`;
    }
    case CClass.RET:
      if (c === (CClass.RET | Rval.A)) return 'ret a';
      if (c === (CClass.RET | Rval.X)) return 'ret x';
      if (c === (CClass.RET | Rval.K)) return `ret #${i.k >>> 0}`;
      break;
    case CClass.MISC:
      if (c === (CClass.MISC | MiscOp.TAX)) return 'tax';
      if (c === (CClass.MISC | MiscOp.TXA)) return 'txa';
      break;
  }
  throw new CbpfError(`insn ${pc}: unknown opcode 0x${c.toString(16)}`);
}

/** Disassemble into bpf_asm text (one instruction a line, `Ln:` labels on jump targets); reassembles exactly. */
export function disassembleClassic(prog: readonly SockFilter[]): string {
  const targets = new Set<number>();
  prog.forEach((i, pc) => {
    if (cls(i.code) !== CClass.JMP) return;
    if (op(i.code) === JmpOp.JA) targets.add(pc + 1 + i.k);
    else {
      targets.add(pc + 1 + i.jt);
      targets.add(pc + 1 + i.jf);
    }
  });
  const name = (abs: number) => `L${abs}`;
  const lines: string[] = [];
  prog.forEach((i, pc) => {
    const body = formatClassicInsn(i, name, pc);
    lines.push(targets.has(pc) ? `${name(pc)}: ${body}` : `\t${body}`);
  });
  return lines.join('\n') + '\n';
}
