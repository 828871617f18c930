// CO-RE on hand-built BTF: candidate rules (flavors, kinds, ambiguity), anonymous members and arrays,
// TYPE_MATCHES, module fallback, every instruction form that can be patched, and malformed relocations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf, BtfBuilder, CORE_POISON_IMM, applyCoreRelocations, type CoreRelo } from '../../src/btf/index.js';
import { BtfError } from '../../src/errors.js';
import { AluOp, Class, CoreReloKind as K, JmpOp, LDDW, Mode, Size, Source, insn, lddw, type Insn } from '../../src/isa/index.js';

const M = (name: string, typeId: number, bitOffset: number, bitfieldSize = 0) => ({ name, typeId, bitOffset, bitfieldSize });
const movImm = (imm: number) => insn(Class.ALU64 | AluOp.MOV | Source.K, 0, 0, 0, imm);
const ldxw = (off: number) => insn(Class.LDX | Mode.MEM | Size.W, 0, 1, off, 0);
const ldxdw = (off: number) => insn(Class.LDX | Mode.MEM | Size.DW, 0, 1, off, 0);
const exit = () => insn(Class.JMP | JmpOp.EXIT);
const relo = (insnOff: number, typeId: number, accessStr: string, kind: number): CoreRelo => ({ insnOff, typeId, accessStr, kind });

/** Local BTF: struct foo { int a; int b; u64 c; }, struct foo___x { int b; }, enum e { E1 = 1 }. */
function localBtf() {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, { signed: true });
  const u64 = b.addInt('unsigned long long', 8);
  const foo = b.addStruct('foo', 16, [M('a', int, 0), M('b', int, 32), M('c', u64, 64)]);
  const fooX = b.addStruct('foo___x', 4, [M('b', int, 0)]);
  const e = b.add({ kind: 'enum', name: 'e', size: 4, signed: false, values: [{ name: 'E1', value: 1 }, { name: 'E_GONE', value: 2 }] });
  const arrS = b.addStruct('arrs', 40, [M('n', int, 0), M('items', b.addArray(foo, 2, int), 64)]);
  const holder = b.addStruct('holder', 8, [M('inner', int, 32)]);
  const td = b.addTypedef('foo_t', foo);
  return { btf: Btf.parse(b.encode(), { name: 'local' }), int, u64, foo, fooX, e, arrS, holder, td };
}

/** Target BTF: foo has moved fields, c shrank to u32, b lives in an anonymous union; enum e has other values. */
function targetBtf(opts: { dupFoo?: boolean } = {}) {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, { signed: true });
  const u32 = b.addInt('unsigned int', 4);
  const long = b.addInt('long', 8, { signed: true });
  const anon = b.addStruct('', 8, [M('b', int, 0), M('other', long, 0)], true);
  const foo = b.addStruct('foo', 40, [M('pad', long, 0), M('c', u32, 64), M('a', int, 96), M('', anon, 128)]);
  const e = b.add({ kind: 'enum64', name: 'e', size: 8, signed: false, values: [{ name: 'E0', value: 0n }, { name: 'E1', value: 0x100000000n }] });
  const arrS = b.addStruct('arrs', 96, [M('n', long, 0), M('items', b.addArray(foo, 2, int), 128)]);
  const holder = b.addStruct('holder', 16, [M('x', long, 0), M('inner', int, 64)]);
  let foo2 = 0;
  if (opts.dupFoo) foo2 = b.addStruct('foo___v2', 16, [M('a', int, 32), M('b', int, 0), M('c', u32, 64)]);
  const td = b.addTypedef('foo_t', foo);
  return { btf: Btf.parse(b.encode(), { name: 'target' }), foo, e, arrS, holder, foo2, td };
}

test('field offsets through an anonymous union, with the access size shrinking for an unsigned field', () => {
  const L = localBtf();
  const T = targetBtf();
  const insns: Insn[] = [ldxw(4), ldxdw(8), movImm(0), movImm(8), exit()];
  const res = applyCoreRelocations(
    insns,
    [relo(0, L.foo, '0:1', K.FIELD_BYTE_OFFSET), relo(8, L.foo, '0:2', K.FIELD_BYTE_OFFSET), relo(16, L.foo, '0:0', K.FIELD_BYTE_OFFSET), relo(24, L.foo, '0:2', K.FIELD_BYTE_SIZE)],
    L.btf,
    T.btf,
  );
  assert.deepEqual(res.map((r) => r.status), ['relocated', 'relocated', 'relocated', 'relocated']);
  assert.equal(insns[0]!.off, 16, 'b is at byte 16 inside the anonymous union');
  assert.equal(res[0]!.targetSpec, `[${T.foo}] struct foo.b (0:3:0 @ offset 16)`);
  assert.equal(insns[1]!.off, 8);
  assert.equal(insns[1]!.code, Class.LDX | Mode.MEM | Size.W, 'u64 -> u32 load');
  assert.equal(insns[2]!.imm, 12);
  assert.equal(insns[3]!.imm, 4);
  assert.equal(res[2]!.access, 'foo.a');
});

