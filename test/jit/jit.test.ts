// The JIT: the whole bpf_conformance suite (and the 45 negative unused-* files) with identical outcomes to the
// interpreter; both control-flow layouts (structured loops, br_table dispatcher); memory coherence between
// generated code and JavaScript (helpers writing and remapping regions, callbacks, regions beyond the segment
// table, regions larger than the initial memory); lazy entries for callx; engine options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { assemble } from '../../src/asm/index.js';
import { VmError } from '../../src/errors.js';
import { helperByName } from '../../src/isa/helpers.js';
import { insn, lddw, type Insn } from '../../src/isa/insn.js';
import { AluOp, Class, JmpOp, PseudoLd, Source } from '../../src/isa/opcodes.js';
import { formatConformanceResult, listConformanceFiles, runConformanceFile } from '../../src/conformance/run.js';
import { Vm, VmMemory, type HelperImpl, type VmEngine } from '../../src/vm/index.js';
import { buildFunction, decode } from '../../src/jit/cfg.js';
import { structure } from '../../src/jit/structure.js';
import { TABLE_CAP } from '../../src/jit/layout.js';
import { randomProgram } from '../fixtures/programs.js';
import { randBelow as rng } from '../fixtures/random.js';

const root = resolve(import.meta.dirname, '..', '..', '..');
const shared = process.env.BPFKIT_SHARED ? resolve(process.env.BPFKIT_SHARED) : resolve(root, '..', 'shared');
const suite = join(shared, 'conformance');
const skip = existsSync(suite) ? false : `conformance suite not found at ${suite} (set BPFKIT_SHARED)`;
const asm = (text: string) => assemble(text, { syntax: 'ubpf' });
const id = (name: string) => helperByName(name)!.id;
const ENGINES: VmEngine[] = ['interp', 'jit'];

test('bpf_conformance: all 313 tests pass on the JIT, with the interpreter\'s r0, instruction count and reason', { skip }, () => {
  const files = listConformanceFiles([suite]);
  assert.equal(files.length, 313);
  for (const f of files) {
    const j = runConformanceFile(f, { engine: 'jit' });
    assert.ok(j.pass, formatConformanceResult(j));
    const i = runConformanceFile(f, { engine: 'interp' });
    assert.deepEqual({ r0: j.r0, insns: j.insns, reason: j.reason }, { r0: i.r0, insns: i.insns, reason: i.reason }, f);
  }
});

test('bpf_conformance negative: the 45 unused-* files are rejected on the JIT too', { skip }, () => {
  const neg = join(suite, 'negative');
  const unused = readdirSync(neg).filter((f) => f.startsWith('unused-') && f.endsWith('.data'));
  assert.equal(unused.length, 45);
  for (const f of unused) {
    const r = runConformanceFile(join(neg, f), { engine: 'jit' });
    assert.ok(r.pass, formatConformanceResult(r));
    assert.match(r.reason ?? '', /program rejected/);
  }
});

test('random programs exercise both layouts: structured loops and the br_table dispatcher', () => {
  const r = rng(99);
  let structured = 0;
  let dispatched = 0;
  let loops = 0;
  for (let i = 0; i < 400; i++) {
    const prog = randomProgram(r, 2 + r(30));
    let vm: Vm;
    try {
      vm = new Vm(prog, { engine: 'interp' });
    } catch {
      continue;
    }
    const plan = structure(buildFunction(decode(vm.prog), 0));
    if (plan) {
      structured++;
      if (plan.some((c) => c.kind === 'loop')) loops++;
    } else dispatched++;
  }
  assert.ok(structured > 50 && dispatched > 15 && loops > 20, JSON.stringify({ structured, dispatched, loops }));
});

