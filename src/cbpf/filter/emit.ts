/**
 * Linearisation of a filter graph into a classic program: blocks in reverse post-order (true branch laid
 * out first, as libpcap does), conditional jumps encoded as 8-bit forward offsets,
 * with `ja` trampolines inserted when a target is more than 255 instructions away.
 */
import { CbpfError } from '../../errors.js';
import { type SockFilter } from '../insn.js';
import { CClass, JmpOp, BPF_MAXINSNS } from '../opcodes.js';
import { Block } from './gencode.js';
import { collect } from './optimize.js';

/** Emit the graph rooted at `root` as classic instructions. */
export function emit(root: Block): SockFilter[] {
  for (let attempt = 0; attempt < 64; attempt++) {
    const order = layout(root);
    const r = tryEmit(order);
    if ('prog' in r) return r.prog;
    // Insert a trampoline block for the far edge and try again.
    const { b, side } = r;
    const tramp = new Block(CClass.JMP | JmpOp.JA, 0, []);
    tramp.jt = tramp.jf = b[side]!;
    b[side] = tramp;
  }
  throw new CbpfError('filter program has jumps too far to encode');
}

/** Reverse post-order visiting the false branch first: the order libpcap lays blocks out in. */
function layout(root: Block): Block[] {
  return collect(root);
}

function tryEmit(order: Block[]): { prog: SockFilter[] } | { b: Block; side: 'jt' | 'jf' } {
  // First pass: sizes and start positions.
  const start = new Map<Block, number>();
  let pc = 0;
  const needsJump = (b: Block, i: number) => b.ret !== undefined || b.jt !== b.jf || order[i + 1] !== b.jt;
  order.forEach((b, i) => {
    start.set(b, pc);
    pc += b.stmts.length + (needsJump(b, i) ? 1 : 0);
  });
  if (pc > BPF_MAXINSNS) throw new CbpfError(`filter program is ${pc} instructions, more than ${BPF_MAXINSNS}`);
  const out: SockFilter[] = [];
  for (let i = 0; i < order.length; i++) {
    const b = order[i]!;
    for (const s of b.stmts) out.push({ code: s.code, jt: 0, jf: 0, k: s.k >>> 0 });
    if (b.ret !== undefined) {
      out.push({ code: b.code, jt: 0, jf: 0, k: b.k >>> 0 });
      continue;
    }
    const here = out.length; // index of the jump instruction
    if (b.jt === b.jf) {
      if (!needsJump(b, i)) continue;
      out.push({ code: CClass.JMP | JmpOp.JA, jt: 0, jf: 0, k: start.get(b.jt!)! - here - 1 });
      continue;
    }
    const jt = start.get(b.jt!)! - here - 1;
    const jf = start.get(b.jf!)! - here - 1;
    if (jt > 255) return { b, side: 'jt' };
    if (jf > 255) return { b, side: 'jf' };
    if (jt < 0 || jf < 0) throw new CbpfError('internal error: backward jump in filter layout');
    out.push({ code: b.code, jt, jf, k: b.k >>> 0 });
  }
  return { prog: out };
}
