// The JIT's fast paths keep the interpreter's semantics exactly: budget checked at check points only (every
// budget up to exhaustion gives the same fault pc and instruction count), accesses through argument-derived
// pointers checked against the argument's region (every out-of-range offset and size faults alike), stack
// pointers passed to subprograms, regions too large for the argument window, nested runs sharing the window,
// and write-back only of regions the program may have written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/index.js';
import { VmError } from '../../src/errors.js';
import { helperByName } from '../../src/isa/helpers.js';
import { Vm, VmMemory, type HelperImpl, type VmEngine, type VmEngineOptions } from '../../src/vm/index.js';
import { buildFunction, decode } from '../../src/jit/cfg.js';
import { planBudget } from '../../src/jit/budget.js';
import { planRegions } from '../../src/jit/regions.js';
import { stackOnly } from '../../src/jit/codegen.js';

const asm = (text: string) => assemble(text, { syntax: 'ubpf' });
const id = (name: string) => helperByName(name)!.id;

/** Outcome of one run: r0 and instruction count, or the fault kind@pc; plus the region's bytes afterwards. */
function outcome(engine: VmEngine, text: string, data: Uint8Array, opts: VmEngineOptions = {}, writable = true): string {
  const vm = new Vm(asm(text), { ...opts, engine });
  const bytes = data.slice();
  const r1 = vm.memory.map(bytes, { writable, kind: 'packet' });
  let res: string;
  try {
    res = `r0=${vm.run(r1, BigInt(bytes.length))} insns=${vm.lastRun.insns}`;
  } catch (e) {
    if (!(e instanceof VmError)) throw e;
    res = `${e.kind}@${e.pc}`;
  }
  return `${res} mem=${Buffer.from(bytes).toString('hex')}`;
}

function same(text: string, data: Uint8Array, opts: VmEngineOptions = {}, writable = true): string {
  const j = outcome('jit', text, data, opts, writable);
  assert.equal(j, outcome('interp', text, data, opts, writable), `${text}\nopts ${JSON.stringify(opts)}`);
  return j;
}

const packet = Uint8Array.from({ length: 64 }, (_, i) => (i * 29 + 3) & 0xff);

// Adler-32 as in the shared bench (r1 = packet, r2 = length), over 64 bytes.
const ADLER = `add %r2, %r1
mov %r6, 1
mov %r7, 0
mov %r8, 0
mov %r3, %r1
loop:
jge %r8, 64, done
mov %r4, %r3
add %r4, 1
jgt %r4, %r2, done
ldxb %r5, [%r3+0]
add %r6, %r5
add %r7, %r6
mov %r3, %r4
add %r8, 1
ja loop
done:
mod %r6, 65521
mod %r7, 65521
lsh %r7, 16
or %r7, %r6
mov %r0, %r7
exit`;

test('check-point budget: the loop pays one subtract per iteration, checked once at its header', () => {
  const vm = new Vm(asm(ADLER));
  const f = buildFunction(decode(vm.prog), 0);
  const plan = planBudget(f)!;
  assert.ok(plan, 'a function with a loop gets a plan');
  const header = f.blockAt.get(5)!;
  assert.equal(plan.need.get(header), 10, 'the longest path from the header: 10 instructions');
  assert.deepEqual([...plan.need.keys()].sort(), [0, header].sort(), 'check points: entry and loop header');
  // The blocks of the loop body inherit the header's uncounted instructions: only the back edge subtracts.
  assert.equal(plan.pending[f.blockAt.get(6)!], 1);
  assert.equal(plan.pending[f.blockAt.get(9)!], 4);
  assert.equal(planBudget(buildFunction(decode(new Vm(asm('mov %r0, 1\nexit')).prog), 0)), undefined, 'no loop, no plan');
});

test('check-point budget: every budget up to exhaustion faults at the interpreter\'s pc (loop over a packet)', () => {
  for (let budget = 1; budget <= 653; budget++) same(ADLER, packet, { maxInsns: budget });
  assert.match(same(ADLER, packet), /^r0=\d+ insns=652 /);
});

test('check-point budget: nested loops, helper and local calls inside loops, every budget', () => {
  const helpers = new Map<number, HelperImpl>([[id('get_prandom_u32'), () => 3]]);
  const text = `mov %r6, 0
mov %r7, 0
outer:
mov %r8, 0
inner:
add %r7, %r8
add %r8, 1
jlt %r8, 3, inner
call ${id('get_prandom_u32')}
add %r7, %r0
mov %r1, %r7
call local sub
mov %r7, %r0
add %r6, 1
jlt %r6, 4, outer
mov %r0, %r7
exit
sub:
mov %r0, %r1
mov %r2, 0
subloop:
add %r0, 1
add %r2, 1
jlt %r2, 2, subloop
exit`;
  const full = same(text, packet, { helpers });
  const insns = Number(/insns=(\d+)/.exec(full)![1]);
  for (let budget = 1; budget <= insns + 1; budget++) same(text, packet, { helpers, maxInsns: budget });
});