/** Run `make()` on both engines; results (or fault kind@pc) must be equal; returns the JIT's. */
function both<T>(make: (engine: VmEngine) => T): T {
  const out = ENGINES.map((e) => {
    try {
      return make(e);
    } catch (err) {
      if (err instanceof VmError) return `${err.kind}@${err.pc}` as T;
      throw err;
    }
  });
  assert.deepEqual(out[1], out[0]);
  return out[1]!;
}

test('helpers see the program\'s writes and the program sees the helper\'s, around every call', () => {
  const res = both((engine) => {
    const mem = new Uint8Array(16);
    // helper 1: read byte 0 of the region (written by the program), write byte 1 = byte0 * 2, return byte 0.
    const helpers = new Map<number, HelperImpl>([
      [id('get_prandom_u32'), (ctx, r1) => {
        const v = ctx.mem.view(r1, 2, true);
        v[1] = v[0]! * 2;
        return v[0]!;
      }],
    ]);
    const text = `mov %r6, %r1\nmov %r7, 0\nloop:\nstxb [%r6+0], %r7\nmov %r1, %r6\ncall ${id('get_prandom_u32')}\nldxb %r2, [%r6+1]\nadd %r8, %r2\nadd %r7, 3\njlt %r7, 30, loop\nmov %r0, %r8\nexit`;
    const vm = new Vm(asm(text), { helpers, engine });
    const r1 = vm.memory.map(mem, { writable: true, kind: 'mem' });
    return { r0: vm.run(r1), mem: [...mem] };
  });
  assert.equal(res.r0, BigInt(2 * (0 + 3 + 6 + 9 + 12 + 15 + 18 + 21 + 24 + 27)));
});

test('a helper remapping a region (packet resize) is seen by the next access', () => {
  both((engine) => {
    const memory = new VmMemory();
    const small = Uint8Array.of(1, 2, 3, 4);
    let base = 0n;
    const helpers = new Map<number, HelperImpl>([[id('xdp_adjust_tail'), (ctx) => (ctx.mem.remap(base, Uint8Array.of(9, 8, 7, 6, 5, 4, 3, 2)), 0)]]);
    const vm = new Vm(asm(`mov %r6, %r1\nldxw %r7, [%r6+0]\ncall ${id('xdp_adjust_tail')}\nldxdw %r0, [%r6+0]\nadd %r0, %r7\nexit`), { helpers, engine, memory });
    base = memory.map(small, { writable: true, kind: 'packet' });
    return vm.run(base);
  });
});

test('callbacks (callSubprogram) share memory with their caller and count in the budget', () => {
  const run = (engine: VmEngine, maxInsns: number) => {
    const loop: HelperImpl = (ctx, n, fn, cbctx) => {
      let i = 0n;
      for (; i < n; i++) if (ctx.callSubprogram(fn, i, cbctx) !== 0n) return i + 1n;
      return i;
    };
    const prog: Insn[] = [
      insn(Class.ALU64 | AluOp.MOV | Source.K, 1, 0, 0, 10),
      ...lddw(2, 0n, PseudoLd.FUNC),
      insn(Class.ALU64 | AluOp.MOV | Source.X, 3, 6, 0, 0),
      insn(Class.JMP | JmpOp.CALL, 0, 0, 0, id('loop')),
      insn(Class.LDX | 0x60 | 0x18, 0, 6, 0, 0),
      insn(Class.JMP | JmpOp.EXIT),
      // callback(i, ctx): *(u64 *)ctx += i; return 0
      insn(Class.LDX | 0x60 | 0x18, 3, 2, 0, 0),
      insn(Class.ALU64 | AluOp.ADD | Source.X, 3, 1, 0, 0),
      insn(Class.STX | 0x60 | 0x18, 2, 3, 0, 0),
      insn(Class.ALU64 | AluOp.MOV | Source.K, 0, 0, 0, 0),
      insn(Class.JMP | JmpOp.EXIT),
    ];
    prog[1] = { ...prog[1]!, imm: 7 - 2 };
    const vm = new Vm([insn(Class.ALU64 | AluOp.MOV | Source.X, 6, 1, 0, 0), ...prog.map((p, i) => (i === 1 ? { ...p, imm: 7 - 2 } : p))], { helpers: new Map([[id('loop'), loop]]), engine, maxInsns });
    const cell = new Uint8Array(8);
    const r1 = vm.memory.map(cell, { writable: true, kind: 'map_value' });
    try {
      return { r0: vm.run(r1), insns: vm.lastRun.insns, cell: [...cell] };
    } catch (e) {
      if (e instanceof VmError) return { fault: `${e.kind}@${e.pc}`, cell: [...cell] };
      throw e;
    }
  };
  const ok = run('jit', 1000);
  assert.deepEqual(ok, run('interp', 1000));
  assert.equal(ok.r0, 45n);
  for (const budget of [20, 31, 32, 33, 47]) assert.deepEqual(run('jit', budget), run('interp', budget), `budget ${budget}`);
});

