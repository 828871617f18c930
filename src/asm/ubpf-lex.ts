/**
 * Tokenizer for one line of uBPF / bpf_conformance assembly: registers `%rN`, memory operands `[%rN+off]`,
 * integer literals, words (mnemonics, labels, keywords) and punctuation. Comments start at `#` or `;`.
 */
import { NUM_REGS } from '../isa/index.js';
import type { Loc } from './builder.js';
import { off16, parseIntLiteral, type IntLiteral } from './numbers.js';

export type UbpfToken =
  | { k: 'reg'; reg: number; text: string; col: number }
  | { k: 'mem'; reg: number; off: number; text: string; col: number }
  | { k: 'num'; lit: IntLiteral; text: string; col: number }
  | { k: 'word'; text: string; col: number }
  | { k: 'punct'; text: string; col: number };

/** Thrown by the tokenizer with a 1-based column; the assembler converts it to an `AsmError`. */
export type Fail = (reason: string, loc: Loc) => never;

const IDENT_START = /[A-Za-z_.$]/;
const IDENT = /[A-Za-z0-9_.$]/;

/** Parse `%rN` (or bare `rN`) into a register number, or a reason. */
export function parseUbpfReg(text: string): number | string {
  const m = /^%?r(\d+)$/.exec(text);
  if (!m) return `invalid register ${text}`;
  const n = Number(m[1]);
  if (n >= NUM_REGS || String(n) !== m[1]) return `invalid register ${text}`;
  return n;
}

/** Tokenize `text` (one source line, already without its newline). */
export function lexUbpf(text: string, line: number, fail: Fail): UbpfToken[] {
  const out: UbpfToken[] = [];
  let i = 0;
  const n = text.length;
  const at = (pos: number): Loc => ({ line, column: pos + 1 });
  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '#' || c === ';') break;
    const start = i;
    if (c === '%') {
      i++;
      while (i < n && IDENT.test(text[i]!)) i++;
      const word = text.slice(start, i);
      const reg = parseUbpfReg(word);
      if (typeof reg === 'string') fail(reg, at(start));
      out.push({ k: 'reg', reg, text: word, col: start + 1 });
      continue;
    }
    if (c === '[') {
      const close = text.indexOf(']', i);
      if (close < 0) fail('missing ] in memory operand', at(start));
      const inner = text.slice(i + 1, close);
      const m = /^\s*(%?[A-Za-z0-9_]*)\s*(?:([+-])\s*([0-9A-Za-z_]+)\s*)?$/.exec(inner);
      if (!m || !m[1]) fail(`malformed memory operand ${text.slice(start, close + 1)} (expected [%rN+off])`, at(start));
      const reg = parseUbpfReg(m[1]);
      if (typeof reg === 'string') fail(reg, at(start + 1 + inner.indexOf(m[1])));
      let off = 0;
      if (m[2]) {
        const lit = parseIntLiteral(m[2] + m[3]!);
        if (!lit) fail(`invalid offset ${m[2]}${m[3]}`, at(start));
        const o = off16(lit);
        if (typeof o === 'string') fail(o, at(start));
        off = o;
      }
      i = close + 1;
      out.push({ k: 'mem', reg, off, text: text.slice(start, i), col: start + 1 });
      continue;
    }
    if (/[0-9]/.test(c) || ((c === '+' || c === '-') && /[0-9]/.test(text[i + 1] ?? ''))) {
      i++;
      while (i < n && /[0-9A-Za-z_]/.test(text[i]!)) i++;
      const word = text.slice(start, i);
      const lit = parseIntLiteral(word);
      if (!lit) fail(`invalid number ${word}`, at(start));
      out.push({ k: 'num', lit, text: word, col: start + 1 });
      continue;
    }
    if (IDENT_START.test(c)) {
      while (i < n && IDENT.test(text[i]!)) i++;
      out.push({ k: 'word', text: text.slice(start, i), col: start + 1 });
      continue;
    }
    if (c === ',' || c === '(' || c === ')' || c === ':') {
      i++;
      out.push({ k: 'punct', text: c, col: start + 1 });
      continue;
    }
    fail(`unexpected character '${c}'`, at(start));
  }
  return out;
}
