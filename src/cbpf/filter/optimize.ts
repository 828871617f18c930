/**
 * The optimiser of generated filter graphs. Passes, repeated until nothing changes:
 *  - value numbering over the DAG (a block inherits a register's value when every predecessor agrees):
 *    redundant loads and stores vanish, constants propagate into indexed loads and X operands, constant
 *    ALU results fold;
 *  - jump peepholes: `sub x; jeq #0` -> `jeq x`, `sub #c; jeq #k` -> `jeq #k+c`, `and #m; jeq #0` -> `jset #m`,
 *    tests on known constants decided;
 *  - jump threading: an edge whose facts (tests taken on the way, on every path) decide the next block's
 *    test goes straight to that test's outcome (e.g. after `ethertype == 0x86dd` a later `== 0x800` is false);
 *  - dead-store elimination from liveness of A, X and M[0..15];
 *  - bypassing blocks whose two exits agree; merging identical blocks.
 * The same ideas as libpcap's optimize.c, implemented independently; the result's instruction count is
 * compared with `tcpdump -d` by the tests.
 */
import { AluOp, CClass, CMode, JmpOp, MiscOp, Mode, Source } from '../opcodes.js';
import { classicAlu as alu } from '../interp.js';
import { Block, type Stmt } from './gencode.js';

// Atoms: 0..15 scratch memory, 16 = A, 17 = X.
const A = 16;
const X = 17;
const N_ATOMS = 18;

/** Hash-consed value numbers. 0 = unknown. */
class Values {
  private map = new Map<string, number>();
  private consts = new Map<number, number>();
  private next = 1;
  get(key: string): number {
    let v = this.map.get(key);
    if (v === undefined) {
      v = this.next++;
      this.map.set(key, v);
    }
    return v;
  }
  fresh(): number {
    return this.next++;
  }
  konst(k: number): number {
    const v = this.get(`c${k >>> 0}`);
    this.consts.set(v, k >>> 0);
    return v;
  }
  constOf(v: number): number | undefined {
    return this.consts.get(v);
  }
}

type State = number[];

interface Info {
  preds: { b: Block; side: 'jt' | 'jf' }[];
  inState: State;
  outState: State;
  liveIn: Set<number>;
  liveOut: Set<number>;
  facts: Map<string, boolean>;
}

/** Every block reachable from root, in a topological order (root first). */
export function collect(root: Block): Block[] {
  const seen = new Set<Block>();
  const post: Block[] = [];
  const visit = (b: Block) => {
    if (seen.has(b)) return;
    seen.add(b);
    if (b.ret === undefined) {
      visit(b.jf!);
      visit(b.jt!);
    }
    post.push(b);
  };
  visit(root);
  return post.reverse();
}

function uses(s: Stmt): number[] {
  const c = s.code;
  switch (c & 0x07) {
    case CClass.LD:
      if ((c & 0xe0) === Mode.IND) return [X];
      if ((c & 0xe0) === Mode.MEM) return [s.k];
      return [];
    case CClass.LDX:
      if ((c & 0xe0) === Mode.MEM) return [s.k];
      return [];
    case CClass.ST:
      return [A];
    case CClass.STX:
      return [X];
    case CClass.ALU:
      if ((c & 0xf0) === AluOp.NEG) return [A];
      return c & Source.X ? [A, X] : [A];
    case CClass.MISC:
      return c === (CClass.MISC | MiscOp.TAX) ? [A] : [X];
  }
  return [];
}
function def(s: Stmt): number {
  switch (s.code & 0x07) {
    case CClass.LD:
    case CClass.ALU:
      return A;
    case CClass.LDX:
      return X;
    case CClass.ST:
    case CClass.STX:
      return s.k;
    case CClass.MISC:
      return s.code === (CClass.MISC | MiscOp.TAX) ? X : A;
  }
  return -1;
}
function blockUses(b: Block): number[] {
  if (b.ret !== undefined) return (b.code & 0x18) === 0x10 ? [A] : [];
  return b.code & Source.X ? [A, X] : [A];
}

