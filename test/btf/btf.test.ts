// BTF parsing and writing: every kind in both byte orders, the vmlinux round trip, split (module) BTF, name
// lookups, size/alignment, C declarators and .BTF.ext.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  Btf,
  BtfBuilder,
  encodeBtf,
  encodeBtfExt,
  loadKernelModules,
  parseBtfExt,
  type BtfType,
  type BtfTypeInput,
} from '../../src/btf/index.js';
import { BtfError } from '../../src/errors.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const noKernelBtf = existsSync(VMLINUX) ? false : 'no kernel BTF at /sys/kernel/btf/vmlinux';

/** One type of every kind (ids 1..), referring to each other. */
function allKinds(): BtfTypeInput[] {
  return [
    /* 1 */ { kind: 'int', name: 'int', size: 4, bits: 32, bitOffset: 0, signed: true, char: false, bool: false },
    /* 2 */ { kind: 'int', name: 'unsigned char', size: 1, bits: 8, bitOffset: 0, signed: false, char: true, bool: false },
    /* 3 */ { kind: 'ptr', typeId: 2 },
    /* 4 */ { kind: 'array', typeId: 2, indexTypeId: 1, nelems: 16 },
    /* 5 */ {
      kind: 'struct',
      name: 'point',
      size: 24,
      members: [
        { name: 'x', typeId: 1, bitOffset: 0, bitfieldSize: 0 },
        { name: 'flag', typeId: 1, bitOffset: 32, bitfieldSize: 3 },
        { name: 'name', typeId: 4, bitOffset: 64, bitfieldSize: 0 },
      ],
    },
    /* 6 */ { kind: 'union', name: 'u', size: 4, members: [{ name: 'i', typeId: 1, bitOffset: 0, bitfieldSize: 0 }, { name: '', typeId: 5, bitOffset: 0, bitfieldSize: 0 }] },
    /* 7 */ { kind: 'enum', name: 'color', size: 4, signed: true, values: [{ name: 'RED', value: -1 }, { name: 'GREEN', value: 7 }] },
    /* 8 */ { kind: 'enum64', name: 'big', size: 8, signed: false, values: [{ name: 'HUGE', value: 0xfedcba9876543210n }, { name: 'ONE', value: 1n }] },
    /* 9 */ { kind: 'fwd', name: 'opaque', fwdKind: 'union' },
    /* 10 */ { kind: 'typedef', name: 'point_t', typeId: 5 },
    /* 11 */ { kind: 'volatile', typeId: 1 },
    /* 12 */ { kind: 'const', typeId: 11 },
    /* 13 */ { kind: 'restrict', typeId: 3 },
    /* 14 */ { kind: 'func_proto', returnTypeId: 1, params: [{ name: 'p', typeId: 3 }, { name: '', typeId: 0 }] },
    /* 15 */ { kind: 'func', name: 'handler', typeId: 14, linkage: 'global' },
    /* 16 */ { kind: 'var', name: 'counter', typeId: 1, linkage: 'global' },
    /* 17 */ { kind: 'datasec', name: '.data', size: 4, vars: [{ typeId: 16, offset: 0, size: 4 }] },
    /* 18 */ { kind: 'float', name: 'double', size: 8 },
    /* 19 */ { kind: 'decl_tag', name: 'kfunc', typeId: 15, componentIdx: -1, attr: false },
    /* 20 */ { kind: 'type_tag', name: 'user', typeId: 1, attr: false },
    /* 21 */ { kind: 'ptr', typeId: 20 },
    /* 22 */ { kind: 'func', name: 'helper', typeId: 14, linkage: 'static' },
    /* 23 */ { kind: 'var', name: 'ext', typeId: 18, linkage: 'extern' },
  ];
}

function strip(t: BtfType): Record<string, unknown> {
  const { id: _id, ...rest } = t;
  return rest;
}