test('regions beyond the segment table go through the bounce buffer', () => {
  both((engine) => {
    const memory = new VmMemory();
    const vm = new Vm(asm('ldxdw %r0, [%r1+8]\nadd %r0, 1\nstxdw [%r1+16], %r0\nlock add [%r1+16], %r0\nldxw %r2, [%r1+20]\nadd %r0, %r2\nexit'), { engine, memory });
    let last = 0n;
    for (let i = 0; i < TABLE_CAP + 10; i++) last = memory.map(new Uint8Array(24), { writable: true, kind: 'mem' });
    assert.ok(last >> 32n >= BigInt(TABLE_CAP));
    const bytes = memory.regionOf(last)!.bytes;
    bytes[8] = 0xff;
    bytes[12] = 0x7f;
    const r0 = vm.run(last);
    return { r0, bytes: [...bytes] };
  });
});

test('a region larger than the initial memory: the memory grows, stacks stay views of it', () => {
  both((engine) => {
    const big = new Uint8Array(3 << 20);
    big[big.length - 1] = 42;
    let seen = 0;
    const helpers = new Map<number, HelperImpl>([[id('get_prandom_u32'), (ctx, r1) => (seen = ctx.mem.view(r1, 8)[0]!)]]);
    const text = `mov %r6, %r1\nstdw [%r10-8], 77\nlddw %r2, ${big.length - 1}\nadd %r6, %r2\nldxb %r0, [%r6+0]\nstb [%r6+0], 43\nmov %r1, %r10\nadd %r1, -8\ncall ${id('get_prandom_u32')}\nldxdw %r3, [%r10-8]\nadd %r0, %r3\nexit`;
    const vm = new Vm(asm(text), { helpers, engine });
    const r1 = vm.memory.map(big, { writable: true, kind: 'mem' });
    const r0 = vm.run(r1);
    return { r0, seen, last: big[big.length - 1] };
  });
});

test('callx to an instruction that is not a known function entry: the JIT adds the entry', () => {
  // r2 = 5 (pc of the callee, reached only through callx); the callee returns r1 * 3.
  const prog = asm('mov %r1, 7\nmov %r2, 5\ncallx %r2\nadd %r0, 1\nexit\nmov %r0, %r1\nmul %r0, 3\nexit');
  const vm = new Vm(prog, { engine: 'jit' });
  const before = vm.jit!.program.stats.functions;
  assert.equal(vm.run(), 22n);
  assert.equal(vm.jit!.program.stats.functions, before + 1);
  assert.equal(vm.run(), 22n);
  assert.equal(new Vm(prog).run(), 22n);
});

test('engine option: default interp, unknown engines refused', () => {
  assert.equal(new Vm(asm('exit')).engine, 'interp');
  assert.equal(new Vm(asm('exit'), { engine: 'jit' }).engine, 'jit');
  assert.throws(() => new Vm(asm('exit'), { engine: 'wasm' as VmEngine }), TypeError);
});