/** Optimise the graph rooted at `root`; returns the (possibly new) root. */
export function optimize(root: Block): Block {
  // Phase 1 (like libpcap's first optimisation loop): thread jumps on the unmodified statements, while
  // every block still loads what it tests; phase 2 then simplifies statements too.
  for (let iter = 0; iter < 200; iter++) {
    const before = signature(root);
    const blocks = collect(root);
    thread(blocks, analyse(blocks, false));
    root = mergeIdentical(root);
    for (let n = 0; n < 100 && pullup(root); n++) {
      /* one pull-up per analysis keeps the value numbers and dominators fresh */
    }
    root = mergeIdentical(root);
    if (signature(root) === before) break;
  }
  for (let iter = 0; iter < 200; iter++) {
    const before = signature(root);
    root = pass(root);
    if (signature(root) === before) break;
  }
  return root;
}

function signature(root: Block): string {
  return collect(root)
    .map((b) => `${b.id}:${b.stmts.map((s) => `${s.code},${s.k}`).join(';')}|${b.code},${b.k},${b.jt?.id},${b.jf?.id}`)
    .join('\n');
}

function pass(root: Block): Block {
  const blocks = collect(root);
  foldIndexAdd(blocks, analyse(blocks));
  deadStores(blocks, analyse(blocks));
  peepholeJumps(blocks, analyse(blocks));
  thread(blocks, analyse(blocks));
  root = bypass(root);
  return mergeIdentical(root);
}

/** Value numbering (rewriting statements as it goes), liveness and edge facts. */
function analyse(blocks: Block[], rewrite = true): Map<Block, Info> {
  const info = new Map<Block, Info>();
  for (const b of blocks) {
    info.set(b, { preds: [], inState: [], outState: [], liveIn: new Set(), liveOut: new Set(), facts: new Map() });
  }
  for (const b of blocks) {
    if (b.ret !== undefined) continue;
    info.get(b.jt!)!.preds.push({ b, side: 'jt' });
    info.get(b.jf!)!.preds.push({ b, side: 'jf' });
  }
  const vals = new Values();
  for (const b of blocks) {
    const bi = info.get(b)!;
    let st: State;
    if (!bi.preds.length) st = new Array(N_ATOMS).fill(0);
    else {
      st = [...info.get(bi.preds[0]!.b)!.outState];
      for (const p of bi.preds.slice(1)) {
        const o = info.get(p.b)!.outState;
        for (let i = 0; i < N_ATOMS; i++) if (st[i] !== o[i]) st[i] = 0;
      }
    }
    bi.inState = [...st];
    const numbered = numberStmts(b.stmts, st, vals);
    if (rewrite) b.stmts = numbered;
    bi.outState = st;
    // Facts at entry: intersection over predecessors of (their facts + the outcome of their edge).
    let facts: Map<string, boolean> | undefined;
    for (const p of bi.preds) {
      const pf = new Map(info.get(p.b)!.facts);
      const key = testKey(p.b, info.get(p.b)!.outState);
      if (key && p.b.jt !== p.b.jf) pf.set(key, p.side === 'jt');
      if (!facts) facts = pf;
      else for (const [k, v] of facts) if (pf.get(k) !== v) facts.delete(k);
    }
    bi.facts = facts ?? new Map();
    (bi as Info & { vals?: Values }).vals = vals;
  }
  // Liveness, backwards.
  for (let i = blocks.length - 1; i >= 0; i--) {
    const b = blocks[i]!;
    const bi = info.get(b)!;
    const out = new Set<number>();
    if (b.ret === undefined) {
      for (const a of info.get(b.jt!)!.liveIn) out.add(a);
      for (const a of info.get(b.jf!)!.liveIn) out.add(a);
    }
    bi.liveOut = out;
    const live = new Set(out);
    for (const a of blockUses(b)) live.add(a);
    for (let j = b.stmts.length - 1; j >= 0; j--) {
      const s = b.stmts[j]!;
      live.delete(def(s));
      for (const u of uses(s)) live.add(u);
    }
    bi.liveIn = live;
  }
  return info;
}

/** The fact key of a block's test given its out-state: `vnA|op|operand`. */
function testKey(b: Block, st: State): string | undefined {
  if (b.ret !== undefined || !st[A]) return undefined;
  const operand = b.code & Source.X ? (st[X] ? `x${st[X]}` : undefined) : `k${b.k >>> 0}`;
  if (operand === undefined) return undefined;
  return `${st[A]}|${b.code & 0xf0}|${operand}`;
}

