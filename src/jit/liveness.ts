/**
 * Register liveness for the JIT's hand-overs to the slow variant (codegen.ts): a register that no later
 * instruction can read before writing it is passed as 0 instead of its value, so its value need not stay in a
 * machine register through a loop just for the rare hand-over. Conservative: calls (helpers, callx, local
 * calls, tail calls) read every register, an exit reads r0..r5 (what a caller gets back), faults read none.
 */
import type { FuncCfg, JInsn } from './cfg.js';
import { kindOf } from './cfg.js';
import { blockSuccessors } from './budget.js';

/** Bit r for register r (r0..r9). */
const ALL = 0x3ff;
const RET = 0x3f;

/** Registers read (`use`) and written (`def`) by one instruction, as bit masks of r0..r9. */
function useDef(i: JInsn): { use: number; def: number } {
  const b = (r: number) => (r <= 9 ? 1 << r : 0);
  const op = i.op;
  switch (kindOf(i)) {
    case 'alu': {
      const x = (op & 0x08) !== 0;
      const cls = op & 7;
      // Interpreter variants (sign-extending moves, signed division) keep ALU class bits 4/7 or LD-class codes.
      const isMov = (cls === 4 || cls === 7) && (op & 0xf0) === 0xb0;
      const ext = op === 0x60 || op === 0x68 || op === 0x70 || op === 0x78 || op === 0x80;
      if (ext) return { use: b(i.src), def: b(i.dst) };
      if (isMov) return { use: x ? b(i.src) : 0, def: b(i.dst) };
      // Everything else reads dst and, for register forms, src (the interpreter's signed-division codes: src
      // always, reading too much is harmless).
      return { use: b(i.dst) | (x || (cls !== 4 && cls !== 7) ? b(i.src) : 0), def: b(i.dst) };
    }
    case 'endian':
      return { use: b(i.dst), def: b(i.dst) };
    case 'lddw':
      return { use: 0, def: b(i.dst) };
    case 'load':
      return { use: b(i.src), def: b(i.dst) };
    case 'store':
      return { use: b(i.dst) | (op & 1 ? b(i.src) : 0), def: 0 };
    case 'atomic':
      return { use: b(i.dst) | b(i.src) | (i.imm === 0xf1 ? 1 : 0), def: 0 };
    case 'legacy':
      return { use: (op & 0xe0) === 0x40 ? b(i.src) : 0, def: 1 };
    case 'cond':
      return { use: b(i.dst) | (op & 0x08 ? b(i.src) : 0), def: 0 };
    case 'exit':
      return { use: RET, def: 0 };
    case 'helper':
    case 'call':
    case 'callx':
      return { use: ALL, def: 0 };
    default:
      return { use: 0, def: 0 };
  }
}

/** Live registers of a function: at each block start and before each instruction (by pc). */
export interface Liveness {
  /** Registers live before the instruction at `pc` (bit r = rr). */
  before: Map<number, number>;
}

/** Compute liveness for `f`. */
export function liveness(f: FuncCfg): Liveness {
  const n = f.blocks.length;
  const ud = f.blocks.map((blk) => blk.insns.map(useDef));
  const liveIn = new Array<number>(n).fill(0);
  const succ = f.blocks.map((blk) => blockSuccessors(blk.insns[blk.insns.length - 1]!).map((pc) => f.blockAt.get(pc)!));
  for (let changed = true; changed; ) {
    changed = false;
    for (let b = n - 1; b >= 0; b--) {
      let live = 0;
      for (const s of succ[b]!) live |= liveIn[s]!;
      const u = ud[b]!;
      for (let k = u.length - 1; k >= 0; k--) live = (live & ~u[k]!.def) | u[k]!.use;
      if (live !== liveIn[b]) {
        liveIn[b] = live;
        changed = true;
      }
    }
  }
  const before = new Map<number, number>();
  for (let b = 0; b < n; b++) {
    let live = 0;
    for (const s of succ[b]!) live |= liveIn[s]!;
    const blk = f.blocks[b]!;
    const u = ud[b]!;
    for (let k = u.length - 1; k >= 0; k--) {
      live = (live & ~u[k]!.def) | u[k]!.use;
      before.set(blk.insns[k]!.pc, live);
    }
  }
  return { before };
}
