/**
 * The parser of the pcap filter language. It follows libpcap's grammar (grammar.y) and runs the code
 * generator in the same order as libpcap's reductions, which matters: `vlan` moves the offsets of every
 * test parsed after it. `and` and `or` have equal precedence and associate to the left; `not` binds
 * tighter; a bare id after `and`/`or` inherits the qualifiers before it (`host a or b`, `port 80 or 443`).
 */
import { CbpfError } from '../../errors.js';
import { AluOp, JmpOp } from '../opcodes.js';
import { type Arth, type CodeGen, type Dir, type Expr, type Proto, type Qual, DLT, QERR, and, not, or } from './gencode.js';
import type { Token } from './lexer.js';
import { ETHER_PROTOS, LLC_PROTOS, etherByName, hostByName, parseIPv6, parseMac, portByName, protoByName } from './names.js';

const PNAMES = new Set<string>([
  'link', 'ip', 'arp', 'rarp', 'sctp', 'tcp', 'udp', 'icmp', 'igmp', 'igrp', 'pim', 'vrrp', 'carp', 'atalk', 'aarp',
  'decnet', 'lat', 'sca', 'moprc', 'mopdl', 'ip6', 'icmp6', 'ah', 'esp', 'iso', 'esis', 'isis', 'l1', 'l2', 'iih',
  'lsp', 'snp', 'csnp', 'psnp', 'clnp', 'stp', 'ipx', 'netbeui', 'radio',
]);
const DQUALS = new Set(['src', 'dst', 'addr1', 'addr2', 'addr3', 'addr4', 'ra', 'ta']);
const AQUALS = new Set(['host', 'net', 'port', 'portrange']);
const UNSUPPORTED = new Set([
  'inbound', 'outbound', 'ifindex', 'mpls', 'pppoed', 'pppoes', 'geneve', 'llc', 'lane', 'metac', 'bcc', 'oam', 'oamf4',
  'oamf4ec', 'oamf4sc', 'sc', 'ilmic', 'vpi', 'vci', 'connectmsg', 'metaconnect', 'ifname', 'ruleset', 'rulenum',
  'subrulenum', 'reason', 'action', 'fisu', 'lssu', 'msu', 'hfisu', 'hlssu', 'hmsu', 'sio', 'opc', 'dpc', 'sls',
  'hsio', 'hopc', 'hdpc', 'hsls', 'type', 'subtype', 'dir',
]);
const RELOPS: Record<string, [number, boolean]> = {
  '>': [JmpOp.JGT, false],
  '>=': [JmpOp.JGE, false],
  '=': [JmpOp.JEQ, false],
  '<=': [JmpOp.JGT, true],
  '<': [JmpOp.JGE, true],
  '!=': [JmpOp.JEQ, true],
};
const BINOPS: Record<string, [number, number]> = {
  '|': [1, AluOp.OR],
  '&': [2, AluOp.AND],
  '<<': [3, AluOp.LSH],
  '>>': [3, AluOp.RSH],
  '+': [4, AluOp.ADD],
  '-': [4, AluOp.SUB],
  '*': [5, AluOp.MUL],
  '/': [5, AluOp.DIV],
};

interface BQ {
  b: Expr;
  q: Qual;
}

/** Parse and generate; returns the expression, or undefined for an empty filter (accept everything). */
export function parseFilter(toks: Token[], gen: CodeGen): Expr | undefined {
  return new Parser(toks, gen).prog();
}

class Parser {
  private p = 0;
  constructor(
    private readonly toks: Token[],
    private readonly gen: CodeGen,
  ) {}