/**
 * A load of scratch slot M[k] into A (`cls` LD) or X (LDX): its value number. The load is rewritten into an
 * immediate load when the slot holds a known constant, or into `move` (txa/tax) when the slot holds what the
 * `other` register holds.
 */
function loadMem(s: Stmt, st: State, vals: Values, cls: number, other: number, move: number): number {
  const v = st[s.k]! || vals.fresh();
  const k = vals.constOf(st[s.k]!);
  if (k !== undefined) {
    s.code = cls | Mode.IMM;
    s.k = k;
  } else if (st[s.k] && st[s.k] === st[other]) {
    s.code = CClass.MISC | move;
    s.k = 0;
  }
  return v;
}

/** Value-number and simplify one block's statements; `st` is updated to the out-state. */
function numberStmts(stmts: Stmt[], st: State, vals: Values): Stmt[] {
  const out: Stmt[] = [];
  for (const s0 of stmts) {
    const s = { ...s0 };
    const c = s.code;
    const kA = vals.constOf(st[A]!);
    const kX = vals.constOf(st[X]!);
    let dst = def(s);
    let v: number;
    switch (c & 0x07) {
      case CClass.LD: {
        const m = c & 0xe0;
        if (m === Mode.IND && kX !== undefined && kX + (s.k >>> 0) <= 0x7fffffff) {
          s.code = (c & ~0xe0) | Mode.ABS;
          s.k = (kX + s.k) >>> 0;
        }
        const mm = s.code & 0xe0;
        if (mm === Mode.IMM) v = vals.konst(s.k);
        else if (mm === Mode.ABS) v = vals.get(`abs${s.code & 0x18}:${s.k >>> 0}`);
        else if (mm === Mode.IND) v = st[X] ? vals.get(`ind${s.code & 0x18}:${s.k >>> 0}:${st[X]}`) : vals.fresh();
        else if (mm === CMode.LEN) v = vals.get('len');
        else if (mm === Mode.MEM) v = loadMem(s, st, vals, CClass.LD, X, MiscOp.TXA);
        else v = vals.fresh();
        break;
      }
      case CClass.LDX: {
        const m = c & 0xe0;
        if (m === Mode.IMM) v = vals.konst(s.k);
        else if (m === CMode.MSH) v = vals.get(`msh:${s.k >>> 0}`);
        else if (m === CMode.LEN) v = vals.get('len');
        else if (m === Mode.MEM) v = loadMem(s, st, vals, CClass.LDX, A, MiscOp.TAX);
        else v = vals.fresh();
        break;
      }
      case CClass.ST:
        v = st[A]! || vals.fresh();
        if (!st[A]) st[A] = v;
        break;
      case CClass.STX:
        v = st[X]! || vals.fresh();
        if (!st[X]) st[X] = v;
        break;
      case CClass.MISC:
        if (c === (CClass.MISC | MiscOp.TAX)) {
          if (kA !== undefined) {
            s.code = CClass.LDX | Mode.IMM;
            s.k = kA;
          }
          v = st[A]! || vals.fresh();
          if (!st[A]) st[A] = v;
        } else {
          if (kX !== undefined) {
            s.code = CClass.LD | Mode.IMM;
            s.k = kX;
          }
          v = st[X]! || vals.fresh();
          if (!st[X]) st[X] = v;
        }
        break;
      case CClass.ALU: {
        const aop = c & 0xf0;
        if (aop === AluOp.NEG) {
          if (kA !== undefined) {
            s.code = CClass.LD | Mode.IMM;
            s.k = -kA >>> 0;
            v = vals.konst(s.k);
          } else v = st[A] ? vals.get(`neg:${st[A]}`) : vals.fresh();
          break;
        }
        if (c & Source.X && kX !== undefined && !((aop === AluOp.DIV || aop === AluOp.MOD) && kX === 0)) {
          s.code = CClass.ALU | aop | Source.K;
          s.k = kX;
        }
        if (!(s.code & Source.X)) {
          const k = s.k >>> 0;
          const identity =
            ((aop === AluOp.ADD || aop === AluOp.SUB || aop === AluOp.OR || aop === AluOp.XOR || aop === AluOp.LSH || aop === AluOp.RSH) && k === 0) ||
            ((aop === AluOp.MUL || aop === AluOp.DIV) && k === 1) ||
            (aop === AluOp.AND && k === 0xffffffff);
          if (identity) continue; // A unchanged: drop the statement.
          if (kA !== undefined) {
            const r = alu(aop, kA, k);
            if (r !== undefined && ((aop !== AluOp.LSH && aop !== AluOp.RSH) || k < 32)) {
              s.code = CClass.LD | Mode.IMM;
              s.k = r!;
              v = vals.konst(r!);
              break;
            }
          }
          v = st[A] ? vals.get(`alu${aop}:${st[A]}:k${k}`) : vals.fresh();
        } else {
          v = st[A] && st[X] ? vals.get(`alu${aop}:${st[A]}:x${st[X]}`) : vals.fresh();
        }
        break;
      }
      default:
        v = vals.fresh();
    }
    dst = def(s);
    if (dst >= 0 && st[dst] && st[dst] === v) continue; // the destination already holds this value
    if (dst >= 0) st[dst] = v;
    out.push(s);
  }
  return out;
}

