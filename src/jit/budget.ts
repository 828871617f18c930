/**
 * Budget accounting by check points, for the fast variant of a function with loops (codegen.ts).
 *
 * The straightforward scheme (a check per budget segment, cfg.ts) puts a dependent subtract and a branch on the
 * budget counter in every block: in a loop of three blocks the counter alone makes a three-cycle chain per
 * iteration. Here the counter is only checked at check points (the function entry, every target of a backward
 * jump in pc order — so every cycle passes one — and the block after every call, which may have spent budget):
 * a check point needs `need` instructions of budget, the longest path from it to the next check point or to an
 * end of the function. With at least that much left, no budget fault can happen before the next check point, so
 * the code in between runs unchecked; with less, the function continues in its slow variant, which counts per
 * segment and faults at the exact pc. The counter itself is decremented lazily: a block with a single incoming
 * edge inherits its predecessor's uncounted instructions (`pending`), so a loop body of several blocks pays one
 * subtract per iteration, on its back edge; edges into other blocks (and exits, calls, hand-overs) settle the
 * pending count.
 */
import type { FuncCfg, JInsn } from './cfg.js';
import { jumpTarget, kindOf } from './cfg.js';

/** Check points and pending counts of one function. */
export interface BudgetPlan {
  /** Instructions executed but not yet subtracted when control enters each block (by block index). */
  pending: number[];
  /** For each check point (block index): the budget needed to run unchecked until the next one. */
  need: Map<number, number>;
}

/** Successor pcs of the last instruction of a block (fall-through included). */
export function blockSuccessors(last: JInsn): number[] {
  switch (kindOf(last)) {
    case 'ja':
      return [jumpTarget(last)];
    case 'cond':
      return [last.pc + 1, jumpTarget(last)];
    case 'exit':
    case 'falloff':
    case 'invalid':
      return [];
    default:
      return [last.pc + last.slots];
  }
}

/** Does control leave for other code (which may spend budget) at this instruction? */
export function isCall(i: JInsn): boolean {
  const k = kindOf(i);
  return k === 'call' || k === 'helper' || k === 'callx';
}

/** The check-point plan of `f`, or undefined when `f` has no loop (per-segment checks cost nothing there). */
export function planBudget(f: FuncCfg): BudgetPlan | undefined {
  const n = f.blocks.length;
  const succ: number[][] = f.blocks.map((b) => blockSuccessors(b.insns[b.insns.length - 1]!).map((pc) => f.blockAt.get(pc)!));
  const check = new Array<boolean>(n).fill(false);
  const preds = new Array<number>(n).fill(0);
  const single = new Array<number>(n).fill(-1);
  let loops = false;
  check[f.blockAt.get(f.entry)!] = true;
  for (let a = 0; a < n; a++) {
    const b = f.blocks[a]!;
    const after = isCall(b.insns[b.insns.length - 1]!);
    for (const s of succ[a]!) {
      preds[s]!++;
      single[s] = a;
      if (s <= a) {
        check[s] = true;
        loops = true;
      }
      if (after) check[s] = true;
    }
  }
  if (!loops) return undefined;
  const pending = new Array<number>(n).fill(0);
  for (let b = 0; b < n; b++) {
    if (check[b] || preds[b] !== 1) continue;
    const a = single[b]!;
    if (a >= b) throw new Error('JIT: budget plan: a single-entry block before its predecessor');
    pending[b] = pending[a]! + f.blocks[a]!.insns.length;
  }
  // Longest path (in instructions) from each block to the next check point or an end; every edge that does
  // not enter a check point goes forward in block order, so one backward sweep computes it.
  const longest = new Array<number>(n).fill(0);
  for (let b = n - 1; b >= 0; b--) {
    let m = 0;
    for (const s of succ[b]!) {
      if (check[s]) continue;
      if (s <= b) throw new Error('JIT: budget plan: backward edge into a block that is not a check point');
      m = Math.max(m, longest[s]!);
    }
    longest[b] = f.blocks[b]!.insns.length + m;
  }
  const need = new Map<number, number>();
  for (let b = 0; b < n; b++) if (check[b]) need.set(b, longest[b]!);
  return { pending, need };
}
