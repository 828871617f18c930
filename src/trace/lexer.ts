/**
 * Tokens of the bpftrace language. The lexer has two modes: ordinary tokens (inside predicates and actions)
 * and probe specs (at the top level, where `uprobe:/bin/bash:readline` is one word). Comments (`//`, `/* *\/`)
 * and `#include`-style preprocessor lines are skipped.
 */
import type { Loc } from './ast.js';
import { traceError } from './errors.js';

export type TokKind = 'int' | 'str' | 'ident' | 'var' | 'map' | 'punct' | 'eof';

export interface Token {
  kind: TokKind;
  /** Identifier / punctuation text, the map or variable name without sigil, or the decoded string. */
  text: string;
  /** Integer value for `int` tokens. */
  value?: bigint;
  loc: Loc;
}

const PUNCT = [
  '<<=', '>>=', '++', '--', '->', '==', '!=', '<=', '>=', '&&', '||', '<<', '>>', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=',
  '{', '}', '(', ')', '[', ']', ',', ';', ':', '?', '.', '+', '-', '*', '/', '%', '&', '|', '^', '!', '~', '<', '>', '=',
];

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v' };

/** Characters of a probe spec word. */
const SPEC_CHAR = /[A-Za-z0-9_:*?.\-+\[\]@\/]/;

export class Lexer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;

  constructor(
    readonly src: string,
    readonly file = 'stdin',
  ) {}

  private loc(start: number, startLine: number, startLineStart: number): Loc {
    return { line: startLine, col: start - startLineStart + 1, endCol: Math.max(start - startLineStart + 1, this.pos - startLineStart) };
  }

  private err(reason: string, at = this.pos): never {
    throw traceError(reason, { line: this.line, col: at - this.lineStart + 1, endCol: at - this.lineStart + 1 }, this.file);
  }

  /** Skip whitespace, comments and preprocessor lines. */
  skipSpace(): void {
    const s = this.src;
    for (;;) {
      const c = s[this.pos];
      if (c === '\n') {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === ' ' || c === '\t' || c === '\r') this.pos++;
      else if (c === '/' && s[this.pos + 1] === '/') {
        while (this.pos < s.length && s[this.pos] !== '\n') this.pos++;
      } else if (c === '/' && s[this.pos + 1] === '*') {
        const end = s.indexOf('*/', this.pos + 2);
        if (end < 0) this.err('unterminated comment');
        for (let i = this.pos; i < end; i++) {
          if (s[i] === '\n') {
            this.line++;
            this.lineStart = i + 1;
          }
        }
        this.pos = end + 2;
      } else if (c === '#' && this.pos === this.lineStart) {
        while (this.pos < s.length && s[this.pos] !== '\n') this.pos++;
      } else return;
    }
  }

  /** The next non-space character without consuming it. */
  peekChar(): string | undefined {
    this.skipSpace();
    return this.src[this.pos];
  }

  atEnd(): boolean {
    return this.peekChar() === undefined;
  }

  /** Save / restore for lookahead. */
  mark(): [number, number, number] {
    return [this.pos, this.line, this.lineStart];
  }
  reset(m: [number, number, number]): void {
    [this.pos, this.line, this.lineStart] = m;
  }

  /**
   * A probe spec word at the top level. A `/` ends the word (it starts a predicate) unless the spec is a
   * uprobe-like one whose path it is part of, and it follows no whitespace.
   */
  probeSpec(): Token {
    this.skipSpace();
    const start = this.pos;
    const s = this.src;
    while (this.pos < s.length && SPEC_CHAR.test(s[this.pos]!)) {
      if (s[this.pos] === '/') {
        const word = s.slice(start, this.pos);
        if (!/^(uprobe|uretprobe|u|ur|usdt|U):/.test(word)) break;
      }
      this.pos++;
    }
    if (this.pos === start) this.err(`syntax error, unexpected ${JSON.stringify(s[this.pos] ?? 'end of file')}, expecting probe`);
    return { kind: 'ident', text: s.slice(start, this.pos), loc: this.loc(start, this.line, this.lineStart) };
  }

  /** The next ordinary token. */
  next(): Token {
    this.skipSpace();
    const s = this.src;
    const start = this.pos;
    const line = this.line;
    const ls = this.lineStart;
    const c = s[this.pos];
    if (c === undefined) return { kind: 'eof', text: 'end of file', loc: this.loc(start, line, ls) };
    if (/[0-9]/.test(c)) {
      const m = /^(0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)(e[0-9]+)?/.exec(s.slice(this.pos))!;
      this.pos += m[0].length;
      if (/[A-Za-z_]/.test(s[this.pos] ?? '')) this.err(`invalid integer literal`, start);
      let v = m[1]!.startsWith('0b') || m[1]!.startsWith('0B') ? BigInt('0b' + m[1]!.slice(2)) : BigInt(m[1]!);
      if (m[2]) v *= 10n ** BigInt(m[2].slice(1));
      if (v > 0xffffffffffffffffn) this.err('integer literal out of range', start);
      return { kind: 'int', text: m[0], value: v, loc: this.loc(start, line, ls) };
    }
    if (c === '"') {
      this.pos++;
      let out = '';
      for (;;) {
        const ch = s[this.pos];
        if (ch === undefined || ch === '\n') this.err('unterminated string', start);
        this.pos++;
        if (ch === '"') break;
        if (ch === '\\') {
          const e = s[this.pos];
          if (e === undefined) this.err('unterminated string', start);
          this.pos++;
          if (e === 'x') {
            const h = /^[0-9a-fA-F]{1,2}/.exec(s.slice(this.pos));
            if (!h) this.err('invalid \\x escape', this.pos - 2);
            out += String.fromCharCode(parseInt(h[0], 16));
            this.pos += h[0].length;
          } else if (/[0-7]/.test(e)) {
            const o = /^[0-7]{1,3}/.exec(s.slice(this.pos - 1))!;
            out += String.fromCharCode(parseInt(o[0], 8) & 0xff);
            this.pos += o[0].length - 1;
          } else if (ESCAPES[e] !== undefined) out += ESCAPES[e];
          else this.err(`invalid escape character '\\${e}'`, this.pos - 2);
        } else out += ch;
      }
      return { kind: 'str', text: out, loc: this.loc(start, line, ls) };
    }
    if (c === '$' && s[this.pos + 1] === '#') {
      this.pos += 2;
      return { kind: 'var', text: '#', loc: this.loc(start, line, ls) };
    }
    if (c === '$' || c === '@') {
      this.pos++;
      const m = /^[A-Za-z_0-9]*/.exec(s.slice(this.pos))!;
      this.pos += m[0].length;
      if (c === '$' && !m[0]) this.err('syntax error, unexpected $', start);
      return { kind: c === '$' ? 'var' : 'map', text: m[0], loc: this.loc(start, line, ls) };
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z_0-9]*/.exec(s.slice(this.pos))!;
      this.pos += m[0].length;
      return { kind: 'ident', text: m[0], loc: this.loc(start, line, ls) };
    }
    for (const p of PUNCT) {
      if (s.startsWith(p, this.pos)) {
        this.pos += p.length;
        return { kind: 'punct', text: p, loc: this.loc(start, line, ls) };
      }
    }
    this.err(`syntax error, unexpected character ${JSON.stringify(c)}`);
  }
}
