/**
 * Assemble the WebAssembly module of one eBPF program: one Wasm function per eBPF function entry (codegen.ts),
 * plus an exported trampoline `e<pc>(depth)` per entry that loads r0..r9 and the budget from the spill area,
 * calls the function and stores r0..r5 and the budget back (JavaScript never passes or receives i64 values).
 */
import { buildFunction, isMemory, kindOf, type FuncCfg, type JInsn } from './cfg.js';
import { planBudget } from './budget.js';
import { stackOnly } from './codegen.js';
import { emitFunction, IMPORT_COUNT } from './codegen.js';
import { REGS, REM, INITIAL_PAGES } from './layout.js';
import { Bytes, encodeModule, I32, I64, W, type FuncBody, type FuncType } from './wasm.js';

const T_FUNC = 0;
const T_I32_VOID = 1;
const T_II_I = 2;
const T_MISS = 3;
const T_III_VOID = 4;

const TYPES: FuncType[] = [
  { params: [...Array(11).fill(I64), I32], results: Array(7).fill(I64) },
  { params: [I32], results: [] },
  { params: [I32, I32], results: [I32] },
  { params: [I32, I32, I32, I32, I32], results: [I32] },
  { params: [I32, I32, I32], results: [] },
];

/** Import names in function-index order (must match codegen's IMP). */
export const IMPORT_NAMES = ['helper', 'callx', 'miss', 'fault', 'tail', 'ldabs'] as const;
const IMPORT_TYPES = [T_II_I, T_II_I, T_MISS, T_III_VOID, T_I32_VOID, T_III_VOID];

/** Build the module bytes for these function entries. */
export function buildModule(insns: (JInsn | undefined)[], entries: readonly number[]): Uint8Array {
  const index = new Map<number, number>();
  entries.forEach((pc, k) => index.set(pc, IMPORT_COUNT + k));
  const funcIndex = (pc: number) => {
    const f = index.get(pc);
    if (f === undefined) throw new Error(`JIT: ${pc} is not a function entry`);
    return f;
  };
  const fast: FuncBody[] = [];
  const slow: FuncBody[] = [];
  const slowBase = IMPORT_COUNT + entries.length;
  for (const pc of entries) {
    const cfg = buildFunction(insns, pc);
    const budget = planBudget(cfg);
    const needsSlow = budget !== undefined || cfg.blocks.some((b) => b.insns.some((i) => isMemory(kindOf(i)) && !stackOnly(i)));
    let slowOpt: { cfg: FuncCfg; index: number } | undefined;
    if (needsSlow) {
      const scfg = buildFunction(insns, pc, true);
      slowOpt = { cfg: scfg, index: slowBase + slow.length };
      slow.push({ type: T_FUNC, ...emitFunction(scfg, { funcIndex, slowVariant: true }) });
    }
    fast.push({ type: T_FUNC, ...emitFunction(cfg, { funcIndex, slow: slowOpt, budget }) });
  }
  const funcs = [...fast, ...slow];
  const exports: { name: string; func: number }[] = [];
  const trampBase = IMPORT_COUNT + funcs.length;
  entries.forEach((pc, k) => {
    funcs.push({ type: T_I32_VOID, locals: Array(7).fill(I64), code: trampoline(IMPORT_COUNT + k) });
    exports.push({ name: `e${pc}`, func: trampBase + k });
  });
  return encodeModule({
    types: TYPES,
    imports: IMPORT_NAMES.map((name, k) => ({ name, type: IMPORT_TYPES[k]! })),
    memoryPages: INITIAL_PAGES,
    funcs,
    exports,
  });
}

function trampoline(fn: number): Bytes {
  const c = new Bytes();
  for (let r = 0; r <= 9; r++) c.byte(W.i32_const).s32(REGS).byte(W.i64_load).u32(3).u32(r * 8);
  c.byte(W.i32_const).s32(REGS).byte(W.i64_load).u32(3).u32(REM);
  c.byte(W.local_get).u32(0);
  c.byte(W.call).u32(fn);
  // Results r0..r5, rem: pop into locals 1..7 (rem first), then store.
  for (let l = 7; l >= 1; l--) c.byte(W.local_set).u32(l);
  for (let r = 0; r <= 5; r++) c.byte(W.i32_const).s32(REGS).byte(W.local_get).u32(1 + r).byte(W.i64_store).u32(3).u32(r * 8);
  c.byte(W.i32_const).s32(REGS).byte(W.local_get).u32(7).byte(W.i64_store).u32(3).u32(REM);
  return c;
}
