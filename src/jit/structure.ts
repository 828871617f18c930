/**
 * Structured control flow for one function: Wasm `loop`s for backward jumps and `block`s for forward jumps,
 * over the basic blocks in pc order. Each loop spans [header, last block jumping back to it]; each forward
 * target t gets a block opened before its first jump source and closed right before t. Wasm requires the
 * constructs to nest: crossing loops are fixed by extending the outer loop's end, crossing blocks by opening the
 * later one earlier, a block starting inside a loop and ending after it by opening it before the loop. A jump
 * into the middle of a loop from before it (irreducible flow for this layout) cannot be fixed this way: the
 * function then uses the br_table dispatcher (codegen.ts).
 */
import type { FuncCfg } from './cfg.js';
import { jumpTarget, kindOf } from './cfg.js';

/** Largest function (in basic blocks) given structured control flow. */
export const MAX_BLOCKS = 2000;

/** A Wasm construct over block positions [start, end): `block` (branch target: position end) or `loop` (start). */
export interface Construct {
  kind: 'block' | 'loop';
  start: number;
  end: number;
}

/** The constructs of a structured layout, or undefined when the dispatcher is needed. */
export function structure(f: FuncCfg): Construct[] | undefined {
  // The nesting fix-up below is quadratic in the number of jumps: very large functions use the dispatcher.
  if (f.blockAt.get(f.entry) !== 0 || f.blocks.length > MAX_BLOCKS) return undefined;
  const loopEnd = new Map<number, number>(); // header -> last source (inclusive)
  const blockStart = new Map<number, number>(); // target -> first source
  for (const b of f.blocks) {
    const last = b.insns[b.insns.length - 1]!;
    const k = kindOf(last);
    if (k !== 'ja' && k !== 'cond') continue;
    const t = f.blockAt.get(jumpTarget(last))!;
    const s = b.index;
    if (t <= s) loopEnd.set(t, Math.max(loopEnd.get(t) ?? s, s));
    else if (!(k === 'ja' && t === s + 1)) blockStart.set(t, Math.min(blockStart.get(t) ?? s, s));
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const [h1, e1] of loopEnd) {
      for (const [h2, e2] of loopEnd) {
        if (h1 < h2 && h2 <= e1 && e1 < e2) {
          loopEnd.set(h1, e2);
          changed = true;
        }
      }
    }
    for (const [t1, p1] of blockStart) {
      for (const [t2, p2] of blockStart) {
        if (p1 < p2 && p2 < t1 && t1 < t2) {
          blockStart.set(t2, p1);
          changed = true;
        }
      }
    }
    for (const [t, p] of blockStart) {
      for (const [h, e] of loopEnd) {
        if (p < h && h < t && t <= e) return undefined; // jump into a loop's middle
        if (h < p && p <= e && t > e + 1) {
          blockStart.set(t, h);
          changed = true;
        }
      }
    }
  }
  const out: Construct[] = [];
  for (const [h, e] of loopEnd) out.push({ kind: 'loop', start: h, end: e + 1 });
  for (const [t, p] of blockStart) out.push({ kind: 'block', start: p, end: t });
  // Opening order: by start, then the longer first (blocks before loops when equal: a block ending where the
  // loop ends is entered first, so the loop's label is the inner one).
  out.sort((a, b) => a.start - b.start || b.end - a.end || (a.kind === b.kind ? 0 : a.kind === 'block' ? -1 : 1));
  return out;
}