/** Remove statements whose result is never used (libpcap removes dead loads the same way). */
function deadStores(blocks: Block[], info: Map<Block, Info>): void {
  for (const b of blocks) {
    const live = new Set(info.get(b)!.liveOut);
    for (const a of blockUses(b)) live.add(a);
    const keep: Stmt[] = [];
    for (let j = b.stmts.length - 1; j >= 0; j--) {
      const s = b.stmts[j]!;
      const d = def(s);
      if (d >= 0 && !live.has(d)) continue;
      live.delete(d);
      for (const u of uses(s)) live.add(u);
      keep.push(s);
    }
    b.stmts = keep.reverse();
  }
}

/**
 * `ld #c; [ldx ...;] add x; tax; ld [x + k]` -> `[ldx ...;] ld [x + k+c]` when X's value afterwards is dead
 * (the constant offset moves into the indexed load).
 */
function foldIndexAdd(blocks: Block[], info: Map<Block, Info>): void {
  for (const b of blocks) {
    const st = b.stmts;
    for (let i = 0; i + 3 < st.length; i++) {
      if (st[i]!.code !== (CClass.LD | Mode.IMM)) continue;
      let j = i + 1;
      const hasLdx = (st[j]!.code & 0x07) === CClass.LDX;
      if (hasLdx) j++;
      const add = st[j];
      const tax = st[j + 1];
      const ld = st[j + 2];
      if (!add || !tax || !ld) continue;
      if (add.code !== (CClass.ALU | AluOp.ADD | Source.X) || tax.code !== (CClass.MISC | MiscOp.TAX)) continue;
      if ((ld.code & 0x07) !== CClass.LD || (ld.code & 0xe0) !== Mode.IND) continue;
      // Is X dead after the load?
      const live = new Set(info.get(b)!.liveOut);
      for (const a of blockUses(b)) live.add(a);
      for (let m = st.length - 1; m > j + 2; m--) {
        live.delete(def(st[m]!));
        for (const u of uses(st[m]!)) live.add(u);
      }
      if (live.has(X)) continue;
      const k = (ld.k + st[i]!.k) >>> 0;
      const repl: Stmt[] = [...(hasLdx ? [st[i + 1]!] : []), { code: ld.code, k }];
      st.splice(i, j + 3 - i, ...repl);
    }
  }
}

/** Decide a test from the value of A (and X): true/false/undefined. */
function evalTest(code: number, a: number, operand: number): boolean {
  switch (code & 0xf0) {
    case JmpOp.JEQ:
      return a === operand;
    case JmpOp.JGT:
      return a > operand;
    case JmpOp.JGE:
      return a >= operand;
    case JmpOp.JSET:
      return (a & operand) !== 0;
  }
  return false;
}

