// Differential test: thousands of random valid programs give the same outcome on the JIT and on the interpreter:
// r0 and executed-instruction count, or the same fault kind at the same pc — and the same bytes in the input
// region afterwards. Seeded, so a failure reproduces (FUZZ_SEED, FUZZ_N to explore more).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError, VmError } from '../../src/errors.js';
import type { Insn } from '../../src/isa/insn.js';
import { Vm, type HelperImpl, type VmEngine } from '../../src/vm/index.js';
import { PRANDOM, randomProgram } from '../fixtures/programs.js';
import { randBelow as rng } from '../fixtures/random.js';

type Outcome = { r0?: bigint; insns?: number; fault?: string; mem: string; construct?: string };

function runOn(engine: VmEngine, prog: Insn[], writable: boolean, fill: number): Outcome {
  let seed = 7;
  const helpers = new Map<number, HelperImpl>([[PRANDOM, () => (seed = (seed * 1103515245 + 12345) >>> 0)]]);
  let vm: Vm;
  try {
    vm = new Vm(prog, { helpers, maxInsns: 3000, engine, callx: fill & 1 ? 'pc' : 'helper' });
  } catch (e) {
    if (e instanceof VmError || e instanceof DecodeError) return { construct: `${e.constructor.name} ${(e as VmError).kind ?? ''} ${e.pc}`, mem: '' };
    throw e;
  }
  const mem = new Uint8Array(40).map((_, i) => (i * 37 + fill) & 0xff);
  const r1 = vm.memory.map(mem, { writable, kind: 'mem' });
  try {
    const r0 = vm.run(r1, 40n);
    return { r0, insns: vm.lastRun.insns, mem: Buffer.from(mem).toString('hex') };
  } catch (e) {
    if (!(e instanceof VmError)) throw e;
    return { fault: `${e.kind}@${e.pc}`, mem: Buffer.from(mem).toString('hex') };
  }
}

test('random programs: same r0 / fault kind and pc / memory on the JIT and the interpreter', () => {
  const seed = Number(process.env.FUZZ_SEED ?? 4242);
  const count = Number(process.env.FUZZ_N ?? 3000);
  const r = rng(seed);
  const kinds = new Map<string, number>();
  let finished = 0;
  for (let i = 0; i < count; i++) {
    const prog = randomProgram(r, 2 + r(30));
    const writable = r(4) !== 0;
    const fill = r(256);
    const a = runOn('interp', prog, writable, fill);
    const b = runOn('jit', prog, writable, fill);
    assert.deepEqual(b, a, `program #${i} (seed ${seed}) differs:\n${prog.map((x, pc) => `${pc}: ${JSON.stringify(x)}`).join('\n')}`);
    if (a.fault) {
      const k = a.fault.split('@')[0]!;
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    } else if (!a.construct) finished++;
  }
  if (process.env.FUZZ_DEBUG) console.log({ finished, kinds: [...kinds] });
  assert.ok(finished > count / 10, `only ${finished} programs ran to completion`);
  for (const k of ['oob', 'perm', 'null', 'jump', 'budget', 'call-depth', 'helper']) assert.ok((kinds.get(k) ?? 0) > 0, `no '${k}' fault in ${JSON.stringify([...kinds])}`);
});