test('array elements and typedef roots', () => {
  const L = localBtf();
  const T = targetBtf();
  const insns: Insn[] = [movImm(8 + 16 + 4), movImm(0), exit()];
  // arrs.items[1].b : local 8 + 16 + 4 = 28; target 16 + 40 + 16 = 72.
  const res = applyCoreRelocations(insns, [relo(0, L.arrS, '0:1:1:1', K.FIELD_BYTE_OFFSET), relo(8, L.td, '0:0', K.FIELD_BYTE_OFFSET)], L.btf, T.btf);
  assert.equal(res[0]!.status, 'relocated', res[0]!.reason);
  assert.equal(insns[0]!.imm, 72);
  assert.equal(res[0]!.access, 'arrs.items[1].b');
  assert.equal(res[1]!.status, 'relocated', res[1]!.reason);
  assert.equal(insns[1]!.imm, 12);
  assert.equal(res[1]!.targetTypeId, T.td);
});

test('enum values (enum against enum64) go through lddw; a 32-bit mov gets the truncated value', () => {
  const L = localBtf();
  const T = targetBtf();
  const insns: Insn[] = [...lddw(0, 1), movImm(1), movImm(1), exit()];
  const res = applyCoreRelocations(
    insns,
    [relo(0, L.e, '0', K.ENUMVAL_VALUE), relo(16, L.e, '1', K.ENUMVAL_EXISTS), relo(24, L.e, '0', K.ENUMVAL_EXISTS)],
    L.btf,
    T.btf,
  );
  assert.equal(res[0]!.newValue, 0x100000000n);
  assert.equal(insns[0]!.imm, 0);
  assert.equal(insns[1]!.imm, 1);
  assert.equal(insns[2]!.imm, 0, 'E_GONE does not exist');
  assert.equal(insns[3]!.imm, 1);
  assert.equal(res[0]!.access, 'e::E1');
});

test('type relocations: exists, size, target id, local id, matches', () => {
  const L = localBtf();
  const T = targetBtf();
  const insns: Insn[] = [movImm(1), movImm(16), ...lddw(0, L.foo), ...lddw(0, L.foo), movImm(1), movImm(1), exit()];
  const res = applyCoreRelocations(
    insns,
    [
      relo(0, L.foo, '0', K.TYPE_EXISTS),
      relo(8, L.foo, '0', K.TYPE_SIZE),
      relo(16, L.foo, '0', K.TYPE_ID_TARGET),
      relo(32, L.foo, '0', K.TYPE_ID_LOCAL),
      relo(48, L.holder, '0', K.TYPE_MATCHES),
      relo(56, L.fooX, '0', K.TYPE_MATCHES),
    ],
    L.btf,
    T.btf,
  );
  assert.deepEqual(res.map((r) => r.status), Array(6).fill('relocated'));
  assert.equal(insns[0]!.imm, 1);
  assert.equal(insns[1]!.imm, 40);
  assert.equal(insns[2]!.imm, T.foo);
  assert.equal(insns[4]!.imm, L.foo);
  assert.equal(insns[6]!.imm, 1, 'holder { int inner } matches holder { long x; int inner }');
  assert.equal(insns[7]!.imm, 0, 'foo___x { int b } does not match: target foo has no top-level b');
});

test('candidate ambiguity between flavors is an error; agreeing flavors are fine', () => {
  const L = localBtf();
  const T = targetBtf({ dupFoo: true });
  const insns: Insn[] = [ldxw(4), movImm(1), exit()];
  const res = applyCoreRelocations(insns, [relo(0, L.foo, '0:1', K.FIELD_BYTE_OFFSET), relo(8, L.foo, '0', K.TYPE_EXISTS)], L.btf, T.btf);
  assert.equal(res[0]!.status, 'error');
  assert.match(res[0]!.reason!, /ambiguity/);
  assert.equal(insns[0]!.imm, CORE_POISON_IMM);
  assert.equal(res[1]!.status, 'relocated', 'both candidates agree the type exists');
  assert.throws(
    () => applyCoreRelocations([ldxw(4), exit()], [relo(0, L.foo, '0:1', K.FIELD_BYTE_OFFSET)], L.btf, T.btf, { strict: true }),
    (e: unknown) => e instanceof BtfError && /ambiguity/.test(e.message) && /foo\.b/.test(e.message),
  );
});

