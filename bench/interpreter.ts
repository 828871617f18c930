/**
 * Benchmark subject: the userspace interpreter (bounds checks on) on the shared bench programs
 * (xorshift_50k: 600,008 executed insns of 64-bit ALU; adler32_1500: 15,012 insns with a byte load per
 * 10 insns over ../shared/bench/packet1500.bin). Reports time per run and ns per executed instruction
 * (median and best of the trials, after warm-up), next to the documented uBPF-interpreter and kernel-JIT
 * figures of notes/vm-speed.md (constants, not measured here) and, when running as root, the kernel measured
 * live through BPF_PROG_TEST_RUN (XDP programs; adler32 uses its _xdp variant with the same packet).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assemble } from '../src/asm/index.js';
import { parseConformanceTest } from '../src/conformance/parse.js';
import type { Insn } from '../src/isa/insn.js';
import { Vm } from '../src/vm/vm.js';
import { result, sharedDir, timeIt, type BenchResult, kernelRun } from './harness.js';

const SUBJECT = 'interpreter';

/** Documented reference figures (notes/vm-speed.md), per run, in µs. */
const DOCUMENTED: Record<string, { ubpf: number; kernelJit: number; insns: number }> = {
  xorshift_50k: { ubpf: 3130, kernelJit: 82, insns: 600008 },
  adler32_1500: { ubpf: 67, kernelJit: 0.86, insns: 15012 },
};
const DOC_NOTE = 'documented in notes/vm-speed.md, not measured in this run';
/** Speed target of the interpreter, ns per executed instruction. */
const TARGET_NS_PER_INSN = 5;

function load(shared: string, name: string): { insns: Insn[]; result?: bigint } {
  const file = join(shared, 'bench', `${name}.data`);
  const t = parseConformanceTest(readFileSync(file, 'utf8'), file);
  if (t.asm === undefined) throw new Error(`${file}: no -- asm section`);
  return { insns: assemble(t.asm, { syntax: 'ubpf', file }), result: t.result };
}


export async function run(): Promise<BenchResult[]> {
  const shared = sharedDir();
  const packet = new Uint8Array(readFileSync(join(shared, 'bench', 'packet1500.bin')));
  const out: BenchResult[] = [];
  for (const name of ['xorshift_50k', 'adler32_1500'] as const) {
    const { insns, result: expected } = load(shared, name);
    const vm = new Vm(insns, { name });
    let r1 = 0n;
    let r2 = 0n;
    if (name === 'adler32_1500') {
      r1 = vm.memory.map(packet, { writable: true, kind: 'packet', name: 'packet1500.bin' });
      r2 = BigInt(packet.length);
    }
    const r0 = vm.run(r1, r2);
    if (expected !== undefined && r0 !== expected) throw new Error(`${name}: r0 0x${r0.toString(16)}, expected 0x${expected.toString(16)}`);
    const executed = vm.lastRun.insns;
    const t = timeIt(() => vm.run(r1, r2), { warmup: 30, trials: 21, minTrialMs: 20 });
    const doc = DOCUMENTED[name]!;
    const us = (ns: number) => ns / 1000;
    const notes = `${t.trials} trials x ${t.reps} runs, bounds checks on`;
    out.push(
      result({ subject: SUBJECT, case: name, metric: 'executed insns', value: executed, unit: 'insns', notes: executed === doc.insns ? 'as documented' : `documented ${doc.insns}` }),
      result({ subject: SUBJECT, case: name, metric: 'ns/insn (median)', value: t.median / executed, unit: 'ns', reference: { name: 'target', value: TARGET_NS_PER_INSN }, notes }),
      result({ subject: SUBJECT, case: name, metric: 'ns/insn (best)', value: t.best / executed, unit: 'ns', reference: { name: 'target', value: TARGET_NS_PER_INSN }, notes }),
      result({ subject: SUBJECT, case: name, metric: 'run time (median)', value: us(t.median), unit: 'µs', reference: { name: 'uBPF interpreter', value: doc.ubpf }, notes: DOC_NOTE }),
      result({ subject: SUBJECT, case: name, metric: 'run time (median)', value: us(t.median), unit: 'µs', reference: { name: 'kernel JIT', value: doc.kernelJit }, notes: DOC_NOTE }),
      result({ subject: SUBJECT, case: name, metric: 'run time (best)', value: us(t.best), unit: 'µs', reference: { name: 'uBPF interpreter', value: doc.ubpf }, notes: DOC_NOTE }),
    );
    // The kernel cannot take r1 = mem / r2 = len: xorshift ignores its input, adler32 uses the XDP variant.
    const kname = name === 'adler32_1500' ? 'adler32_1500_xdp' : name;
    const kprog = load(shared, kname);
    const k = await kernelRun(kprog.insns, name === 'adler32_1500' ? packet : new Uint8Array(64), kprog.result);
    if ('ns' in k) {
      out.push(
        result({ subject: SUBJECT, case: name, metric: 'kernel run time (BPF_PROG_TEST_RUN)', value: us(k.ns), unit: 'µs', reference: { name: 'kernel JIT', value: doc.kernelJit }, notes: `measured now (${kname}, median of 7 x 1000 runs); reference ${DOC_NOTE}` }),
        result({ subject: SUBJECT, case: name, metric: 'run time (median)', value: us(t.median), unit: 'µs', reference: { name: 'kernel (measured now)', value: us(k.ns) } }),
      );
    } else {
      out.push(result({ subject: SUBJECT, case: name, metric: 'kernel run time (BPF_PROG_TEST_RUN)', value: NaN, unit: 'µs', notes: k.skip }));
    }
  }
  return out;
}