test('every kind round-trips through the writer and the parser, in both byte orders', () => {
  const types = allKinds();
  for (const bigEndian of [false, true]) {
    const bytes = encodeBtf(types, { bigEndian });
    assert.deepEqual([bytes[0], bytes[1]], bigEndian ? [0xeb, 0x9f] : [0x9f, 0xeb]);
    const btf = Btf.parse(bytes);
    assert.equal(btf.bigEndian, bigEndian);
    assert.equal(btf.typeCount, types.length + 1);
    assert.deepEqual(btf.typeById(0), { kind: 'void', id: 0, name: '' });
    types.forEach((t, i) => {
      const got = btf.typeById(i + 1);
      assert.equal(got.id, i + 1);
      assert.deepEqual(strip(got), { name: '', ...t }, `type ${i + 1} (${t.kind})`);
    });
    // Writing the parsed BTF again gives the same bytes.
    assert.deepEqual(BtfBuilder.from(btf).encode(), bytes);
  }
  // Both byte orders decode to the same types.
  const le = Btf.parse(encodeBtf(types));
  const be = Btf.parse(encodeBtf(types, { bigEndian: true }));
  for (let id = 1; id < le.typeCount; id++) assert.deepEqual(le.typeById(id), be.typeById(id));
});

test('vmlinux round trip: parse, write, re-parse gives the same types (and the same bytes)', { skip: noKernelBtf }, () => {
  const orig = readFileSync(VMLINUX);
  const btf = Btf.loadKernel();
  assert.ok(btf.typeCount > 1000);
  const written = BtfBuilder.from(btf).encode();
  const again = Btf.parse(written);
  assert.equal(again.typeCount, btf.typeCount);
  let mismatches = 0;
  for (let id = 1; id < btf.typeCount; id++) if (!isDeepStrictEqual(btf.decode(id), again.decode(id))) mismatches++;
  assert.equal(mismatches, 0);
  assert.ok(Buffer.from(written).equals(orig), 'written vmlinux BTF is byte-identical to the original');
  // And through the other byte order.
  const be = Btf.parse(BtfBuilder.from(btf, { bigEndian: true }).encode());
  assert.equal(be.bigEndian, true);
  for (let id = 1; id < btf.typeCount; id += 7) assert.ok(isDeepStrictEqual(btf.decode(id), be.decode(id)), `type ${id}`);
});

test('malformed headers are BtfErrors naming the section and offset', () => {
  const good = encodeBtf(allKinds());
  const cases: [string, (b: Uint8Array) => Uint8Array, RegExp][] = [
    ['short', (b) => b.subarray(0, 10), /shorter than its header/],
    ['magic', (b) => ((b[0] = 0x12), b), /bad BTF magic/],
    ['version', (b) => ((b[2] = 2), b), /version/],
    ['type_len', (b) => (new DataView(b.buffer).setUint32(12, 0xfffffff0, true), b), /type section/],
    ['str_len', (b) => (new DataView(b.buffer).setUint32(20, 0x7ffffff0, true), b), /string section/],
    ['unterminated strings', (b) => ((b[b.length - 1] = 0x41), b), /NUL-terminated/],
  ];
  for (const [what, mutate, re] of cases) {
    const b = mutate(good.slice());
    assert.throws(
      () => Btf.parse(b),
      (e: unknown) => e instanceof BtfError && re.test(e.message) && e.section === '.BTF' && typeof e.offset === 'number',
      what,
    );
  }
  // A reference to a type that does not exist is reported when that type is decoded.
  const ptr = encodeBtf([{ kind: 'ptr', typeId: 0 }]);
  new DataView(ptr.buffer).setUint32(24 + 8, 99, true);
  const p = Btf.parse(ptr);
  assert.throws(() => p.typeById(1), (e: unknown) => e instanceof BtfError && /type id 99 is out of range/.test(e.message) && e.offset === 24);
  assert.throws(() => p.typeById(5), /type id 5 does not exist/);
});

