/** Parser: bpftrace source text → `Script` syntax tree. Every error is a one-line TraceSyntaxError. */
import type { AssignOp, BinOp, EnumConst, Expr, Loc, MapExpr, Probe, ProbeSpec, Script, Stmt, StructDef, TypeRef, VarExpr } from './ast.js';
import { span, traceError, unsupported } from './errors.js';
import { Lexer, type Token } from './lexer.js';

/** Binary operators by precedence level, lowest first. */
const LEVELS: BinOp[][] = [['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '<=', '>', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];
const ASSIGN_OPS = new Set(['=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '<<=', '>>=']);
const CAST_TYPES = /^(u?int(8|16|32|64)|char|short|int|long|unsigned|signed|struct|union|enum|void|bool)$/;
const INT_TYPE = /^(u?)int(8|16|32|64)$/;

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
    const structs: StructDef[] = [];
    const enums: EnumConst[] = [];
    while (!this.lx.atEnd()) {
      const m = this.lx.mark();
      const t = this.lx.probeSpec();
      if (/^(struct|union)$/.test(t.text)) {
        structs.push(this.structDef(t.text as 'struct' | 'union', t.loc));
        continue;
      }
      if (t.text === 'enum') {
        this.enumDef(enums);
        continue;
      }
      this.lx.reset(m);
      probes.push(this.probe());
    }
    if (!probes.length) this.err('No probes to attach', { line: 1, col: 1, endCol: 1 });
    return { probes, structs, enums };
  }

  /** `enum [NAME] { A, B = 5, C = -1, };` after the `enum` keyword: enumerators count up from the last value. */
  private enumDef(out: EnumConst[]): void {
    if (this.peek().kind === 'ident') this.take();
    this.expect('{');
    let next = 0n;
    while (!this.accept('}')) {
      const n = this.take();
      if (n.kind !== 'ident') this.err(`syntax error, unexpected ${describe(n)}, expecting enumerator name`, n.loc);
      if (this.accept('=')) {
        const neg = !!this.accept('-');
        const v = this.take();
        if (v.kind !== 'int') this.err(`syntax error, unexpected ${describe(v)}, expecting an integer enumerator value`, v.loc);
        next = neg ? -v.value! : v.value!;
      }
      if (out.some((x) => x.name === n.text)) this.err(`Redefinition of enumerator '${n.text}'`, n.loc);
      out.push({ name: n.text, value: next, loc: n.loc });
      next++;
      if (!this.accept(',')) {
        this.expect('}', '"," or "}"');
        break;
      }
    }
    if (this.lx.peekChar() === ';') this.lx.next();
  }

  /** `struct NAME { TYPE NAME[N]...; ... };` after the `struct`/`union` keyword. */
  private structDef(kind: 'struct' | 'union', at: Loc): StructDef {
    const name = this.take();
    if (name.kind !== 'ident') this.err(`syntax error, unexpected ${describe(name)}, expecting struct name`, name.loc);
    this.expect('{');
    const members: StructDef['members'] = [];
    while (!this.accept('}')) {
      // Type words, then stars, then the member name (the last identifier), then [N]s.
      const words: string[] = [];
      let stars = '';
      let first: Loc | undefined;
      for (;;) {
        const t = this.peek();
        if (t.kind === 'ident') {
          words.push(this.take().text);
          first ??= t.loc;
        } else if (t.kind === 'punct' && t.text === '*') {
          this.take();
          stars += '*';
        } else break;
      }
      if (words.length < 2) {
        const t = this.peek();
        this.err(`syntax error, unexpected ${describe(t)}, expecting a member declaration (type name;)`, t.loc);
      }
      const mname = words.pop()!;
      const array: number[] = [];
      while (this.accept('[')) {
        const n = this.take();
        if (n.kind !== 'int') this.err(`syntax error, unexpected ${describe(n)}, expecting array size`, n.loc);
        array.push(Number(n.value));
        this.expect(']');
      }
      this.expect(';');
      members.push({ type: words.join(' ') + (stars ? ' ' + stars : ''), name: mname, array, loc: first! });
    }
    if (this.lx.peekChar() === ';') this.lx.next();
    return { kind, name: name.text, members, loc: span(at, name.loc) };
  }

  private probe(): Probe {
    const specs: ProbeSpec[] = [];
    for (;;) {
      const t = this.lx.probeSpec();
      if (/^(struct|union|enum)$/.test(t.text)) throw unsupported('struct/union/enum definitions after a probe spec', t.loc, this.file);
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
      if (s.kind === 'if' || s.kind === 'while' || s.kind === 'unroll' || s.kind === 'for') continue;
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
      if (t.text === 'while') {
        this.take();
        this.expect('(');
        const cond = this.withoutPred(() => this.expr());
        this.expect(')');
        return { kind: 'while', cond, body: this.block(), loc: t.loc };
      }
      if (t.text === 'unroll') {
        this.take();
        this.expect('(');
        const n = this.peek();
        let count: Expr;
        if (n.kind === 'int' || (n.kind === 'punct' && n.text === '-') || (n.kind === 'var' && /^([0-9]+|#)$/.test(n.text))) count = this.unary();
        else this.err(`syntax error, unexpected ${describe(n)}, expecting $# or - or positional parameter or integer`, span(t.loc, n.loc));
        const close = this.expect(')');
        return { kind: 'unroll', count, body: this.block(), loc: span(t.loc, close.loc) };
      }
      if (t.text === 'break' || t.text === 'continue' || t.text === 'return') {
        this.take();
        return { kind: 'jump', what: t.text, loc: t.loc };
      }
      if (t.text === 'for') {
        this.take();
        this.expect('(');
        const v = this.take();
        if (v.kind !== 'var' || /^([0-9]+|#)$/.test(v.text) || !this.isPunct(':')) throw unsupported('"for" other than for ($kv : @map)', span(t.loc, v.loc), this.file);
        this.take();
        const m = this.take();
        if (m.kind !== 'map') this.err(`syntax error, unexpected ${describe(m)}, expecting map`, m.loc);
        if (this.isPunct('[')) this.err('syntax error, for loops iterate over a whole map (no [keys])', this.peek().loc);
        const close = this.expect(')');
        return { kind: 'for', var: v.text, map: { kind: 'map', name: m.text, keys: [], loc: m.loc }, body: this.block(), loc: span(t.loc, close.loc) };
      }
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
      if (t.text === '*') {
        this.take();
        const e = this.unary();
        return { kind: 'deref', expr: e, loc: span(t.loc, e.loc) };
      }
      if (t.text === '&') {
        this.take();
        const e = this.unary();
        throw unsupported('Address-of (&)', span(t.loc, e.loc), this.file);
      }
      if (t.text === '(') {
        // A cast: `(type)` followed by a unary expression.
        const m = this.lx.mark();
        this.take();
        const n = this.peek();
        if (n.kind === 'ident' && CAST_TYPES.test(n.text)) {
          const type = this.typeRef();
          const close = this.expect(')');
          const typeLoc = span(t.loc, close.loc);
          const e = this.unary();
          return { kind: 'cast', type, expr: e, typeLoc, loc: span(typeLoc, e.loc) };
        }
        this.lx.reset(m);
        this.la = t;
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
        // `.0` / `.1`: tuple elements (the key and value of a for loop's variable).
        const tuple = t.text === '.' && f.kind === 'int' && /^[0-9]+$/.test(f.text);
        if (f.kind !== 'ident' && !tuple) this.err(`syntax error, unexpected ${describe(f)}, expecting field name`, f.loc);
        e = { kind: 'field', expr: e, field: f.text, arrow: t.text === '->', loc: span(e.loc, f.loc) };
      } else if (t.text === '++' || t.text === '--') {
        if (e.kind !== 'map' && e.kind !== 'var') return e;
        this.take();
        e = { kind: 'incdec', op: t.text, prefix: false, target: e, loc: span(e.loc, t.loc) };
      } else if (t.text === '[') {
        if (e.kind === 'map') return e;
        this.take();
        const index = this.withoutPred(() => this.expr());
        const close = this.expect(']');
        e = { kind: 'index', expr: e, index, loc: span(e.loc, close.loc) };
      } else return e;
    }
  }

  /** A cast's type after `(`: `uint8`, `struct foo *`, `union u`. C spellings (`int`, `char`) are errors, like bpftrace. */
  private typeRef(): TypeRef {
    const w = this.take();
    let ref: TypeRef;
    let loc = w.loc;
    const im = INT_TYPE.exec(w.text);
    if (im) ref = { base: 'int', bits: Number(im[2]), signed: !im[1], ptr: 0, text: w.text };
    else if (w.text === 'struct' || w.text === 'union') {
      const n = this.take();
      if (n.kind !== 'ident') this.err(`syntax error, unexpected ${describe(n)}, expecting struct name`, n.loc);
      ref = { base: 'record', name: `${w.text} ${n.text}`, ptr: 0, text: `${w.text} ${n.text}` };
      loc = span(w.loc, n.loc);
    } else this.err(`Unknown struct/union: '${w.text}'`, { ...loc, col: loc.col - 1, endCol: loc.endCol + 1 });
    while (this.accept('*')) {
      ref.ptr++;
      ref.text += ref.ptr === 1 ? ' *' : '*';
    }
    return ref;
  }

  /** `sizeof(TYPE | expr)` / `offsetof(TYPE | expr, field[.field...])` after the name. */
  private sizeofCall(name: Token): Expr {
    this.expect('(');
    return this.withoutPred(() => {
      const n = this.peek();
      let type: TypeRef | undefined;
      let typeLoc: Loc | undefined;
      let expr: Expr | undefined;
      if (n.kind === 'ident' && (INT_TYPE.test(n.text) || n.text === 'struct' || n.text === 'union')) {
        const first = n.loc;
        type = this.typeRef();
        typeLoc = span(first, first);
        typeLoc = { ...first, endCol: first.endCol + type.text.length - n.text.length };
      } else expr = this.expr();
      if (name.text === 'sizeof') {
        const close = this.expect(')');
        return { kind: 'sizeof', type, expr, typeLoc, loc: span(name.loc, close.loc) };
      }
      this.expect(',');
      const fields: string[] = [];
      do {
        const f = this.take();
        if (f.kind !== 'ident') this.err(`syntax error, unexpected ${describe(f)}, expecting field name`, f.loc);
        fields.push(f.text);
      } while (this.accept('.'));
      const close = this.expect(')');
      return { kind: 'offsetof', type, expr, fields, typeLoc, loc: span(name.loc, close.loc) };
    });
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
        if (t.text === '#') return { kind: 'positional', n: '#', loc: t.loc };
        if (/^[0-9]+$/.test(t.text)) {
          if (Number(t.text) < 1) this.err('param $0 is out of range', t.loc);
          return { kind: 'positional', n: Number(t.text), loc: t.loc };
        }
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
        if ((t.text === 'sizeof' || t.text === 'offsetof') && this.isPunct('(')) return this.sizeofCall(t);
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