test('argument-region fast path: every offset and size at the region bounds faults like the interpreter', () => {
  const sizes: [string, string, number][] = [
    ['ldxb', 'stxb', 1],
    ['ldxh', 'stxh', 2],
    ['ldxw', 'stxw', 4],
    ['ldxdw', 'stxdw', 8],
  ];
  const data = packet.subarray(0, 24);
  for (const [ld, st, size] of sizes) {
    for (let off = -9; off <= 24 + 1; off++) {
      // Through r1 itself, through a copy moved by constants (still derived from r1), in a loop.
      same(`${ld} %r0, [%r1${off < 0 ? off : '+' + off}]\nexit`, data);
      same(`mov %r3, %r1\nadd %r3, ${off + 100}\nsub %r3, 100\nmov %r6, 0\nloop:\n${ld} %r0, [%r3+0]\nadd %r6, 1\njlt %r6, 3, loop\nexit`, data);
      same(`mov %r3, %r1\nmov %r0, 0x5a\n${st} [%r3${off < 0 ? off : '+' + off}], %r0\nexit`, data);
      same(`mov %r3, %r1\nmov %r0, 0x5a\n${st} [%r3${off < 0 ? off : '+' + off}], %r0\nexit`, data, {}, false);
    }
    assert.match(same(`${ld} %r0, [%r1+${24 - size}]\nexit`, data), /^r0=/, 'the last in-range offset hits');
  }
  // A region shorter than the access.
  same('ldxdw %r0, [%r1+0]\nexit', packet.subarray(0, 5));
  same('ldxw %r0, [%r1+1]\nexit', packet.subarray(0, 5));
  // A pointer moved to another region (the stack) through an argument-derived register: still exact.
  same('mov %r3, %r1\nsub %r3, %r1\nadd %r3, %r10\nstdw [%r10-8], 7\nldxdw %r0, [%r3-8]\nexit', packet);
});

test('subprograms: argument pointers into the caller\'s stack and into the packet', () => {
  const text = `stdw [%r10-16], 5
stdw [%r10-8], 9
mov %r6, %r1
mov %r1, %r10
add %r1, -16
call local sum
mov %r7, %r0
mov %r1, %r6
call local sum
add %r0, %r7
exit
sum:
mov %r0, 0
mov %r2, 0
l:
ldxdw %r3, [%r1+0]
add %r0, %r3
stxdw [%r1+0], %r0
add %r1, 8
add %r2, 1
jlt %r2, 2, l
ldxdw %r3, [%r1+0]
exit`;
  // The second call reads past the 16 stack bytes it was given in the first call (r1 + 16 = the frame end).
  same(text, packet);
  same(text.replace('ldxdw %r3, [%r1+0]\nexit', 'exit'), packet);
  const vm = new Vm(asm(text.replace('ldxdw %r3, [%r1+0]\nexit', 'exit')));
  const f = buildFunction(decode(vm.prog), 11);
  assert.ok(planRegions(f, stackOnly).site.size >= 2, 'the subprogram\'s accesses through r1 use the fast path');
});

test('regions larger than the argument window, and runs nested in a helper sharing the window', () => {
  const big = Uint8Array.from({ length: 40000 }, (_, i) => (i * 7) & 0xff);
  const sumLoop = `mov %r0, 0
mov %r3, %r1
add %r2, %r1
loop:
mov %r4, %r3
add %r4, 8
jgt %r4, %r2, done
ldxdw %r5, [%r3+0]
add %r0, %r5
stxdw [%r3+0], %r0
mov %r3, %r4
ja loop
done:
exit`;
  same(sumLoop, big);
  same(sumLoop, packet);
  // A helper runs another program on the same memory (its packet goes into the window too), then the outer
  // program keeps reading its own packet.
  const results = (['interp', 'jit'] as const).map((engine) => {
    const memory = new VmMemory();
    const inner = new Vm(asm('ldxb %r0, [%r1+1]\nstb [%r1+0], 99\nexit'), { engine, memory });
    const other = Uint8Array.of(10, 20, 30);
    const otherBase = memory.map(other, { writable: true, kind: 'packet' });
    const helpers = new Map<number, HelperImpl>([[id('get_prandom_u32'), () => inner.run(otherBase)]]);
    const outer = new Vm(asm(`mov %r6, %r1\nldxb %r7, [%r6+2]\ncall ${id('get_prandom_u32')}\nldxb %r8, [%r6+3]\nadd %r0, %r7\nadd %r0, %r8\nstb [%r6+0], 1\nexit`), { engine, memory, helpers });
    const mine = packet.slice(0, 8);
    const r0 = outer.run(memory.map(mine, { writable: true, kind: 'packet' }));
    return { r0, other: [...other], mine: [...mine] };
  });
  assert.deepEqual(results[1], results[0]);
  assert.equal(results[1]!.other[0], 99);
  assert.equal(results[1]!.mine[0], 1);
});

/** A Uint8Array that counts the copies into it (write-backs of the JIT's paged-in copy). */
class CountingBytes extends Uint8Array {
  copies = 0;
  override set(array: ArrayLike<number>, offset?: number): void {
    this.copies++;
    super.set(array, offset);
  }
}