test('name lookups: exact names, kinds, duplicates and ___flavor candidates', () => {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, { signed: true });
  const s1 = b.addStruct('task', 4, [{ name: 'pid', typeId: int, bitOffset: 0, bitfieldSize: 0 }]);
  const td = b.addTypedef('task', s1);
  const s2 = b.addStruct('task___v2', 8, []);
  const s3 = b.addStruct('task___v2___x', 8, []);
  const under = b.addStruct('__task', 8, []);
  const btf = Btf.parse(b.encode());
  assert.equal(btf.findByName('task')?.id, s1);
  assert.equal(btf.findByName('task', 'typedef')?.id, td);
  assert.deepEqual(btf.findIdsByName('task'), [s1, td]);
  assert.deepEqual(btf.findIdsByName('task', ['struct', 'union']), [s1]);
  assert.equal(btf.findByName('task___v2')?.id, s2);
  assert.equal(btf.findByName('nope'), undefined);
  assert.deepEqual(btf.findByEssentialName('task___old', 'struct'), [s1, s2]);
  assert.deepEqual(btf.findByEssentialName('task___v2'), [s1, td, s2], 'essential name of task___v2 is task');
  assert.deepEqual(btf.findByEssentialName('task___v2___y'), [s3]);
  assert.deepEqual(btf.findIdsByName('__task'), [under]);
});

test('vmlinux: lookups, sizes, alignment, typedef resolution', { skip: noKernelBtf }, () => {
  const btf = Btf.loadKernel();
  const task = btf.findByName('task_struct', 'struct');
  assert.ok(task && task.kind === 'struct');
  assert.equal(btf.sizeOf(task.id), task.size);
  assert.equal(btf.alignOf(task.id) >= 8, true);
  const u32 = btf.findByName('u32', 'typedef')!;
  const resolved = btf.resolveType(u32.id);
  assert.equal(resolved.kind, 'int');
  assert.equal(resolved.name, 'unsigned int');
  assert.equal(btf.sizeOf(u32.id), 4);
  const lh = btf.findByName('list_head', 'struct')!;
  assert.equal(btf.sizeOf(lh.id), 16);
  assert.equal(btf.alignOf(lh.id), 8);
  assert.equal(btf.typeToC(lh.id), 'struct list_head');
  // A const modifier chain.
  const constCharPtr = btf.findIdsByName('char', 'int')[0]!;
  assert.equal(btf.typeToC(constCharPtr), 'char');
  for (let id = 1; id < 200; id++) {
    const k = btf.kindOf(id);
    if (k === 9 || k === 10 || k === 11) assert.equal(btf.skipModifiers(id), btf.skipModifiers(btf.sizeOrTypeOf(id)));
  }
  assert.throws(() => btf.typeById(btf.typeCount), BtfError);
});

test('C declarators: pointers, arrays, function pointers, qualifiers', () => {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, { signed: true });
  const char = b.addInt('char', 1, { char: true, signed: true });
  const cchar = b.add({ kind: 'const', typeId: char });
  const pcc = b.addPtr(cchar);
  const cpcc = b.add({ kind: 'const', typeId: pcc });
  const arr = b.addArray(int, 4, int);
  const parr = b.addPtr(arr);
  const proto = b.add({ kind: 'func_proto', returnTypeId: pcc, params: [{ name: 'a', typeId: int }, { name: '', typeId: 0 }] });
  const fp = b.addPtr(proto);
  const afp = b.addArray(fp, 3, int);
  const vproto = b.add({ kind: 'func_proto', returnTypeId: 0, params: [] });
  const vfp = b.addPtr(vproto);
  const arr2 = b.addArray(arr, 2, int);
  const st = b.addStruct('s', 8, [{ name: 'x', typeId: int, bitOffset: 0, bitfieldSize: 0 }]);
  const anon = b.addStruct('', 4, [{ name: 'y', typeId: int, bitOffset: 0, bitfieldSize: 0 }]);
  const fn = b.add({ kind: 'func', name: 'f', typeId: proto, linkage: 'global' });
  const btf = Btf.parse(b.encode());
  assert.equal(btf.typeToC(pcc, 'p'), 'const char *p');
  assert.equal(btf.typeToC(cpcc, 'p'), 'const char * const p');
  assert.equal(btf.typeToC(parr, 'p'), 'int (*p)[4]');
  assert.equal(btf.typeToC(fp, 'cb'), 'const char * (*cb)(int a, ...)');
  assert.equal(btf.typeToC(afp, 'table'), 'const char * (*table[3])(int a, ...)');
  assert.equal(btf.typeToC(vfp, 'v'), 'void (*v)(void)');
  assert.equal(btf.typeToC(arr2, 'm'), 'int m[2][4]');
  assert.equal(btf.typeToC(st), 'struct s');
  assert.equal(btf.typeToC(anon, 'a'), 'struct {\n\tint y;\n} a');
  assert.equal(btf.typeToC(fn), 'const char *f(int a, ...)');
  assert.equal(btf.typeToC(0), 'void');
});

