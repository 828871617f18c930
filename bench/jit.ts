/**
 * Benchmark subject: the WebAssembly JIT (src/jit, `new Vm(insns, { engine: 'jit' })`) on the shared bench
 * programs xorshift_50k (600,008 insns of 64-bit ALU) and adler32_1500 (15,012 insns, a byte load per 10 insns).
 *
 * - steady state: after warm-up (TurboFan tier-up), per run, median and best of the trials, ns per insn;
 *   compared with the interpreter measured now, the kernel measured now (BPF_PROG_TEST_RUN, root only; adler32
 *   as its _xdp variant), and the documented figures of notes/vm-speed.md (uBPF interpreter, kernel JIT, the
 *   note's WebAssembly prototype).
 * - cold: first call in a fresh Node process, construction (translate + compile + instantiate) included;
 *   median of 5 processes.
 * - warm compile: construction of a program V8 has not seen (a unique `mov r9, k` prepended: V8 caches modules
 *   by their bytes) plus its first run (Liftoff code), in this process; the construction split into translation
 *   (eBPF -> Wasm bytes), `new WebAssembly.Module` and instantiation.
 * - adler32_1500 the XDP way (packet reached through data / data_end pointers loaded from a context), against the
 *   same kernel measurement.
 * - a large program: xorshift unrolled into 600,000 straight-line instructions (no loop): construction time
 *   (split as above), first run and steady run, against the interpreter.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { assemble } from '../src/asm/index.js';
import { parseConformanceTest } from '../src/conformance/parse.js';
import { insn, lddw, type Insn } from '../src/isa/insn.js';
import { AluOp, Class, JmpOp, Size, Source } from '../src/isa/opcodes.js';
import { Vm, type VmEngine } from '../src/vm/vm.js';
import type { CompileStats } from '../src/jit/index.js';
import { projectRoot, result, sharedDir, timeIt, type BenchResult, kernelRun } from './harness.js';

const SUBJECT = 'jit';

/** Documented reference figures (notes/vm-speed.md), per run, in µs. */
const DOCUMENTED: Record<string, { ubpf: number; kernelJit: number; notePrototype: number; insns: number }> = {
  xorshift_50k: { ubpf: 3130, kernelJit: 82, notePrototype: 102, insns: 600008 },
  adler32_1500: { ubpf: 67, kernelJit: 0.86, notePrototype: 2.34, insns: 15012 },
};
const DOC_NOTE = 'documented in notes/vm-speed.md, not measured in this run';

function load(shared: string, name: string): { insns: Insn[]; result?: bigint } {
  const file = join(shared, 'bench', `${name}.data`);
  const t = parseConformanceTest(readFileSync(file, 'utf8'), file);
  if (t.asm === undefined) throw new Error(`${file}: no -- asm section`);
  return { insns: assemble(t.asm, { syntax: 'ubpf', file }), result: t.result };
}

function prepare(insns: Insn[], engine: VmEngine, packet: Uint8Array | undefined): { vm: Vm; r1: bigint; r2: bigint } {
  const vm = new Vm(insns, { engine });
  if (!packet) return { vm, r1: 0n, r2: 0n };
  return { vm, r1: vm.memory.map(packet, { writable: true, kind: 'packet', name: 'packet1500.bin' }), r2: BigInt(packet.length) };
}


/** Construction + first run in fresh Node processes (ms, median of `n`). */
function coldRuns(name: string, n: number): { ms: number; runs: number } | { skip: string } {
  const root = projectRoot();
  const url = (p: string) => pathToFileURL(join(root, 'dist', p)).href;
  const script = `
    const { readFileSync } = await import('node:fs');
    const { Vm } = await import(${JSON.stringify(url('src/vm/vm.js'))});
    const { assemble } = await import(${JSON.stringify(url('src/asm/index.js'))});
    const { parseConformanceTest } = await import(${JSON.stringify(url('src/conformance/parse.js'))});
    const shared = ${JSON.stringify(sharedDir())};
    const file = shared + '/bench/${name}.data';
    const insns = assemble(parseConformanceTest(readFileSync(file, 'utf8'), file).asm, { syntax: 'ubpf' });
    const packet = new Uint8Array(readFileSync(shared + '/bench/packet1500.bin'));
    const t0 = performance.now();
    const vm = new Vm(insns, { engine: 'jit' });
    let r1 = 0n, r2 = 0n;
    if (${name === 'adler32_1500'}) { r1 = vm.memory.map(packet, { writable: true, kind: 'packet' }); r2 = BigInt(packet.length); }
    vm.run(r1, r2);
    process.stdout.write(String(performance.now() - t0));`;
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    if (p.status !== 0) return { skip: `child failed: ${p.stderr.split('\n')[0]}` };
    times.push(Number(p.stdout));
  }
  times.sort((a, b) => a - b);
  return { ms: times[times.length >> 1]!, runs: n };
}