test('write-back: a run that only reads a writable packet copies nothing back; one that writes does', () => {
  const read = new Vm(asm(ADLER), { engine: 'jit' });
  const bytes = new CountingBytes(64);
  bytes.set(packet);
  bytes.copies = 0;
  const r1 = read.memory.map(bytes, { writable: true, kind: 'packet' });
  const r0 = read.run(r1, 64n);
  const interp = new Vm(asm(ADLER));
  assert.equal(r0, interp.run(interp.memory.map(packet.slice(), { writable: true, kind: 'packet' }), 64n));
  assert.equal(bytes.copies, 0, 'nothing written back');
  const write = new Vm(asm('ldxb %r0, [%r1+3]\nadd %r0, 1\nstxb [%r1+3], %r0\nexit'), { engine: 'jit', memory: read.memory });
  write.run(r1);
  assert.ok(bytes.copies >= 1, 'written back');
  assert.equal(bytes[3], (packet[3]! + 1) & 0xff);
  // Through the segment table (an untagged pointer loaded from memory) too.
  const via = new Vm(asm('stxdw [%r10-8], %r1\nldxdw %r2, [%r10-8]\nstb [%r2+5], 77\nexit'), { engine: 'jit', memory: read.memory });
  via.run(r1);
  assert.equal(bytes[5], 77);
});

/** Run `text` with r1 = a read-only context holding 8-byte pointers (data, data_end, then `extra`). */
function ctxOutcome(engine: VmEngine, text: string, data: Uint8Array, headroom: number, extra: (bases: bigint[]) => bigint[] = () => []): string {
  const memory = new VmMemory();
  const vm = new Vm(asm(text), { engine, memory });
  const bytes = data.slice();
  const others = [Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), Uint8Array.of(9, 10, 11, 12)];
  const bases = [memory.map(bytes, { writable: true, kind: 'packet' }), ...others.map((o) => memory.map(o, { writable: true, kind: 'map_value' }))];
  const ptrs = [bases[0]! + BigInt(headroom), bases[0]! + BigInt(bytes.length), ...extra(bases)];
  const ctx = new Uint8Array(8 * ptrs.length);
  ptrs.forEach((p, k) => new DataView(ctx.buffer).setBigUint64(8 * k, p, true));
  const r1 = memory.map(ctx, { writable: false, kind: 'ctx' });
  let res: string;
  try {
    res = `r0=${vm.run(r1)} insns=${vm.lastRun.insns}`;
  } catch (e) {
    if (!(e instanceof VmError)) throw e;
    res = `${e.kind}@${e.pc}`;
  }
  return `${res} mem=${Buffer.from(bytes).toString('hex')} others=${others.map((o) => Buffer.from(o).toString('hex'))}`;
}

test('pointers loaded from the context (data / data_end): bounds, writes, pointers into several regions', () => {
  const check = (text: string, headroom: number, extra?: (bases: bigint[]) => bigint[]) => {
    const j = ctxOutcome('jit', text, packet.subarray(0, 32), headroom, extra);
    assert.equal(j, ctxOutcome('interp', text, packet.subarray(0, 32), headroom, extra), text);
    return j;
  };
  // XDP-style scan with the program's own bound check; then every offset around the packet bounds, unchecked.
  const scan = `ldxdw %r2, [%r1+8]\nldxdw %r1, [%r1+0]\nmov %r0, 0\nloop:\nmov %r4, %r1\nadd %r4, 2\njgt %r4, %r2, done\nldxh %r5, [%r1+0]\nadd %r0, %r5\nstxh [%r1+0], %r0\nmov %r1, %r4\nja loop\ndone:\nexit`;
  for (const headroom of [0, 3, 8]) assert.match(check(scan, headroom), /^r0=/);
  for (let off = -10; off <= 34; off++) {
    check(`ldxdw %r6, [%r1+0]\nldxw %r0, [%r6${off < 0 ? off : '+' + off}]\nexit`, 0);
    check(`ldxdw %r6, [%r1+0]\nstw [%r6${off < 0 ? off : '+' + off}], 7\nldxdw %r0, [%r6+0]\nexit`, 4);
  }
  // A loop loading a pointer per iteration from a table of pointers into different regions (the same load
  // instruction, a different region each time), reading and writing through it.
  const walk = `mov %r6, %r1\nmov %r7, 0\nmov %r0, 0\nloop:\nldxdw %r3, [%r6+16]\nldxb %r4, [%r3+1]\nadd %r0, %r4\nstb [%r3+2], 0x55\nadd %r6, 8\nadd %r7, 1\njlt %r7, 3, loop\nexit`;
  assert.match(check(walk, 0, (b) => [b[1]!, b[2]!, b[0]! + 5n]), /^r0=/);
  // ... and past the end of the last one.
  assert.match(check(walk, 0, (b) => [b[1]!, b[2]!, b[2]! + 3n]), /^oob@/);
});