  // ---- token helpers ------------------------------------------------------------------------------
  private peek(n = 0): Token {
    return this.toks[Math.min(this.p + n, this.toks.length - 1)]!;
  }
  private is(t: Token, kind: string, text?: string): boolean {
    if (kind === 'kw' || kind === 'op') return t.kind === kind && (text === undefined || t.text === text);
    return t.kind === kind;
  }
  private isKw(text: string, n = 0): boolean {
    return this.is(this.peek(n), 'kw', text);
  }
  private isOp(text: string, n = 0): boolean {
    return this.is(this.peek(n), 'op', text);
  }
  private next(): Token {
    return this.toks[this.p++]!;
  }
  private syntax(t: Token = this.peek()): never {
    throw new CbpfError(t.kind === 'EOF' ? 'syntax error: unexpected end of expression' : `syntax error near '${t.text}'`, t.pos);
  }
  private expectOp(text: string): Token {
    if (!this.isOp(text)) this.syntax();
    return this.next();
  }
  /** Run a generator call, tagging its errors with the position of the construct. */
  private at<T>(pos: number, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof CbpfError && e.position === undefined) throw new CbpfError(e.message, pos);
      throw e;
    }
  }

  // ---- grammar ------------------------------------------------------------------------------------
  prog(): Expr | undefined {
    if (this.peek().kind === 'EOF') return undefined;
    const r = this.expr(QERR);
    if (this.peek().kind !== 'EOF') this.syntax();
    return r.b;
  }

  private expr(ctx: Qual): BQ {
    let r = this.term(ctx);
    while (this.isKw('and') || this.isKw('or')) {
      const isAnd = this.next().text === 'and';
      const rhs = this.startsBareId() ? this.id(r.q) : this.term(r.q);
      r = { b: isAnd ? and(r.b, rhs.b) : or(r.b, rhs.b), q: rhs.q };
    }
    return r;
  }

  /** After `and`/`or`: does a bare (qualifier-inheriting) id follow rather than a term? */
  private startsBareId(): boolean {
    let n = 0;
    while (this.isKw('!', n)) n++;
    let t = this.peek(n);
    if (this.is(t, 'op', '(')) {
      n++;
      while (this.isKw('!', n)) n++;
      t = this.peek(n);
    }
    if (t.kind === 'ID' || t.kind === 'HID' || t.kind === 'HID6' || t.kind === 'EID' || t.kind === 'AID') return true;
    if (t.kind === 'NUM') {
      const f = this.peek(n + 1);
      return f.kind === 'EOF' || this.is(f, 'kw', 'and') || this.is(f, 'kw', 'or') || this.is(f, 'op', ')');
    }
    return false;
  }

  private term(ctx: Qual): BQ {
    if (this.isKw('!')) {
      this.next();
      const r = this.term(ctx);
      return { b: not(r.b), q: r.q };
    }
    return this.rterm(ctx);
  }

  /** Scan ahead at paren depth 0 for a relational operator before and/or/end: `arth relop arth`. */
  private looksLikeRelation(): boolean {
    let depth = 0;
    for (let n = 0; ; n++) {
      const t = this.peek(n);
      if (t.kind === 'EOF') return false;
      if (t.kind === 'op' && (t.text === '(' || t.text === '[')) depth++;
      else if (t.kind === 'op' && (t.text === ')' || t.text === ']')) {
        if (depth === 0) return false;
        depth--;
      } else if (depth === 0 && t.kind === 'kw' && (t.text === 'and' || t.text === 'or')) return false;
      else if (depth === 0 && t.kind === 'op' && RELOPS[t.text]) return true;
    }
  }

  private rterm(ctx: Qual): BQ {
    const t = this.peek();
    if (this.is(t, 'op', '(')) {
      if (this.looksLikeRelation()) return { b: this.relation(), q: QERR };
      this.next();
      const r = this.expr(ctx);
      this.expectOp(')');
      return { b: r.b, q: ctx };
    }
    if (t.kind === 'NUM' || this.is(t, 'op', '-') || this.is(t, 'kw', 'len')) return { b: this.relation(), q: QERR };
    if (t.kind === 'kw') {
      if (PNAMES.has(t.text)) {
        const n1 = this.peek(1);
        if (this.is(n1, 'op', '[')) return { b: this.relation(), q: QERR };
        if (this.startsHeadTail(1)) return this.headId(t.text as Proto);
        if (this.is(n1, 'kw', 'broadcast') || this.is(n1, 'kw', 'multicast')) {
          this.next();
          return { b: this.other(t.text as Proto), q: QERR };
        }
        this.next();
        return { b: this.at(t.pos, () => this.gen.protoAbbrev(t.text as Proto)), q: QERR };
      }
      if (this.startsHeadTail(0)) return this.headId('default');
      return { b: this.other('default'), q: QERR };
    }
    return this.syntax(t);
  }

  private startsHeadTail(n: number): boolean {
    const t = this.peek(n);
    return t.kind === 'kw' && (DQUALS.has(t.text) || AQUALS.has(t.text) || t.text === 'proto' || t.text === 'protochain' || t.text === 'gateway');
  }

  private headId(proto: Proto): BQ {
    if (proto !== 'default') this.next();
    let dir: Dir = 'default';
    let addr: Qual['addr'] = 'default';
    const t = this.peek();
    if (t.kind === 'kw' && DQUALS.has(t.text)) {
      this.next();
      dir = t.text as Dir;
      if ((t.text === 'src' || t.text === 'dst') && (this.isKw('or') || this.isKw('and'))) {
        const conj = this.next().text;
        const other = t.text === 'src' ? 'dst' : 'src';
        if (!this.isKw(other)) this.syntax();
        this.next();
        dir = conj === 'or' ? 'or' : 'and';
      }
      const a = this.peek();
      if (a.kind === 'kw' && AQUALS.has(a.text)) {
        this.next();
        addr = a.text as Qual['addr'];
      }
    } else if (t.kind === 'kw' && AQUALS.has(t.text)) {
      this.next();
      addr = t.text as Qual['addr'];
    } else if (t.kind === 'kw' && (t.text === 'proto' || t.text === 'protochain' || t.text === 'gateway')) {
      this.next();
      addr = t.text as Qual['addr'];
    } else this.syntax();
    return this.id({ proto, dir, addr });
  }

  /** An id: a number, name, address, `not id` or a parenthesised list of ids, under qualifiers q. */
  private id(q: Qual): BQ {
    const t = this.peek();
    if (this.is(t, 'kw', '!')) {
      this.next();
      const r = this.id(q);
      return { b: not(r.b), q: r.q };
    }
    if (this.is(t, 'op', '(')) {
      this.next();
      let r = this.id(q);
      while (this.isKw('and') || this.isKw('or')) {
        const isAnd = this.next().text === 'and';
        const rhs = this.id(q);
        r = { b: isAnd ? and(r.b, rhs.b) : or(r.b, rhs.b), q };
      }
      this.expectOp(')');
      return r;
    }
    this.next();
    switch (t.kind) {
      case 'NUM':
        return { b: this.at(t.pos, () => this.ncode(undefined, t.value, q)), q };
      case 'ID':
        return { b: this.at(t.pos, () => this.scode(t.text, q)), q };
      case 'HID': {
        if (this.isOp('/')) {
          this.next();
          const n = this.next();
          if (n.kind !== 'NUM') this.syntax(n);
          return { b: this.at(t.pos, () => this.mcode(t.text, undefined, n.value, q)), q };
        }
        if (this.isKw('mask')) {
          this.next();
          const m = this.next();
          if (m.kind !== 'HID') this.syntax(m);
          return { b: this.at(t.pos, () => this.mcode(t.text, m.text, 0, q)), q };
        }
        if (q.addr === 'port' || q.addr === 'portrange' || q.addr === 'proto' || q.addr === 'protochain') {
          throw new CbpfError(`'${q.addr}' modifier applied to ip host`, t.pos);
        }
        return { b: this.at(t.pos, () => this.ncode(t.text, 0, q)), q };
      }
      case 'HID6': {
        let len = 128;
        if (this.isOp('/')) {
          this.next();
          const n = this.next();
          if (n.kind !== 'NUM') this.syntax(n);
          len = n.value;
        }
        return { b: this.at(t.pos, () => this.mcode6(t.text, len, q)), q };
      }
      case 'EID':
        return { b: this.at(t.pos, () => this.ecode(t.text, q)), q };
      default:
        return this.syntax(t);
    }
  }

  /** `other`: broadcast, multicast, less, greater, byte, vlan (pqual already consumed when not default). */
  private other(proto: Proto): Expr {
    const t = this.next();
    const num = (): number => {
      const n = this.next();
      if (n.kind !== 'NUM') this.syntax(n);
      return n.value;
    };
    if (t.kind !== 'kw') return this.syntax(t);
    switch (t.text) {
      case 'broadcast':
        return this.at(t.pos, () => this.gen.broadcast(proto));
      case 'multicast':
        return this.at(t.pos, () => this.gen.multicast(proto));
    }
    if (proto !== 'default') this.syntax(t);
    switch (t.text) {
      case 'less':
        return this.gen.less(num());
      case 'greater':
        return this.gen.greater(num());
      case 'byte': {
        const idx = num();
        const op = this.next();
        if (!(op.kind === 'op' && ['&', '|', '<', '>', '='].includes(op.text))) this.syntax(op);
        const v = num();
        return this.gen.byteop(op.text, idx, v);
      }
      case 'vlan': {
        let id: number | undefined;
        if (this.peek().kind === 'NUM' || (this.isOp('(') && this.pnumAhead())) id = this.pnum();
        return this.at(t.pos, () => this.gen.vlan(id));
      }
    }
    if (UNSUPPORTED.has(t.text)) throw new CbpfError(`'${t.text}' is not supported by bpfkit's filter compiler`, t.pos);
    return this.syntax(t);
  }

  private pnumAhead(): boolean {
    let n = 0;
    while (this.isOp('(', n)) n++;
    return this.peek(n).kind === 'NUM';
  }
  private pnum(): number {
    if (this.isOp('(')) {
      this.next();
      const v = this.pnum();
      this.expectOp(')');
      return v;
    }
    const n = this.next();
    if (n.kind !== 'NUM') this.syntax(n);
    return n.value;
  }

  // ---- relations and arithmetic --------------------------------------------------------------------
  private relation(): Expr {
    const a0 = this.arth(0);
    const t = this.next();
    const rel = t.kind === 'op' ? RELOPS[t.text] : undefined;
    if (!rel) this.syntax(t);
    const a1 = this.arth(0);
    return this.gen.relation(rel![0], a0, a1, rel![1]);
  }

  private arth(minPrec: number): Arth {
    let lhs = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op') break;
      if (t.text === '%' || t.text === '^') {
        // '%' and '^' have no precedence in libpcap's grammar: yacc always shifts them, so each takes
        // everything after it as its right operand.
        this.next();
        const rhs = this.arth(0);
        lhs = this.at(t.pos, () => this.gen.arth(t.text === '%' ? AluOp.MOD : AluOp.XOR, lhs, rhs));
        continue;
      }
      const info = BINOPS[t.text];
      if (!info || info[0] < minPrec) break;
      this.next();
      const rhs = this.arth(info[0] + 1);
      lhs = this.at(t.pos, () => this.gen.arth(info[1], lhs, rhs));
    }
    return lhs;
  }

  private unary(): Arth {
    const t = this.next();
    if (this.is(t, 'op', '-')) {
      let a = this.unary();
      if (this.isOp('%') || this.isOp('^')) {
        const m = this.next();
        const rhs = this.arth(0);
        a = this.at(m.pos, () => this.gen.arth(m.text === '%' ? AluOp.MOD : AluOp.XOR, a, rhs));
      }
      return this.gen.neg(a);
    }
    if (this.is(t, 'op', '(')) {
      const a = this.arth(0);
      this.expectOp(')');
      return a;
    }
    if (t.kind === 'NUM') return this.gen.loadi(t.value);
    if (this.is(t, 'kw', 'len')) return this.gen.loadlen();
    if (t.kind === 'kw' && PNAMES.has(t.text)) {
      this.expectOp('[');
      const inst = this.arth(0);
      let size = 1;
      if (this.isOp(':')) {
        this.next();
        const n = this.next();
        if (n.kind !== 'NUM') this.syntax(n);
        size = n.value;
      }
      this.expectOp(']');
      return this.at(t.pos, () => this.gen.load(t.text as Proto, inst, size));
    }
    return this.syntax(t);
  }

  // ---- ids under qualifiers (libpcap's gen_scode, gen_ncode, gen_mcode, gen_mcode6, gen_ecode) -------
  private qproto(q: Qual): Proto {
    if (q.proto === 'undef' || q.dir === 'undef' || q.addr === 'undef') throw new CbpfError('syntax error in filter expression');
    return q.proto;
  }

  private ncode(s: string | undefined, v: number, q: Qual): Expr {
    const proto = this.qproto(q);
    const dir = q.dir as Dir;
    let vlen = 32;
    if (s !== undefined) {
      const r = atoin(s);
      if (r === undefined) throw new CbpfError(`invalid IPv4 address '${s}'`);
      [v, vlen] = r;
    }
    switch (q.addr) {
      case 'default':
      case 'host':
      case 'net': {
        if (proto === 'link') throw new CbpfError('illegal link layer address');
        let mask = 0xffffffff;
        if (s === undefined && q.addr === 'net') {
          while (v && (v & 0xff000000) === 0) {
            v = (v << 8) >>> 0;
            mask = (mask << 8) >>> 0;
          }
        } else {
          v = vlen === 0 ? 0 : (v << (32 - vlen)) >>> 0;
          mask = vlen === 0 ? 0 : (mask << (32 - vlen)) >>> 0;
          if (vlen === 32) [v, mask] = [v >>> 0, 0xffffffff];
        }
        return this.gen.host(v >>> 0, mask >>> 0, proto, dir, q.addr);
      }
      case 'port':
      case 'portrange': {
        const ipProto = proto === 'udp' ? 17 : proto === 'tcp' ? 6 : proto === 'sctp' ? 132 : proto === 'default' ? -1 : undefined;
        if (ipProto === undefined) throw new CbpfError(`illegal qualifier of '${q.addr}'`);
        if (v > 65535) throw new CbpfError(`illegal port number ${v} > 65535`);
        return q.addr === 'port' ? this.gen.port(v, ipProto, dir) : this.gen.portrange(v, v, ipProto, dir);
      }
      case 'gateway':
        throw new CbpfError("'gateway' requires a name");
      case 'proto':
        return this.gen.proto(v, proto, dir);
      case 'protochain':
        throw new CbpfError("'protochain' is not supported by bpfkit's filter compiler");
    }
    throw new CbpfError('syntax error in filter expression');
  }

  private scode(name: string, q: Qual): Expr {
    const proto = this.qproto(q);
    const dir = q.dir as Dir;
    switch (q.addr) {
      case 'net': {
        // Network names (/etc/networks) are not consulted; only numbers.
        throw new CbpfError(`unknown network '${name}'`);
      }
      case 'default':
      case 'host': {
        if (proto === 'link') {
          const e = etherByName(name);
          if (!e) throw new CbpfError(`unknown ether host '${name}'`);
          return this.gen.ehost(e, dir);
        }
        const { v4, v6 } = hostByName(name);
        let tproto: Proto = proto;
        let tproto6: Proto = proto;
        if (this.gen.offLinktype < 0 && proto === 'default') [tproto, tproto6] = ['ip', 'ip6'];
        let b: Expr | undefined;
        for (const a of v4) {
          if (tproto === 'ip6') continue;
          const tmp = this.gen.host(a, 0xffffffff, tproto, dir, q.addr);
          b = b ? or(b, tmp) : tmp;
        }
        for (const a of v6) {
          if (tproto6 === 'ip') continue;
          const tmp = this.gen.host6(a, new Uint8Array(16).fill(0xff), tproto6, dir, q.addr);
          b = b ? or(b, tmp) : tmp;
        }
        if (!b) throw new CbpfError(`unknown host '${name}'${proto === 'default' ? '' : ' for specified address family'}`);
        return b;
      }
      case 'port': {
        if (!['default', 'udp', 'tcp', 'sctp'].includes(proto)) throw new CbpfError("illegal qualifier of 'port'");
        const sp = portByName(name);
        if (!sp) throw new CbpfError(`unknown port '${name}'`);
        const real = this.realProto(proto, sp.proto, `port '${name}'`);
        if (sp.port > 65535) throw new CbpfError(`illegal port number ${sp.port} > 65535`);
        return this.gen.port(sp.port, real, dir);
      }
      case 'portrange': {
        if (!['default', 'udp', 'tcp', 'sctp'].includes(proto)) throw new CbpfError("illegal qualifier of 'portrange'");
        const m = /^([^-]+)-([^-]+)$/.exec(name);
        const a = m ? portByName(m[1]!) : undefined;
        const b = m ? portByName(m[2]!) : undefined;
        if (!a || !b) throw new CbpfError(`unknown port in range '${name}'`);
        let sp = a.proto === b.proto ? a.proto : -1;
        const real = this.realProto(proto, sp, `port in range '${name}'`);
        for (const p of [a.port, b.port]) if (p > 65535) throw new CbpfError(`illegal port number ${p} > 65535`);
        return this.gen.portrange(a.port, b.port, real, dir);
      }
      case 'proto': {
        const v = lookupProto(name, proto);
        return this.gen.proto(v, proto, dir);
      }
      case 'protochain':
        throw new CbpfError("'protochain' is not supported by bpfkit's filter compiler");
      case 'gateway':
        throw new CbpfError("'gateway' is not supported by bpfkit's filter compiler");
    }
    throw new CbpfError('syntax error in filter expression');
  }

  private realProto(proto: Proto, found: number, what: string): number {
    const name = (p: number) => (p === 6 ? 'tcp' : p === 17 ? 'udp' : 'sctp');
    const want = proto === 'udp' ? 17 : proto === 'tcp' ? 6 : proto === 'sctp' ? 132 : -1;
    if (want === -1) return found;
    if (found !== -1 && found !== want) throw new CbpfError(`${what} is ${name(found)}`);
    return want;
  }

  private mcode(s1: string, s2: string | undefined, masklen: number, q: Qual): Expr {
    const a = atoin(s1);
    if (!a) throw new CbpfError(`invalid IPv4 address '${s1}'`);
    const n = a[1] === 0 ? 0 : (a[0] << (32 - a[1])) >>> 0;
    let m: number;
    if (s2 !== undefined) {
      const b = atoin(s2);
      if (!b) throw new CbpfError(`invalid IPv4 address '${s2}'`);
      m = b[1] === 0 ? 0 : (b[0] << (32 - b[1])) >>> 0;
      if ((n & ~m) >>> 0 !== 0) throw new CbpfError(`non-network bits set in "${s1} mask ${s2}"`);
    } else {
      if (masklen > 32) throw new CbpfError('mask length must be <= 32');
      m = masklen === 0 ? 0 : (0xffffffff << (32 - masklen)) >>> 0;
      if ((n & ~m) >>> 0 !== 0) throw new CbpfError(`non-network bits set in "${s1}/${masklen}"`);
    }
    if (q.addr !== 'net') throw new CbpfError('Mask syntax for networks only');
    return this.gen.host(n, m, this.qproto(q), q.dir as Dir, 'net');
  }

  private mcode6(s: string, masklen: number, q: Qual): Expr {
    const addr = parseIPv6(s);
    if (!addr) throw new CbpfError(`invalid ip6 address ${s}`);
    if (masklen > 128) throw new CbpfError('mask length must be <= 128');
    const mask = new Uint8Array(16);
    for (let i = 0; i < 16; i++) {
      const bits = Math.max(0, Math.min(8, masklen - i * 8));
      mask[i] = bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
    }
    if (addr.some((b, i) => (b & ~mask[i]!) !== 0)) throw new CbpfError(`non-network bits set in "${s}/${masklen}"`);
    const proto = this.qproto(q);
    switch (q.addr) {
      case 'default':
      case 'host':
        if (masklen !== 128) throw new CbpfError('Mask syntax for networks only');
        return this.gen.host6(addr, mask, proto, q.dir as Dir, q.addr);
      case 'net':
        return this.gen.host6(addr, mask, proto, q.dir as Dir, q.addr);
      default:
        throw new CbpfError('invalid qualifier against IPv6 address');
    }
  }

  private ecode(s: string, q: Qual): Expr {
    if ((q.addr === 'host' || q.addr === 'default') && q.proto === 'link') {
      const e = parseMac(s);
      if (!e) throw new CbpfError(`bogus ethernet address ${s}`);
      return this.gen.ehost(e, q.dir as Dir);
    }
    throw new CbpfError('ethernet address used in non-ether expression');
  }
}

/** libpcap's __pcap_atoin: dotted numbers into a value and its length in bits. */
function atoin(s: string): [number, number] | undefined {
  let addr = 0;
  let len = 0;
  for (const part of s.split('.')) {
    if (!/^[0-9]+$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    addr = ((addr << 8) | n) >>> 0;
    len += 8;
  }
  return [addr >>> 0, len];
}

function lookupProto(name: string, proto: Proto): number {
  switch (proto) {
    case 'default':
    case 'ip':
    case 'ip6': {
      const v = protoByName(name);
      if (v === undefined) throw new CbpfError(`unknown ip proto '${name}'`);
      return v;
    }
    case 'link': {
      const v = ETHER_PROTOS[name] ?? LLC_PROTOS[name];
      if (v === undefined) throw new CbpfError(`unknown ether proto '${name}'`);
      return v;
    }
    case 'iso': {
      const v = ({ esis: 0x82, isis: 0x83, clnp: 0x81 } as Record<string, number>)[name];
      if (v === undefined) throw new CbpfError(`unknown osi proto '${name}'`);
      return v;
    }
  }
  throw new CbpfError(`unknown protocol: ${name}`);
}

export { DLT };
