/**
 * Pointer provenance for the JIT's fast memory path: which registers hold a value derived from an origin (copied,
 * or moved by adding or subtracting a scalar), per instruction — the verifier's pointer kinds, cheaply. Origins
 * are the function's arguments r1..r5 (at entry) and the results of 8-byte loads (a context's data / data_end,
 * a pointer read from memory). An access through such a register is checked against the region the origin pointed
 * into when it was set (looked up once then, in locals: start, length, linear base) with one subtract and one
 * unsigned compare, instead of a segment-table lookup per access (codegen.ts).
 *
 * The tags are only hints: every access is still fully bounds-checked, against that region; an access elsewhere
 * (a tag that guessed wrong, a region not paged in) takes the miss path, which is exact. So the analysis need not
 * be sound, only cheap and usually right.
 */
import type { FuncCfg, JInsn } from './cfg.js';
import { accessSize, kindOf } from './cfg.js';
import { blockSuccessors } from './budget.js';

/** The region plan of one function. */
export interface RegionPlan {
  /**
   * Origin of the base register of each memory access that has one, by pc: 1..5 for argument registers,
   * `LOAD_ORIGIN + pc` for the result of the 8-byte load at pc.
   */
  site: Map<number, number>;
  /** For each origin used: the access kinds, as `size * 2 + (write ? 1 : 0)`. */
  uses: Map<number, Set<number>>;
}

/** Origins above this are 8-byte loads (origin - LOAD_ORIGIN = their pc). */
export const LOAD_ORIGIN = 16;

/** Base register of a load, store or atomic. */
const baseOf = (i: JInsn) => ((i.op & 7) === 1 ? i.src : i.dst);

/** Tags of r0..r9 after `i` (0: no origin), updated in place. */
function transfer(t: Int32Array, i: JInsn): void {
  const k = kindOf(i);
  const op = i.op;
  switch (k) {
    case 'alu': {
      const d = i.dst;
      const s = i.src;
      if (op === 0xbf) t[d] = s === 10 ? 0 : t[s]!; // mov64 reg
      else if (op === 0x07 || op === 0x17) {
        // add64 / sub64 immediate: same origin
      } else if (op === 0x0f) t[d] = t[d] && !t[s] ? t[d]! : !t[d] && s !== 10 && t[s] ? t[s]! : 0;
      else if (op === 0x1f) t[d] = t[d] && !t[s] ? t[d]! : 0;
      else t[d] = 0;
      return;
    }
    case 'load':
      t[i.dst] = op === 0x79 ? LOAD_ORIGIN + i.pc : 0;
      return;
    case 'endian':
    case 'lddw':
      t[i.dst] = 0;
      return;
    case 'atomic':
      if (i.imm === 0xf1) t[0] = 0;
      else if (i.imm & 1) t[i.src] = 0;
      return;
    case 'legacy':
      t[0] = 0;
      return;
    case 'helper':
    case 'call':
    case 'callx':
      for (let r = 0; r <= 5; r++) t[r] = 0;
      return;
    default:
      return;
  }
}

/** Run the analysis over `f`; `skip(i)` excludes accesses the caller handles otherwise (constant stack offsets). */
export function planRegions(f: FuncCfg, skip: (i: JInsn) => boolean): RegionPlan {
  const n = f.blocks.length;
  const IN: (Int32Array | undefined)[] = new Array(n);
  const entry = f.blockAt.get(f.entry)!;
  const init = new Int32Array(10);
  for (let r = 1; r <= 5; r++) init[r] = r;
  IN[entry] = init;
  const work = [entry];
  const queued = new Uint8Array(n);
  queued[entry] = 1;
  while (work.length) {
    const b = work.pop()!;
    queued[b] = 0;
    const t = IN[b]!.slice();
    const blk = f.blocks[b]!;
    for (const i of blk.insns) transfer(t, i);
    for (const pc of blockSuccessors(blk.insns[blk.insns.length - 1]!)) {
      const s = f.blockAt.get(pc)!;
      const cur = IN[s];
      let changed = false;
      if (!cur) {
        IN[s] = t.slice();
        changed = true;
      } else {
        for (let r = 0; r < 10; r++) {
          if (cur[r] !== 0 && cur[r] !== t[r]) {
            cur[r] = 0;
            changed = true;
          }
        }
      }
      if (changed && !queued[s]) {
        queued[s] = 1;
        work.push(s);
      }
    }
  }
  const site = new Map<number, number>();
  const uses = new Map<number, Set<number>>();
  for (let b = 0; b < n; b++) {
    const t = IN[b]!.slice();
    for (const i of f.blocks[b]!.insns) {
      const k = kindOf(i);
      if ((k === 'load' || k === 'store' || k === 'atomic') && !skip(i)) {
        const base = baseOf(i);
        const o = base === 10 ? 0 : t[base]!;
        if (o) {
          site.set(i.pc, o);
          let u = uses.get(o);
          if (!u) uses.set(o, (u = new Set()));
          u.add(accessSize(i) * 2 + (k === 'load' ? 0 : 1));
        }
      }
      transfer(t, i);
    }
  }
  return { site, uses };
}
