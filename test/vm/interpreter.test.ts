// Tests of the interpreter core: each fault kind, division semantics, calls and frames, tail calls, helpers,
// callbacks, callx, kfuncs, legacy packet loads and the Memory API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/index.js';
import { DecodeError, VmError } from '../../src/errors.js';
import { helperByName } from '../../src/isa/helpers.js';
import { insn, lddw, type Insn } from '../../src/isa/insn.js';
import { Class, JmpOp, LDDW, PseudoCall, PseudoLd, Source, AluOp, Mode, Size } from '../../src/isa/opcodes.js';
import { Vm, VmMemory, funcAddress, mapHandleAddress, mapHandleIndex, type HelperImpl } from '../../src/vm/index.js';

const asm = (text: string) => assemble(text, { syntax: 'ubpf' });
const EXIT = insn(Class.JMP | JmpOp.EXIT);
const id = (name: string) => helperByName(name)!.id;

function fault(fn: () => unknown, kind: string, re?: RegExp): VmError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof VmError, `expected VmError, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.equal(e.kind, kind, e.message);
    if (re) assert.match(e.message, re);
    return e;
  }
  assert.fail(`expected a VmError of kind ${kind}`);
}

function withMem(text: string, mem: Uint8Array, writable = true): { vm: Vm; r1: bigint; r2: bigint } {
  const vm = new Vm(asm(text));
  const r1 = vm.memory.map(mem, { writable, kind: 'mem', name: 'input' });
  return { vm, r1, r2: BigInt(mem.length) };
}

test('out-of-bounds read faults with pc, kind, address and size', () => {
  const { vm, r1 } = withMem('mov %r0, 0\nldxw %r0, [%r1+6]\nexit', new Uint8Array(8));
  const e = fault(() => vm.run(r1), 'oob', /read of 4 bytes at 0x[0-9a-f]+6: out of bounds of mem region 'input'/);
  assert.equal(e.pc, 1);
  // In bounds at the edge is fine.
  const ok = withMem('ldxw %r0, [%r1+4]\nexit', Uint8Array.of(0, 0, 0, 0, 1, 2, 3, 4));
  assert.equal(ok.vm.run(ok.r1), 0x04030201n);
});

test('negative offsets below a region and huge offsets fault', () => {
  const a = withMem('ldxb %r0, [%r1-1]\nexit', new Uint8Array(8));
  fault(() => a.vm.run(a.r1), 'oob');
  const b = withMem('lddw %r2, 0xfffffff0\nadd %r1, %r2\nldxb %r0, [%r1+0x20]\nexit', new Uint8Array(8));
  fault(() => b.vm.run(b.r1), 'oob');
});

test('out-of-bounds write faults and leaves memory unchanged', () => {
  const mem = new Uint8Array(8);
  const { vm, r1 } = withMem('stdw [%r1+1], 0x7f\nexit', mem);
  fault(() => vm.run(r1), 'oob', /write of 8 bytes/);
  assert.deepEqual([...mem], [0, 0, 0, 0, 0, 0, 0, 0]);
});

test('write to a read-only region faults with kind perm; reading it works', () => {
  const { vm, r1 } = withMem('stb [%r1+0], 1\nexit', Uint8Array.of(9), false);
  fault(() => vm.run(r1), 'perm', /read-only/);
  const r = withMem('ldxb %r0, [%r1+0]\nexit', Uint8Array.of(9), false);
  assert.equal(r.vm.run(r.r1), 9n);
});

test('null and unmapped pointers fault', () => {
  fault(() => new Vm(asm('mov %r1, 0\nldxb %r0, [%r1+0]\nexit')).run(), 'null', /null pointer/);
  fault(() => new Vm(asm('lddw %r1, 0x7700000000\nldxb %r0, [%r1+0]\nexit')).run(), 'oob', /no region/);
  // A map handle is not dereferenceable.
  const vm = new Vm([...lddw(1, mapHandleAddress(3)), insn(Class.LDX | Mode.MEM | Size.B, 0, 1, 0), EXIT]);
  fault(() => vm.run(), 'oob');
  assert.equal(mapHandleIndex(mapHandleAddress(3)), 3);
});

test('stack: r10 points past a 512-byte frame; overflow faults; stack is zeroed per run', () => {
  const vm = new Vm(asm('ldxdw %r0, [%r10-8]\nstdw [%r10-8], 77\nexit'));
  assert.equal(vm.run(), 0n);
  assert.equal(vm.run(), 0n, 'the stack does not leak between runs');
  fault(() => new Vm(asm('stb [%r10-513], 1\nexit')).run(), 'oob');
  fault(() => new Vm(asm('stb [%r10+0], 1\nexit')).run(), 'oob');
});

test('bad jump targets are refused at construction; falling off the end faults at run time', () => {
  fault(() => new Vm([insn(Class.JMP | JmpOp.JA, 0, 0, 5), EXIT]), 'jump', /outside the program/);
  fault(() => new Vm([insn(Class.JMP | JmpOp.JA, 0, 0, -3), EXIT]), 'jump');
  // Into the second slot of an lddw.
  fault(() => new Vm([insn(Class.JMP | JmpOp.JA, 0, 0, 1), ...lddw(0, 1n), EXIT]), 'jump', /second slot/);
  const e = fault(() => new Vm(asm('mov %r0, 1')).run(), 'jump', /fell off the end/);
  assert.equal(e.pc, 1);
  fault(() => new Vm([]), 'jump', /empty/);
});

test('invalid encodings are DecodeErrors at construction', () => {
  assert.throws(() => new Vm([insn(0xff), EXIT]), DecodeError);
  assert.throws(() => new Vm([insn(Class.ALU64 | AluOp.ADD | Source.K, 0, 1, 0, 1), EXIT]), DecodeError);
});

test('writes to r10 are refused', () => {
  fault(() => new Vm(asm('mov %r10, 1\nexit')), 'invalid', /r10/);
  // Reading r10 is fine.
  assert.ok(new Vm(asm('mov %r0, %r10\nexit')).run() > 0n);
});

test('instruction budget: exact count, fault kind budget', () => {
  const vm = new Vm(asm('loop:\nja loop'), { maxInsns: 1000 });
  fault(() => vm.run(), 'budget', /budget of 1000/);
  assert.equal(vm.lastRun.insns, 1000);
  const ok = new Vm(asm('mov %r0, 0\nadd %r0, 1\njlt %r0, 10, -2\nexit'));
  assert.equal(ok.run(), 10n);
  assert.equal(ok.lastRun.insns, 1 + 10 * 2 + 1);
});

test('division and modulo follow RFC 9669 (x/0 = 0, x%0 = x, 32-bit results zero-extended)', () => {
  const r = (text: string) => new Vm(asm(text)).run();
  assert.equal(r('lddw %r0, 0x100000007\nmov %r1, 0\ndiv %r0, %r1\nexit'), 0n);
  assert.equal(r('lddw %r0, 0x100000007\nmov %r1, 0\nmod %r0, %r1\nexit'), 0x100000007n);
  assert.equal(r('lddw %r0, 0x100000007\nmov %r1, 0\nmod32 %r0, %r1\nexit'), 7n);
  assert.equal(r('lddw %r0, 0x100000007\nmov %r1, 0\ndiv32 %r0, %r1\nexit'), 0n);
  assert.equal(r('lddw %r0, 0x8000000000000000\nmov %r1, -1\nsdiv %r0, %r1\nexit'), 0x8000000000000000n);
  assert.equal(r('lddw %r0, 0x8000000000000000\nmov %r1, -1\nsmod %r0, %r1\nexit'), 0n);
  assert.equal(r('mov32 %r0, 0x80000000\nmov32 %r1, -1\nsdiv32 %r0, %r1\nexit'), 0x80000000n);
  assert.equal(r('mov %r0, -7\nsmod %r0, 2\nexit'), BigInt.asUintN(64, -1n));
  assert.equal(r('mov %r0, -7\nmov %r1, 0\nsdiv %r0, %r1\nexit'), 0n);
  assert.equal(r('mov %r0, -7\nmov %r1, 0\nsmod %r0, %r1\nexit'), BigInt.asUintN(64, -7n));
  // Wide dividend, divisor below 2^32 (double long division) and above (BigInt path).
  assert.equal(r('lddw %r0, 0xfedcba9876543210\nlddw %r1, 0xfffffffb\ndiv %r0, %r1\nexit'), 0xfedcba9876543210n / 0xfffffffbn);
  assert.equal(r('lddw %r0, 0xfedcba9876543210\nlddw %r1, 0xfffffffb\nmod %r0, %r1\nexit'), 0xfedcba9876543210n % 0xfffffffbn);
  assert.equal(r('lddw %r0, 0xfedcba9876543210\nlddw %r1, 0x123456789\nmod %r0, %r1\nexit'), 0xfedcba9876543210n % 0x123456789n);
});

test('bpf-to-bpf calls: r1-r5 passed, r6-r9 preserved, fresh stack per frame', () => {
  const vm = new Vm(
    asm(`
      mov %r6, 66
      stdw [%r10-8], 5
      mov %r1, 2
      call local f
      ldxdw %r2, [%r10-8]
      add %r0, %r2
      add %r0, %r6
      exit
    f:
      ldxdw %r0, [%r10-8]
      add %r0, %r1
      stdw [%r10-8], 99
      mov %r6, 0
      exit`),
  );
  // callee sees a zeroed stack (0) + r1 (2); caller's slot still 5; r6 restored (66).
  assert.equal(vm.run(), 2n + 5n + 66n);
});

test('call depth: 8 frames are allowed, the 9th faults with kind call-depth', () => {
  const prog = asm(`
    call local f
    exit
  f:
    jeq %r1, 0, done
    sub %r1, 1
    call local f
  done:
    mov %r0, 1
    exit`);
  const vm = new Vm(prog);
  assert.equal(vm.run(6n), 1n); // main + f nested 7 times = 8 frames
  const e = fault(() => vm.run(7n), 'call-depth', /8 frames/);
  assert.equal(e.pc, 4);
});

test('helpers: ids checked at construction, arguments as u64 bigints, return values wrap to u64', () => {
  fault(() => new Vm(asm(`call ${id('ktime_get_ns')}\nexit`)), 'helper', /bpf_ktime_get_ns/);
  const seen: bigint[] = [];
  const helpers = new Map<number, HelperImpl>([
    [id('ktime_get_ns'), (_c, a, b, c, d, e) => (seen.push(a, b, c, d, e), -1)],
    [id('get_prandom_u32'), () => 0x1_2345_6789n],
  ]);
  const vm = new Vm(asm(`mov %r1, -1\nmov %r2, 2\nmov %r3, 3\nmov %r4, 4\nmov %r5, 5\ncall ${id('ktime_get_ns')}\nexit`), { helpers });
  assert.equal(vm.run(), 0xffffffffffffffffn);
  assert.deepEqual(seen, [0xffffffffffffffffn, 2n, 3n, 4n, 5n]);
  assert.equal(new Vm(asm(`call ${id('get_prandom_u32')}\nexit`), { helpers }).run(), 0x123456789n);
});

test('a helper that throws a plain Error becomes a VmError of kind helper', () => {
  const helpers = new Map<number, HelperImpl>([[id('ktime_get_ns'), () => { throw new TypeError('boom'); }]]);
  const e = fault(() => new Vm(asm(`mov %r0, 0\ncall ${id('ktime_get_ns')}\nexit`), { helpers }).run(), 'helper', /bpf_ktime_get_ns\) failed: boom/);
  assert.equal(e.pc, 1);
});

test('helpers use Memory: view, readCString, load/store with checks naming the call pc', () => {
  let text = '';
  const helpers = new Map<number, HelperImpl>([
    [id('trace_printk'), (ctx, fmt, len) => {
      text = Buffer.from(ctx.mem.readCString(fmt, Number(len))).toString();
      ctx.mem.store(fmt, 1, 0x41);
      return ctx.mem.load(fmt, 4);
    }],
  ]);
  const mem = new TextEncoder().encode('hi!\0zzzz');
  const vm = new Vm(asm(`mov %r2, 8\ncall ${id('trace_printk')}\nexit`), { helpers });
  const base = vm.memory.map(mem, { writable: true, kind: 'mem' });
  assert.equal(vm.run(base), 0x00216941n);
  assert.equal(text, 'hi!');
  const bad = new Vm(asm(`mov %r2, 8\nmov %r0, 0\ncall ${id('trace_printk')}\nexit`), { helpers });
  const e = fault(() => bad.run(0n), 'null');
  assert.equal(e.pc, 2);
});

test('callSubprogram runs a callback (bpf_loop style) with its own frame', () => {
  const loop: HelperImpl = (ctx, n, fn, cbctx) => {
    let i = 0n;
    for (; i < n; i++) if (ctx.callSubprogram(fn, i, cbctx) !== 0n) return i + 1n;
    return i;
  };
  const helpers = new Map([[id('loop'), loop]]);
  const prog: Insn[] = [
    insn(Class.ALU64 | AluOp.MOV | Source.K, 6, 0, 0, 0), // r6 = 0 (preserved across the helper)
    insn(Class.ALU64 | AluOp.MOV | Source.K, 1, 0, 0, 10), // r1 = 10 iterations
    ...lddw(2, 0n, PseudoLd.FUNC), // r2 = callback (patched below)
    insn(Class.ALU64 | AluOp.MOV | Source.X, 3, 10, 0, 0), // r3 = fp
    insn(Class.ALU64 | AluOp.ADD | Source.K, 3, 0, 0, -8),
    insn(Class.ST | Mode.MEM | Size.DW, 10, 0, -8, 0), // *(u64*)(fp-8) = 0
    insn(Class.JMP | JmpOp.CALL, 0, PseudoCall.HELPER, 0, id('loop')),
    insn(Class.LDX | Mode.MEM | Size.DW, 0, 10, -8, 0), // r0 = sum
    EXIT,
    // callback(i, ctx): *ctx += i; return 0
    insn(Class.LDX | Mode.MEM | Size.DW, 3, 2, 0, 0),
    insn(Class.ALU64 | AluOp.ADD | Source.X, 3, 1, 0, 0),
    insn(Class.STX | Mode.MEM | Size.DW, 2, 3, 0, 0),
    insn(Class.ALU64 | AluOp.MOV | Source.K, 0, 0, 0, 0),
    EXIT,
  ];
  prog[2] = { ...prog[2]!, imm: 10 - 3 }; // lddw at pc 2: target = 2 + 1 + imm = 10
  const vm = new Vm(prog, { helpers });
  assert.equal(vm.run(), 45n);
  // The callback's address is a code address.
  assert.equal(funcAddress(10) >> 32n, 0xfffe0000n);
});

test('callx: register holds an instruction index or code address (pc mode) or a helper id (helper mode)', () => {
  const callx = (r: number) => insn(Class.JMP | JmpOp.CALL | Source.X, r, 0, 0, 0);
  const prog: Insn[] = [
    insn(Class.ALU64 | AluOp.MOV | Source.K, 2, 0, 0, 3),
    callx(2),
    EXIT,
    insn(Class.ALU64 | AluOp.MOV | Source.K, 0, 0, 0, 42),
    EXIT,
  ];
  assert.equal(new Vm(prog).run(), 42n);
  const viaAddr = [...lddw(2, funcAddress(4)), callx(2), EXIT, insn(Class.ALU64 | AluOp.MOV | Source.K, 0, 0, 0, 7), EXIT];
  assert.equal(new Vm(viaAddr).run(), 7n);
  const bad = [insn(Class.ALU64 | AluOp.MOV | Source.K, 2, 0, 0, 9), callx(2), EXIT];
  fault(() => new Vm(bad).run(), 'jump', /callx/);
  const helpers = new Map<number, HelperImpl>([[5, (_c, r1) => r1 + 1n]]);
  const hp = [insn(Class.ALU64 | AluOp.MOV | Source.K, 1, 0, 0, 1), insn(Class.ALU64 | AluOp.MOV | Source.K, 2, 0, 0, 5), callx(2), EXIT];
  assert.equal(new Vm(hp, { helpers, callx: 'helper' }).run(), 2n);
  fault(() => new Vm([insn(Class.ALU64 | AluOp.MOV | Source.K, 2, 0, 0, 6), callx(2), EXIT], { helpers, callx: 'helper' }).run(), 'helper');
});

test('kfuncs are called through their own registry by BTF id', () => {
  const prog = [insn(Class.JMP | JmpOp.CALL, 0, PseudoCall.KFUNC, 0, 12345), EXIT];
  fault(() => new Vm(prog), 'helper', /kfunc with BTF id 12345/);
  assert.equal(new Vm(prog, { kfuncs: new Map([[12345, () => 3n]]) }).run(), 3n);
});

test('pseudo lddw: resolved through resolveLddw, refused without it', () => {
  const prog = [...lddw(1, 0n, PseudoLd.MAP_FD), insn(Class.ALU64 | AluOp.MOV | Source.X, 0, 1, 0, 0), EXIT];
  fault(() => new Vm(prog), 'lddw', /pseudo source 1/);
  const vm = new Vm(prog, { resolveLddw: (pc, i) => (assert.equal(pc, 0), assert.equal(i.code, LDDW), mapHandleAddress(2)) });
  assert.equal(vm.run(), mapHandleAddress(2));
});

test('tail calls: chain of 33, then bpf_tail_call fails and execution continues', () => {
  const memory = new VmMemory();
  const counter = new Uint8Array(8);
  const base = memory.map(counter, { writable: true, kind: 'map_value' });
  let target: Vm | undefined;
  const helpers = new Map<number, HelperImpl>([[id('tail_call'), (ctx) => (ctx.tailCall(target!) ? 0 : -2)]]);
  const text = `ldxdw %r2, [%r1+0]\nadd %r2, 1\nstxdw [%r1+0], %r2\ncall ${id('tail_call')}\nmov %r0, 7\nexit`;
  const vm = new Vm(asm(text), { helpers, memory });
  target = vm;
  assert.equal(vm.run(base), 7n);
  assert.equal(new DataView(counter.buffer).getBigUint64(0, true), 34n);
  assert.equal(vm.lastRun.tailCalls, 33);
  // A target in another Memory is refused.
  target = new Vm(asm('exit'));
  fault(() => vm.run(base), 'tail-call');
});

test('legacy packet loads read big-endian and end the program with 0 when out of range', () => {
  const packet = Uint8Array.of(0x12, 0x34, 0x56, 0x78, 0x9a);
  const ldabs = (size: number, imm: number) => insn(Class.LD | Mode.ABS | size, 0, 0, 0, imm);
  const vm = new Vm([ldabs(Size.H, 1), EXIT], { legacyPacket: () => packet });
  assert.equal(vm.run(), 0x3456n);
  assert.equal(new Vm([ldabs(Size.W, 1), EXIT], { legacyPacket: () => packet }).run(), 0x3456789an);
  const ind = new Vm([insn(Class.ALU64 | AluOp.MOV | Source.K, 6, 0, 0, 4), insn(Class.LD | Mode.IND | Size.B, 0, 6, 0, 0), EXIT], { legacyPacket: () => packet });
  assert.equal(ind.run(), 0x9an);
  assert.equal(new Vm([insn(Class.ALU64 | AluOp.MOV | Source.K, 0, 0, 0, 5), ldabs(Size.W, 3), EXIT], { legacyPacket: () => packet }).run(), 0n);
  fault(() => new Vm([ldabs(Size.B, 0), EXIT]).run(), 'unsupported');
});

test('Memory: map, remap, unmap; checked views', () => {
  const m = new VmMemory();
  const a = m.map(new Uint8Array(4), { writable: false, kind: 'rodata', name: 'ro' });
  assert.equal(m.regionOf(a + 2n)?.name, 'ro');
  assert.throws(() => m.view(a, 4, true), (e: unknown) => e instanceof VmError && e.kind === 'perm');
  assert.throws(() => m.view(a + 1n, 4), (e: unknown) => e instanceof VmError && e.kind === 'oob');
  m.remap(a, new Uint8Array(16));
  assert.equal(m.view(a + 8n, 8).length, 8);
  m.unmap(a);
  assert.equal(m.regionOf(a), undefined);
  assert.throws(() => m.view(a, 1), VmError);
  assert.throws(() => m.readCString(0n, 4), (e: unknown) => e instanceof VmError && e.kind === 'null');
});

test('re-entrant run of the same Vm is refused', () => {
  let vm: Vm;
  const helpers = new Map<number, HelperImpl>([[id('ktime_get_ns'), () => vm.run()]]);
  vm = new Vm(asm(`call ${id('ktime_get_ns')}\nexit`), { helpers });
  fault(() => vm.run(), 'reentrant');
});
