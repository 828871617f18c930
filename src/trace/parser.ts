/** Parser: bpftrace source text → `Script` syntax tree. Every error is a one-line TraceSyntaxError. */
import type { AssignOp, BinOp, Expr, Loc, MapExpr, Probe, ProbeSpec, Script, Stmt, VarExpr } from './ast.js';
import { span, traceError, unsupported } from './errors.js';
import { Lexer, type Token } from './lexer.js';

/** Binary operators by precedence level, lowest first. */
const LEVELS: BinOp[][] = [['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '<=', '>', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];
const ASSIGN_OPS = new Set(['=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '<<=', '>>=']);
const CAST_TYPES = /^(u?int(8|16|32|64)|char|short|int|long|unsigned|signed|struct|union|enum|void|bool)$/;

/** Parse a bpftrace script. `file` names the source in error messages (default `stdin`). */
export function parseScript(src: string, file = 'stdin'): Script {
  return new Parser(src, file).script();
}

class Parser {
  private readonly lx: Lexer;
  private la: Token | undefined;
  /** Inside a predicate at paren depth 0, `/` closes the predicate. */
  private inPred = false;

  constructor(
    src: string,
    private readonly file: string,
  ) {
    this.lx = new Lexer(src, file);
  }

  private err(reason: string, loc: Loc): never {
    throw traceError(reason, loc, this.file);
  }

  private peek(): Token {
    return (this.la ??= this.lx.next());
  }
  private take(): Token {
    const t = this.peek();
    this.la = undefined;
    return t;
  }
  private isPunct(p: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.text === p;
  }
  private accept(p: string): Token | undefined {
    return this.isPunct(p) ? this.take() : undefined;
  }
  private expect(p: string, what = `"${p}"`): Token {
    const t = this.peek();
    if (t.kind !== 'punct' || t.text !== p) this.err(`syntax error, unexpected ${describe(t)}, expecting ${what}`, t.loc);
    return this.take();
  }

  script(): Script {
    const probes: Probe[] = [];
    while (!this.lx.atEnd()) probes.push(this.probe());
    if (!probes.length) this.err('No probes to attach', { line: 1, col: 1, endCol: 1 });
    return { probes };
  }

  private probe(): Probe {
    const specs: ProbeSpec[] = [];
    for (;;) {
      const t = this.lx.probeSpec();
      if (/^(struct|union|enum)$/.test(t.text)) throw unsupported('struct/union/enum definitions', t.loc, this.file);
      specs.push({ text: t.text, loc: t.loc });
      if (this.lx.peekChar() !== ',') break;
      this.lx.next();
    }
    let pred: Expr | undefined;
    if (this.lx.peekChar() === '/') {
      this.expect('/');
      this.inPred = true;
      pred = this.expr();
      this.inPred = false;
      this.expect('/', '"/" ending the predicate');
    }
    const open = this.peek();
    if (open.kind !== 'punct' || open.text !== '{') this.err(`syntax error, unexpected ${describe(open)}, expecting {`, open.loc);
    const body = this.block();
    this.la = undefined;
    return { specs, pred, body, loc: span(specs[0]!.loc, specs[specs.length - 1]!.loc) };
  }

  private block(): Stmt[] {
    this.expect('{');
    const out: Stmt[] = [];
    for (;;) {
      if (this.accept('}')) return out;
      if (this.accept(';')) continue;
      const s = this.stmt();
      out.push(s);
      if (s.kind === 'if') continue;
      if (this.accept(';')) continue;
      if (this.isPunct('}')) continue;
      const t = this.peek();
      this.err(`syntax error, unexpected ${describe(t)}, expecting ; or }`, t.loc);
    }
  }

  private stmt(): Stmt {
    const t = this.peek();
    if (t.kind === 'ident') {
      if (t.text === 'if') {
        this.take();
        this.expect('(');
        const saved = this.inPred;
        this.inPred = false;
        const cond = this.expr();
        this.inPred = saved;
        this.expect(')');
        const then = this.block();
        let els: Stmt[] | undefined;
        const e = this.peek();
        if (e.kind === 'ident' && e.text === 'else') {
          this.take();
          const n = this.peek();
          els = n.kind === 'ident' && n.text === 'if' ? [this.stmt()] : this.block();
        }
        return { kind: 'if', cond, then, else: els, loc: t.loc };
      }
      if (['unroll', 'while', 'for', 'return', 'break', 'continue'].includes(t.text)) throw unsupported(`"${t.text}"`, t.loc, this.file);
    }
    const e = this.expr();
    const op = this.peek();
    if (op.kind === 'punct' && ASSIGN_OPS.has(op.text)) {
      if (e.kind !== 'map' && e.kind !== 'var') this.err('syntax error, can only assign to a map (@x) or a variable ($x)', op.loc);
      this.take();
      const value = this.expr();
      return { kind: 'assign', target: e as MapExpr | VarExpr, op: op.text as AssignOp, value, loc: span(e.loc, value.loc) };
    }
    return { kind: 'expr', expr: e, loc: e.loc };
  }

  expr(): Expr {
    const cond = this.binary(0);
    const q = this.accept('?');
    if (!q) return cond;
    const then = this.expr();
    this.expect(':');
    const els = this.expr();
    return { kind: 'ternary', cond, then, else: els, loc: span(cond.loc, els.loc) };
  }

  private binary(level: number): Expr {
    if (level >= LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'punct' || !(LEVELS[level] as string[]).includes(t.text)) return left;
      if (t.text === '/' && this.inPred) return left;
      this.take();
      const right = this.binary(level + 1);
      left = { kind: 'binop', op: t.text as BinOp, left, right, loc: span(left.loc, right.loc) };
    }
  }

  private unary(): Expr {
    const t = this.peek();
    if (t.kind === 'punct') {
      if (t.text === '!' || t.text === '-' || t.text === '~') {
        this.take();
        const e = this.unary();
        if (t.text === '-' && e.kind === 'int') return { kind: 'int', value: -e.value, loc: span(t.loc, e.loc) };
        return { kind: 'unop', op: t.text, expr: e, loc: span(t.loc, e.loc) };
      }
      if (t.text === '++' || t.text === '--') {
        this.take();
        const e = this.unary();
        if (e.kind !== 'map' && e.kind !== 'var') this.err(`syntax error, ${t.text} needs a map or a variable`, e.loc);
        return { kind: 'incdec', op: t.text, prefix: true, target: e, loc: span(t.loc, e.loc) };
      }
      if (t.text === '*' || t.text === '&') {
        this.take();
        const e = this.unary();
        throw unsupported(t.text === '*' ? 'Pointer dereference' : 'Address-of (&)', span(t.loc, e.loc), this.file);
      }
    }
    return this.postfix(this.primary());
  }

  private postfix(e: Expr): Expr {
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'punct') return e;
      if (t.text === '->' || t.text === '.') {
        this.take();
        const f = this.take();
        if (f.kind !== 'ident') this.err(`syntax error, unexpected ${describe(f)}, expecting field name`, f.loc);
        e = { kind: 'field', expr: e, field: f.text, loc: span(e.loc, f.loc) };
      } else if (t.text === '++' || t.text === '--') {
        if (e.kind !== 'map' && e.kind !== 'var') return e;
        this.take();
        e = { kind: 'incdec', op: t.text, prefix: false, target: e, loc: span(e.loc, t.loc) };
      } else if (t.text === '[') {
        throw unsupported('Array/pointer indexing', t.loc, this.file);
      } else return e;
    }
  }

  private withoutPred<T>(f: () => T): T {
    const saved = this.inPred;
    this.inPred = false;
    try {
      return f();
    } finally {
      this.inPred = saved;
    }
  }

  private primary(): Expr {
    const t = this.take();
    switch (t.kind) {
      case 'int':
        return { kind: 'int', value: t.value!, loc: t.loc };
      case 'str':
        return { kind: 'str', value: t.text, loc: t.loc };
      case 'var':
        if (/^[0-9]+$/.test(t.text)) throw unsupported('Positional parameters ($1...)', t.loc, this.file);
        return { kind: 'var', name: t.text, loc: t.loc };
      case 'map': {
        const keys: Expr[] = [];
        let loc = t.loc;
        if (this.isPunct('[')) {
          this.take();
          this.withoutPred(() => {
            do keys.push(this.expr());
            while (this.accept(','));
          });
          loc = span(t.loc, this.expect(']').loc);
        }
        return { kind: 'map', name: t.text, keys, loc };
      }
      case 'ident': {
        if (this.isPunct('(')) {
          this.take();
          const args: Expr[] = [];
          this.withoutPred(() => {
            if (!this.isPunct(')')) {
              do args.push(this.expr());
              while (this.accept(','));
            }
          });
          const close = this.expect(')');
          return { kind: 'call', name: t.text, args, loc: span(t.loc, close.loc) };
        }
        return { kind: 'builtin', name: t.text, loc: t.loc };
      }
      case 'punct':
        if (t.text === '(') {
          const n = this.peek();
          if (n.kind === 'ident' && CAST_TYPES.test(n.text)) throw unsupported('Casts', span(t.loc, n.loc), this.file);
          const e = this.withoutPred(() => this.expr());
          this.expect(')');
          return e;
        }
        if (t.text === '{' || t.text === '}') this.err(`syntax error, unexpected ${describe(t)}`, t.loc);
        break;
    }
    this.err(`syntax error, unexpected ${describe(t)}`, t.loc);
  }
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of file';
  if (t.kind === 'str') return 'string';
  if (t.kind === 'int') return 'integer';
  if (t.kind === 'map') return `map @${t.text}`;
  if (t.kind === 'var') return `variable $${t.text}`;
  return t.text;
}