let unique = 1;

/** xorshift64 unrolled: `rounds` copies of the 11-instruction body, straight line (11 x rounds + 5 instructions). */
function unrolledXorshift(rounds: number): Insn[] {
  const A = Class.ALU64;
  const body: Insn[] = [
    insn(A | AluOp.MOV | Source.X, 3, 1),
    insn(A | AluOp.LSH | Source.K, 3, 0, 0, 13),
    insn(A | AluOp.XOR | Source.X, 1, 3),
    insn(A | AluOp.MOV | Source.X, 3, 1),
    insn(A | AluOp.RSH | Source.K, 3, 0, 0, 7),
    insn(A | AluOp.XOR | Source.X, 1, 3),
    insn(A | AluOp.MOV | Source.X, 3, 1),
    insn(A | AluOp.LSH | Source.K, 3, 0, 0, 17),
    insn(A | AluOp.XOR | Source.X, 1, 3),
    insn(A | AluOp.ADD | Source.X, 0, 1),
    insn(A | AluOp.ADD | Source.K, 2, 0, 0, 1),
  ];
  const prog: Insn[] = [insn(A | AluOp.MOV | Source.K, 0, 0, 0, 0), ...lddw(1, 0x2545f4914f6cdd1dn), insn(A | AluOp.MOV | Source.K, 2, 0, 0, 0)];
  for (let k = 0; k < rounds; k++) prog.push(...body);
  prog.push(insn(Class.JMP | JmpOp.EXIT));
  return prog;
}

/**
 * adler32_1500 the XDP way: r1 = a context holding 8-byte data and data_end pointers (what the collection
 * runtime's context rewrite makes of xdp_md), the packet reached through pointers loaded from it.
 */
function ctxPointers(shared: string, packet: Uint8Array, kernelNs: number | undefined): BenchResult[] {
  const name = 'adler32_1500 (ctx pointers)';
  const { insns: xdp, result: expected } = load(shared, 'adler32_1500_xdp');
  // ldxw r2, [r1+4] / ldxw r1, [r1+0] -> 8-byte loads at 8 / 0.
  const insns = xdp.map((i, pc) => (pc < 2 ? { ...i, code: (i.code & ~0x18) | Size.DW, off: i.off === 4 ? 8 : 0 } : i));
  const vm = new Vm(insns, { engine: 'jit' });
  const base = vm.memory.map(packet, { writable: true, kind: 'packet' });
  const ctx = new Uint8Array(16);
  new DataView(ctx.buffer).setBigUint64(0, base, true);
  new DataView(ctx.buffer).setBigUint64(8, base + BigInt(packet.length), true);
  const r1 = vm.memory.map(ctx, { writable: false, kind: 'ctx' });
  const r0 = vm.run(r1);
  if (expected !== undefined && r0 !== expected) throw new Error(`${name}: JIT r0 0x${r0.toString(16)}, expected 0x${expected.toString(16)}`);
  const t = timeIt(() => vm.run(r1), { warmup: 200, trials: 21, minTrialMs: 20 });
  const ref = kernelNs !== undefined ? { name: 'kernel (measured now)', value: kernelNs / 1000 } : undefined;
  return [
    result({ subject: SUBJECT, case: name, metric: 'steady run time (median)', value: t.median / 1000, unit: 'µs', reference: ref, notes: 'kernel: adler32_1500_xdp, as above' }),
    result({ subject: SUBJECT, case: name, metric: 'steady run time (best)', value: t.best / 1000, unit: 'µs' }),
  ];
}