test('alignment and packed-struct detection', () => {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, { signed: true });
  const long = b.addInt('long', 8, { signed: true });
  const packed = b.addStruct('p', 5, [
    { name: 'c', typeId: int, bitOffset: 0, bitfieldSize: 0 },
    { name: 'd', typeId: b.addInt('char', 1), bitOffset: 32, bitfieldSize: 0 },
  ]);
  const mis = b.addStruct('m', 12, [{ name: 'l', typeId: long, bitOffset: 32, bitfieldSize: 0 }]);
  const ok = b.addStruct('o', 16, [{ name: 'l', typeId: long, bitOffset: 64, bitfieldSize: 0 }]);
  const btf = Btf.parse(b.encode());
  assert.equal(btf.alignOf(packed), 1);
  assert.equal(btf.alignOf(mis), 1);
  assert.equal(btf.alignOf(ok), 8);
  assert.equal(btf.sizeOf(ok), 16);
});

test('split BTF: ids and string offsets continue the base; broken modules become warnings', { skip: noKernelBtf }, () => {
  const base = Btf.loadKernel();
  const int = base.findByName('int', 'int')!;
  const task = base.findByName('task_struct', 'struct')!;
  const b = new BtfBuilder({ base });
  const ptr = b.addPtr(task.id);
  const mine = b.addStruct('bpfkit_test_mod_struct', 16, [
    { name: 'owner', typeId: ptr, bitOffset: 0, bitfieldSize: 0 },
    { name: 'count', typeId: int.id, bitOffset: 64, bitfieldSize: 0 },
  ]);
  assert.equal(ptr, base.typeCount);
  const bytes = b.encode();
  const mod = Btf.parse(bytes, { base, name: 'bpfkit_test' });
  assert.equal(mod.startId, base.typeCount);
  assert.equal(mod.typeCount, base.typeCount + 2);
  assert.equal(mod.strings.start, base.strings.length);
  const s = mod.typeById(mine);
  assert.ok(s.kind === 'struct');
  assert.equal(s.name, 'bpfkit_test_mod_struct');
  assert.equal(mod.typeToC(s.members[0]!.typeId, 'owner'), 'struct task_struct *owner');
  assert.equal(mod.findByName('bpfkit_test_mod_struct')?.id, mine);
  assert.equal(mod.findByName('task_struct', 'struct')?.id, task.id, 'base types are found through the module');
  assert.deepEqual(mod.findByEssentialName('task_struct', 'struct', true), []);
  assert.equal(mod.typeById(task.id).name, 'task_struct');
  assert.equal(mod.sizeOf(mine), 16);

  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-modbtf-'));
  try {
    writeFileSync(join(dir, 'vmlinux'), 'ignored');
    writeFileSync(join(dir, 'good_mod'), bytes);
    writeFileSync(join(dir, 'broken_mod'), bytes.subarray(0, 30));
    const bad = bytes.slice();
    bad[0] = 0;
    writeFileSync(join(dir, 'badmagic_mod'), bad);
    const { modules, warnings } = loadKernelModules({ dir, base });
    assert.deepEqual(modules.map((m) => m.name), ['good_mod']);
    assert.equal(warnings.length, 2);
    assert.match(warnings.join('\n'), /broken_mod/);
    assert.match(warnings.join('\n'), /badmagic_mod: .*magic/);
    assert.equal(modules[0]!.findByName('bpfkit_test_mod_struct')?.id, mine);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // The real modules directory never throws.
  const real = loadKernelModules();
  assert.ok(Array.isArray(real.modules) && Array.isArray(real.warnings));
});

test('.BTF.ext: func_info, line_info and core_relo tables round-trip, keyed by section', () => {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, { signed: true });
  const proto = b.add({ kind: 'func_proto', returnTypeId: int, params: [] });
  const fn = b.add({ kind: 'func', name: 'prog', typeId: proto, linkage: 'global' });
  const s = b.addStruct('task', 4, [{ name: 'pid', typeId: int, bitOffset: 0, bitfieldSize: 0 }]);
  const ext = encodeBtfExt(
    {
      funcInfo: new Map([['xdp', [{ insnOff: 0, typeId: fn }]]]),
      lineInfo: new Map([
        ['xdp', [{ insnOff: 0, fileName: 'prog.c', lineText: 'int prog(void) {', line: 3, column: 1 }, { insnOff: 8, fileName: 'prog.c', lineText: 'return 0;', line: 4, column: 2 }]],
        ['tc', [{ insnOff: 16, fileName: 'other.c', lineText: 'x', line: 1000, column: 1023 }]],
      ]),
      coreRelos: new Map([['xdp', [{ insnOff: 8, typeId: s, accessStr: '0:0', kind: 0 }]]]),
    },
    (str) => b.addString(str),
  );
  const btf = Btf.parse(b.encode());
  const parsed = parseBtfExt(ext, btf);
  assert.deepEqual(parsed.funcInfo.get('xdp'), [{ insnOff: 0, typeId: fn }]);
  assert.equal(parsed.lineInfo.get('xdp')!.length, 2);
  assert.deepEqual(
    parsed.lineInfo.get('tc')!.map(({ fileNameOff: _a, lineOff: _b, ...r }) => r),
    [{ insnOff: 16, fileName: 'other.c', lineText: 'x', line: 1000, column: 1023 }],
  );
  assert.equal(parsed.lineInfo.get('xdp')![1]!.lineText, 'return 0;');
  assert.deepEqual(parsed.coreRelos.get('xdp'), [{ insnOff: 8, typeId: s, accessStr: '0:0', kind: 0 }]);
  assert.equal(parsed.funcInfoRecSize, 8);
  assert.equal(parsed.lineInfoRecSize, 16);
  assert.equal(parsed.coreReloRecSize, 16);
  // Big-endian too.
  const beExt = encodeBtfExt({ funcInfo: parsed.funcInfo }, (str) => b.addString(str), { bigEndian: true });
  assert.deepEqual(parseBtfExt(beExt, Btf.parse(b.encode())).funcInfo.get('xdp'), [{ insnOff: 0, typeId: fn }]);
  // Record counts that do not fit are refused before anything is allocated.
  const bad = ext.slice();
  new DataView(bad.buffer).setUint32(32 + 4 + 4, 0x7fffffff, true);
  assert.throws(() => parseBtfExt(bad, btf), (e: unknown) => e instanceof BtfError && /more than fit/.test(e.message) && e.section === '.BTF.ext');
});