function peepholeJumps(blocks: Block[], info: Map<Block, Info>): void {
  for (const b of blocks) {
    if (b.ret !== undefined || b.jt === b.jf) continue;
    const bi = info.get(b)! as Info & { vals: Values };
    const vals = bi.vals;
    const st = bi.outState;
    const last = b.stmts[b.stmts.length - 1];
    if (b.code === (CClass.JMP | JmpOp.JEQ | Source.K) && !bi.liveOut.has(A) && last) {
      if (last.code === (CClass.ALU | AluOp.SUB | Source.X)) {
        const kX = vals.constOf(st[X]!);
        if (kX !== undefined) {
          b.k = (b.k + kX) >>> 0;
          b.stmts.pop();
        } else if (b.k === 0) {
          b.stmts.pop();
          b.code = CClass.JMP | JmpOp.JEQ | Source.X;
        }
      } else if (last.code === (CClass.ALU | AluOp.SUB | Source.K)) {
        b.k = (b.k + last.k) >>> 0;
        b.stmts.pop();
      } else if (last.code === (CClass.ALU | AluOp.AND | Source.K) && b.k === 0) {
        b.k = last.k;
        b.code = CClass.JMP | JmpOp.JSET | Source.K;
        b.stmts.pop();
        [b.jt, b.jf] = [b.jf, b.jt];
      }
    }
    const kX = vals.constOf(st[X]!);
    if (b.code & Source.X && kX !== undefined) {
      b.code &= ~Source.X;
      b.k = kX;
    }
    const kA = vals.constOf(st[A]!);
    if (kA !== undefined && !(b.code & Source.X)) {
      const taken = evalTest(b.code, kA, b.k >>> 0) ? b.jt : b.jf;
      b.jt = taken;
      b.jf = taken;
    }
    if (b.code === (CClass.JMP | JmpOp.JSET | Source.K) && b.k === 0) b.jt = b.jf;
  }
}

/** Facts decide `child`'s test? Returns the outcome or undefined. */
function decide(child: Block, childA: number, facts: Map<string, boolean>, childX: number): boolean | undefined {
  if (!childA) return undefined;
  const operand = child.code & Source.X ? (childX ? `x${childX}` : undefined) : `k${child.k >>> 0}`;
  if (operand === undefined) return undefined;
  const exact = facts.get(`${childA}|${child.code & 0xf0}|${operand}`);
  if (exact !== undefined) return exact;
  if (child.code & Source.X) return undefined;
  // A known equality decides every constant test on the same value.
  for (const [key, outcome] of facts) {
    if (!outcome) continue;
    const [va, op, opnd] = key.split('|');
    if (Number(va) !== childA || Number(op) !== JmpOp.JEQ || !opnd!.startsWith('k')) continue;
    return evalTest(child.code, Number(opnd!.slice(1)), child.k >>> 0);
  }
  return undefined;
}

/** Jump threading along edges whose facts decide the successor's test. */
function thread(blocks: Block[], info: Map<Block, Info>): void {
  for (const b of blocks) {
    if (b.ret !== undefined) continue;
    const bi = info.get(b)! as Info & { vals: Values };
    for (const side of ['jt', 'jf'] as const) {
      if (b.jt === b.jf && side === 'jf') {
        b.jf = b.jt;
        continue;
      }
      for (let hops = 0; hops < 64; hops++) {
        const c = b[side]!;
        if (c.ret !== undefined) break;
        const facts = new Map(bi.facts);
        const key = testKey(b, bi.outState);
        if (key && b.jt !== b.jf) facts.set(key, side === 'jt');
        const ci = info.get(c);
        if (!ci) break;
        // The child's end state when entered from b.
        const st = [...bi.outState];
        const cStmts = c.stmts;
        simulate(cStmts, st, bi.vals);
        let outcome: boolean | undefined;
        if (c.jt === c.jf) outcome = true;
        else outcome = decide(c, st[A]!, facts, st[X]!);
        if (outcome === undefined) break;
        const target = outcome ? c.jt! : c.jf!;
        // Skipping c must not lose a value the target still needs.
        const need = info.get(target)?.liveIn ?? new Set<number>();
        let ok = true;
        for (const a of need) {
          if (st[a] !== bi.outState[a] || !st[a]) {
            if (cStmts.some((s) => def(s) === a)) ok = false;
          }
        }
        if (!ok) break;
        b[side] = target;
      }
    }
  }
}

/**
 * libpcap's or/and pull-up: in a chain of tests sharing their true exit (or) or false exit (and), a test on
 * the value A already holds on entry is moved ahead of tests on other values. Returns true if it moved one.
 */