/** Construction (split), first run and steady state of a 600k-instruction straight-line program. */
function largeProgram(): BenchResult[] {
  const name = 'xorshift_600k_unrolled';
  const insns = [insn(Class.ALU64 | AluOp.MOV | Source.K, 9, 0, 0, unique++), ...unrolledXorshift(54545)];
  const t0 = performance.now();
  const vm = new Vm(insns, { engine: 'jit' });
  const t1 = performance.now();
  const r0 = vm.run();
  const t2 = performance.now();
  if (!vm.jit) return [result({ subject: SUBJECT, case: name, metric: 'construction (new Vm, engine jit)', value: NaN, unit: 'ms', notes: vm.jitFallback ?? 'no JIT' })];
  const stats = vm.jit.program.stats;
  const t = timeIt(() => vm.run(), { warmup: 5, trials: 7, minTrialMs: 20 });
  const t3 = performance.now();
  const interp = new Vm(insns);
  const t4 = performance.now();
  const ri = interp.run();
  const t5 = performance.now();
  if (ri !== r0) throw new Error(`${name}: JIT r0 0x${r0.toString(16)}, interpreter 0x${ri.toString(16)}`);
  const split = `translate ${stats.translateMs.toFixed(1)} ms, compile ${stats.compileMs.toFixed(1)} ms, instantiate ${stats.instantiateMs.toFixed(2)} ms; the rest: the Vm's own checks`;
  return [
    result({ subject: SUBJECT, case: name, metric: 'executed insns', value: vm.lastRun.insns, unit: 'insns', notes: `${insns.length} instructions, no loop` }),
    result({ subject: SUBJECT, case: name, metric: 'construction (new Vm, engine jit)', value: t1 - t0, unit: 'ms', reference: { name: 'interpreter construction', value: t4 - t3 }, notes: split }),
    result({ subject: SUBJECT, case: name, metric: 'module size', value: stats.wasmBytes, unit: 'bytes' }),
    result({ subject: SUBJECT, case: name, metric: 'first run after construction', value: t2 - t1, unit: 'ms', reference: { name: 'interpreter run', value: t5 - t4 }, notes: 'Liftoff code' }),
    result({ subject: SUBJECT, case: name, metric: 'steady run time (median)', value: t.median / 1e6, unit: 'ms', reference: { name: 'interpreter run', value: t5 - t4 } }),
  ];
}