test('sanitising for older kernels keeps every type id and replaces unsupported kinds', async () => {
  const { sanitizeBtf, needsSanitize } = await import('../../src/btf/index.js');
  const btf = Btf.parse(encodeBtf(allKinds()));
  const none = {};
  assert.equal(needsSanitize(btf, none), false);
  const old = { func: true, funcGlobal: false, datasec: false, float: false, declTag: false, typeTag: false, enum64: false };
  assert.equal(needsSanitize(btf, old), true);
  const out = Btf.parse(sanitizeBtf(btf, old).encode());
  assert.equal(out.typeCount, btf.typeCount + 1, 'one placeholder int for ENUM64 members');
  const kinds = (b: Btf) => Array.from({ length: btf.typeCount - 1 }, (_, i) => b.kindNameOf(i + 1));
  assert.deepEqual(
    kinds(out).map((k, i) => (k === kinds(btf)[i] ? '=' : `${kinds(btf)[i]}->${k}`)).filter((x) => x !== '='),
    ['enum64->union', 'var->int', 'datasec->struct', 'float->struct', 'decl_tag->int', 'type_tag->const', 'var->int'],
  );
  const fn = out.typeById(15);
  assert.ok(fn.kind === 'func' && fn.linkage === 'static');
  const sec = out.typeById(17);
  assert.ok(sec.kind === 'struct' && sec.name === '_data' && sec.members[0]!.name === 'counter');
  const noFunc = Btf.parse(sanitizeBtf(btf, { func: false }).encode());
  assert.equal(noFunc.kindNameOf(14), 'enum');
  assert.equal(noFunc.kindNameOf(15), 'typedef');
  // Untouched input gives the same bytes back.
  assert.deepEqual(sanitizeBtf(btf, none).encode(), btf.bytes);
});