function pullup(root: Block): boolean {
  const blocks = collect(root);
  const info = analyse(blocks, false);
  // Dominators.
  const dom = new Map<Block, Set<Block>>();
  for (const b of blocks) {
    const preds = info.get(b)!.preds;
    let d: Set<Block> | undefined;
    for (const p of preds) {
      const pd = dom.get(p.b)!;
      d = d ? new Set([...d].filter((x) => pd.has(x))) : new Set(pd);
    }
    d = d ?? new Set();
    d.add(b);
    dom.set(b, d);
  }
  // Levels: distance from the leaves; processed from the leaves up, as libpcap does.
  const level = new Map<Block, number>();
  for (let i = blocks.length - 1; i >= 0; i--) {
    const b = blocks[i]!;
    level.set(b, b.ret !== undefined ? 0 : 1 + Math.max(level.get(b.jt!)!, level.get(b.jf!)!));
  }
  const order = blocks.filter((b) => b.ret === undefined).sort((x, y) => level.get(x)! - level.get(y)!);
  const outA = (b: Block) => info.get(b)!.outState[A]!;
  for (const b of order) {
    for (const [same, next] of [['jt', 'jf'], ['jf', 'jt']] as const) {
      const preds = info.get(b)!.preds;
      if (!preds.length) continue;
      const val = outA(preds[0]!.b);
      if (!val || preds.some((p) => outA(p.b) !== val)) continue;
      let parent: Block | undefined;
      let cur: Block = b;
      let ok = true;
      for (;;) {
        if (cur.ret !== undefined || cur[same] !== b[same] || !dom.get(cur)!.has(b)) {
          ok = false;
          break;
        }
        if (outA(cur) !== val) break;
        parent = cur;
        cur = cur[next]!;
      }
      if (!ok) continue;
      const diff = cur;
      let sParent = diff;
      let sNode = diff[next]!;
      for (;;) {
        if (sNode.ret !== undefined || sNode[same] !== b[same] || !dom.get(sNode)!.has(b)) {
          ok = false;
          break;
        }
        if (outA(sNode) === val) break;
        sParent = sNode;
        sNode = sNode[next]!;
      }
      if (!ok) continue;
      const pull = sNode;
      sParent[next] = pull[next];
      pull[next] = diff;
      if (!parent) {
        for (const p of preds) p.b[p.side] = pull;
      } else parent[next] = pull;
      return true;
    }
  }
  return false;
}

/** Value numbers of a block's statements from a given state (no rewriting). */
function simulate(stmts: Stmt[], st: State, vals: Values): void {
  numberStmts(stmts.map((s) => ({ ...s })), st, vals);
}

/** Blocks whose two exits agree and whose statements matter to nobody are bypassed. */
function bypass(root: Block): Block {
  const blocks = collect(root);
  const info = analyse(blocks);
  const skippable = (c: Block): boolean => {
    if (c.ret !== undefined || c.jt !== c.jf) return false;
    const need = info.get(c.jt!)!.liveIn;
    return !c.stmts.some((s) => need.has(def(s)));
  };
  const resolve = (c: Block): Block => {
    let n = 0;
    while (skippable(c) && n++ < 1000) c = c.jt!;
    return c;
  };
  for (const b of blocks) {
    if (b.ret !== undefined) continue;
    b.jt = resolve(b.jt!);
    b.jf = resolve(b.jf!);
  }
  return resolve(root);
}

/** Merge blocks with the same statements, test and successors. */
function mergeIdentical(root: Block): Block {
  const blocks = collect(root).reverse(); // successors before predecessors
  const canon = new Map<string, Block>();
  const repl = new Map<Block, Block>();
  for (const b of blocks) {
    if (b.ret === undefined) {
      b.jt = repl.get(b.jt!) ?? b.jt;
      b.jf = repl.get(b.jf!) ?? b.jf;
    }
    const key =
      b.ret !== undefined
        ? `ret:${b.code}:${b.ret}`
        : `${b.stmts.map((s) => `${s.code},${s.k >>> 0}`).join(';')}|${b.code},${b.k >>> 0},${b.jt!.id},${b.jf!.id}`;
    const c = canon.get(key);
    if (c && c !== b) repl.set(b, c);
    else canon.set(key, b);
  }
  return repl.get(root) ?? root;
}