test('module BTF is searched only when vmlinux has no candidate', () => {
  const L = localBtf();
  const base = targetBtf().btf;
  const mb = new BtfBuilder({ base });
  const int = base.findByName('int')!.id;
  const modHolder = mb.addStruct('holder', 32, [M('inner', int, 128)]);
  const modE = mb.addStruct('foo___x', 8, [M('b', int, 32)]);
  const mod = Btf.parse(mb.encode(), { base, name: 'mymod' });
  const insns: Insn[] = [movImm(4), movImm(0), exit()];
  const res = applyCoreRelocations(insns, [relo(0, L.holder, '0:0', K.FIELD_BYTE_OFFSET), relo(8, L.fooX, '0:0', K.FIELD_BYTE_OFFSET)], L.btf, [base, mod]);
  assert.equal(res[0]!.targetBtf, 'target', 'vmlinux candidate wins');
  assert.equal(insns[0]!.imm, 8);
  // foo___x has the candidate `foo` in vmlinux (b inside the anonymous union), so the module is not consulted.
  assert.equal(res[1]!.targetBtf, 'target');
  assert.equal(insns[1]!.imm, 16);
  // A type only the module has.
  const lb = new BtfBuilder();
  const lint = lb.addInt('int', 4, { signed: true });
  const only = lb.addStruct('mod_only___local', 4, [M('v', lint, 0)]);
  const mb2 = new BtfBuilder({ base });
  const modOnly = mb2.addStruct('mod_only', 16, [M('v', int, 96)]);
  const mod2 = Btf.parse(mb2.encode(), { base, name: 'mod2' });
  const ins2: Insn[] = [movImm(0), exit()];
  const r2 = applyCoreRelocations(ins2, [relo(0, only, '0:0', K.FIELD_BYTE_OFFSET)], Btf.parse(lb.encode()), [base, mod, mod2]);
  assert.equal(r2[0]!.targetBtf, 'mod2');
  assert.equal(r2[0]!.targetTypeId, modOnly);
  assert.equal(ins2[0]!.imm, 12);
  void modHolder;
  void modE;
});

test('missing fields and types: poison (lddw gets both slots), exists/size relocations read 0', () => {
  const lb = new BtfBuilder();
  const int = lb.addInt('int', 4, { signed: true });
  const ghost = lb.addStruct('ghost', 4, [M('g', int, 0)]);
  const L = Btf.parse(lb.encode());
  const T = targetBtf();
  const insns: Insn[] = [ldxw(0), ...lddw(0, 0), movImm(1), movImm(4), exit()];
  const res = applyCoreRelocations(
    insns,
    [relo(0, ghost, '0:0', K.FIELD_BYTE_OFFSET), relo(8, ghost, '0:0', K.FIELD_BYTE_OFFSET), relo(24, ghost, '0', K.TYPE_EXISTS), relo(32, ghost, '0', K.TYPE_SIZE)],
    L,
    T.btf,
  );
  assert.deepEqual(res.map((r) => r.status), ['poisoned', 'poisoned', 'relocated', 'relocated']);
  const poison = { code: Class.JMP | JmpOp.CALL, dst: 0, src: 0, off: 0, imm: CORE_POISON_IMM };
  assert.deepEqual(insns[0], poison);
  assert.deepEqual(insns[1], poison);
  assert.deepEqual(insns[2], poison);
  assert.equal(insns[3]!.imm, 0);
  assert.equal(insns[4]!.imm, 0);
  assert.match(res[0]!.reason!, /no type named ghost/);
});

test('stores, section base offsets, and malformed relocations', () => {
  const L = localBtf();
  const T = targetBtf();
  const st = insn(Class.ST | Mode.MEM | Size.W, 1, 0, 0, 5);
  const stx = insn(Class.STX | Mode.MEM | Size.W, 1, 2, 4, 0);
  const insns: Insn[] = [st, stx, exit()];
  // The program starts 64 bytes into its section.
  const res = applyCoreRelocations(insns, [relo(64, L.foo, '0:0', K.FIELD_BYTE_OFFSET), relo(72, L.foo, '0:1', K.FIELD_BYTE_OFFSET)], L.btf, T.btf, { insnBase: 64 });
  assert.deepEqual(res.map((r) => r.insnIndex), [0, 1]);
  assert.equal(insns[0]!.off, 12);
  assert.equal(insns[1]!.off, 16);
  const bad: [CoreRelo, RegExp, Insn][] = [
    [relo(0, L.foo, '0:9', K.FIELD_BYTE_OFFSET), /out of range/, ldxw(0)],
    [relo(0, L.foo, 'x', K.FIELD_BYTE_OFFSET), /invalid access string/, ldxw(0)],
    [relo(0, L.foo, '0', 42), /unknown relocation kind|unrecognized/, ldxw(0)],
    [relo(0, 999, '0', K.TYPE_EXISTS), /does not exist/, movImm(0)],
    [relo(0, L.foo, '0:1', K.FIELD_BYTE_OFFSET), /unexpected memory offset/, ldxw(99)],
    [relo(0, L.foo, '0:1', K.FIELD_BYTE_OFFSET), /cannot be relocated/, exit()],
    [relo(0, L.foo, '0:1', K.FIELD_BYTE_OFFSET), /register source/, insn(Class.ALU64 | AluOp.ADD | Source.X, 0, 1)],
    [relo(4, L.foo, '0:1', K.FIELD_BYTE_OFFSET), /not an instruction/, ldxw(4)],
  ];
  for (const [r, re, i] of bad) {
    const prog = [i, exit()];
    const [out] = applyCoreRelocations(prog, [r], L.btf, T.btf);
    assert.equal(out!.status, 'error', `${r.accessStr}: ${out!.reason}`);
    assert.match(out!.reason!, re);
  }
  assert.equal(LDDW, 0x18);
});
