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
 *   by their bytes) plus its first run (Liftoff code), in this process.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { assemble } from '../src/asm/index.js';
import { parseConformanceTest } from '../src/conformance/parse.js';
import { insn, type Insn } from '../src/isa/insn.js';
import { AluOp, Class } from '../src/isa/opcodes.js';
import { Vm, type VmEngine } from '../src/vm/vm.js';
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

export async function run(): Promise<BenchResult[]> {
  const shared = sharedDir();
  const packet = new Uint8Array(readFileSync(join(shared, 'bench', 'packet1500.bin')));
  const out: BenchResult[] = [];
  const us = (ns: number) => ns / 1000;
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
    for (let i = 0; i < 15; i++) {
      const variant = [insn(Class.ALU64 | AluOp.MOV, 9, 0, 0, unique++), ...insns];
      const t0 = performance.now();
      const v = prepare(variant, 'jit', pkt);
      const t1 = performance.now();
      v.vm.run(v.r1, v.r2);
      const t2 = performance.now();
      compiles.push(t1 - t0);
      firstRuns.push(t2 - t1);
    }
    const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
    out.push(
      result({ subject: SUBJECT, case: name, metric: 'warm construction (translate+compile+instantiate)', value: med(compiles), unit: 'ms', notes: 'median of 15 unique variants, in this process' }),
      result({ subject: SUBJECT, case: name, metric: 'first run after construction', value: med(firstRuns) * 1000, unit: 'µs', reference: { name: 'steady state', value: us(t.median) }, notes: 'Liftoff code' }),
    );
    const cold = coldRuns(name, 5);
    if ('ms' in cold) {
      out.push(result({ subject: SUBJECT, case: name, metric: 'cold: construction + first run, fresh process', value: cold.ms, unit: 'ms', notes: `median of ${cold.runs} processes` }));
    } else out.push(result({ subject: SUBJECT, case: name, metric: 'cold: construction + first run, fresh process', value: NaN, unit: 'ms', notes: cold.skip }));
    const kname = name === 'adler32_1500' ? 'adler32_1500_xdp' : name;
    const kprog = load(shared, kname);
    const k = await kernelRun(kprog.insns, pkt ?? new Uint8Array(64), kprog.result);
    if ('ns' in k) {
      out.push(
        result({ subject: SUBJECT, case: name, metric: 'steady run time (median)', value: us(t.median), unit: 'µs', reference: { name: 'kernel (measured now)', value: us(k.ns) }, notes: `kernel: ${kname}, BPF_PROG_TEST_RUN median of 7 x 1000 runs` }),
      );
    } else {
      out.push(result({ subject: SUBJECT, case: name, metric: 'kernel run time (BPF_PROG_TEST_RUN)', value: NaN, unit: 'µs', notes: k.skip }));
    }
  }
  return out;
}