export async function run(): Promise<BenchResult[]> {
  const shared = sharedDir();
  const packet = new Uint8Array(readFileSync(join(shared, 'bench', 'packet1500.bin')));
  const out: BenchResult[] = [];
  const us = (ns: number) => ns / 1000;
  let kernelAdlerNs: number | undefined;
  for (const name of ['xorshift_50k', 'adler32_1500'] as const) {
    const { insns, result: expected } = load(shared, name);
    const pkt = name === 'adler32_1500' ? packet : undefined;
    const doc = DOCUMENTED[name]!;
    const jit = prepare(insns, 'jit', pkt);
    const r0 = jit.vm.run(jit.r1, jit.r2);
    if (expected !== undefined && r0 !== expected) throw new Error(`${name}: JIT r0 0x${r0.toString(16)}, expected 0x${expected.toString(16)}`);
    const executed = jit.vm.lastRun.insns;
    const stats = jit.vm.jit!.program.stats;
    const t = timeIt(() => jit.vm.run(jit.r1, jit.r2), { warmup: 200, trials: 21, minTrialMs: 20 });
    const interp = prepare(insns, 'interp', pkt);
    const ti = timeIt(() => interp.vm.run(interp.r1, interp.r2), { warmup: 30, trials: 11, minTrialMs: 20 });
    const notes = `${t.trials} trials x ${t.reps} runs after warm-up, bounds checks and budget on`;
    out.push(
      result({ subject: SUBJECT, case: name, metric: 'executed insns', value: executed, unit: 'insns', notes: executed === doc.insns ? 'as documented' : `documented ${doc.insns}` }),
      result({ subject: SUBJECT, case: name, metric: 'steady ns/insn (median)', value: t.median / executed, unit: 'ns', notes }),
      result({ subject: SUBJECT, case: name, metric: 'steady run time (median)', value: us(t.median), unit: 'µs', reference: { name: 'interpreter (measured now)', value: us(ti.median) } }),
      result({ subject: SUBJECT, case: name, metric: 'steady run time (best)', value: us(t.best), unit: 'µs', reference: { name: 'interpreter best (measured now)', value: us(ti.best) } }),
      result({ subject: SUBJECT, case: name, metric: 'steady run time (median)', value: us(t.median), unit: 'µs', reference: { name: 'note Wasm prototype', value: doc.notePrototype }, notes: DOC_NOTE }),
      result({ subject: SUBJECT, case: name, metric: 'steady run time (median)', value: us(t.median), unit: 'µs', reference: { name: 'uBPF interpreter', value: doc.ubpf }, notes: DOC_NOTE }),
      result({ subject: SUBJECT, case: name, metric: 'steady run time (median)', value: us(t.median), unit: 'µs', reference: { name: 'kernel JIT (documented)', value: doc.kernelJit }, notes: DOC_NOTE }),
      result({ subject: SUBJECT, case: name, metric: 'module size', value: stats.wasmBytes, unit: 'bytes', notes: `${stats.functions} function(s)` }),
    );
    // Warm compile of a program V8 has not seen, and its first (Liftoff) run.
    const compiles: number[] = [];
    const firstRuns: number[] = [];
    const splits: CompileStats[] = [];
    for (let i = 0; i < 15; i++) {
      const variant = [insn(Class.ALU64 | AluOp.MOV, 9, 0, 0, unique++), ...insns];
      const t0 = performance.now();
      const v = prepare(variant, 'jit', pkt);
      const t1 = performance.now();
      v.vm.run(v.r1, v.r2);
      const t2 = performance.now();
      compiles.push(t1 - t0);
      firstRuns.push(t2 - t1);
      splits.push(v.vm.jit!.program.stats);
    }
    const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
    out.push(
      result({ subject: SUBJECT, case: name, metric: 'warm construction (translate+compile+instantiate)', value: med(compiles), unit: 'ms', notes: `median of 15 unique variants, in this process; of which translate ${med(splits.map((x) => x.translateMs)).toFixed(2)} ms, compile ${med(splits.map((x) => x.compileMs)).toFixed(2)} ms, instantiate ${med(splits.map((x) => x.instantiateMs)).toFixed(2)} ms (medians)` }),
      result({ subject: SUBJECT, case: name, metric: 'first run after construction', value: med(firstRuns) * 1000, unit: 'µs', reference: { name: 'steady state', value: us(t.median) }, notes: 'Liftoff code' }),
    );
    const cold = coldRuns(name, 5);
    if ('ms' in cold) {
      out.push(result({ subject: SUBJECT, case: name, metric: 'cold: construction + first run, fresh process', value: cold.ms, unit: 'ms', notes: `median of ${cold.runs} processes` }));
    } else out.push(result({ subject: SUBJECT, case: name, metric: 'cold: construction + first run, fresh process', value: NaN, unit: 'ms', notes: cold.skip }));
    const kname = name === 'adler32_1500' ? 'adler32_1500_xdp' : name;
    const kprog = load(shared, kname);
    const k = await kernelRun(kprog.insns, pkt ?? new Uint8Array(64), kprog.result);
    if ('ns' in k && name === 'adler32_1500') kernelAdlerNs = k.ns;
    if ('ns' in k) {
      out.push(
        result({ subject: SUBJECT, case: name, metric: 'steady run time (median)', value: us(t.median), unit: 'µs', reference: { name: 'kernel (measured now)', value: us(k.ns) }, notes: `kernel: ${kname}, BPF_PROG_TEST_RUN median of 7 x 1000 runs` }),
      );
    } else {
      out.push(result({ subject: SUBJECT, case: name, metric: 'kernel run time (BPF_PROG_TEST_RUN)', value: NaN, unit: 'µs', notes: k.skip }));
    }
  }
  out.push(...ctxPointers(shared, packet, kernelAdlerNs));
  out.push(...largeProgram());
  return out;
}
