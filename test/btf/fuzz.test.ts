// Fuzzing: thousands of truncated and mutated BTF / .BTF.ext blobs (a small all-kinds blob and a slice of vmlinux)
// must only ever raise BtfError — no crash, hang, stack overflow or huge allocation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { Btf, BtfBuilder, btfToC, btfToRaw, encodeBtfExt, formatRawType, parseBtfExt } from '../../src/btf/index.js';
import { BtfError } from '../../src/errors.js';
import { mulberry32 } from '../fixtures/random.js';

const INTERESTING = [0, 1, 2, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0x01000000, 0x8d000000, 0x0400ffff];

function expectBtfError(e: unknown, ctx: string): void {
  if (!(e instanceof BtfError)) {
    assert.fail(`${ctx}: expected BtfError, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack}`);
  }
}

/** Parse and exercise every query on (a sample of) the types. */
function exercise(bytes: Uint8Array, ctx: string, opts: { ids?: number; dumpC?: boolean } = {}): void {
  let btf: Btf;
  try {
    btf = Btf.parse(bytes);
  } catch (e) {
    expectBtfError(e, ctx);
    const be = e as BtfError;
    assert.equal(be.section, '.BTF', `${ctx}: parse errors name the section`);
    assert.equal(typeof be.offset, 'number', `${ctx}: parse errors carry an offset (${be.message})`);
    return;
  }
  const n = Math.min(btf.typeCount, opts.ids ?? btf.typeCount);
  for (let id = 0; id < n; id++) {
    for (const op of [
      () => btf.typeById(id),
      () => btf.sizeOf(id),
      () => btf.alignOf(id),
      () => btf.typeToC(id, 'x'),
      () => formatRawType(btf, btf.decode(id)),
      () => btf.resolveTypedefs(id),
    ]) {
      try {
        op();
      } catch (e) {
        expectBtfError(e, `${ctx} id ${id}`);
      }
    }
  }
  for (const op of [
    () => btf.findByName('int'),
    () => btf.findByEssentialName('point___v1'),
    () => (opts.dumpC === false ? '' : btfToC(btf)),
    () => btfToRaw(btf),
    () => BtfBuilder.from(btf).encode(),
  ]) {
    try {
      op();
    } catch (e) {
      expectBtfError(e, ctx);
    }
  }
}

/** Apply one random mutation to a copy of `src` (or return a truncated view). */
function mutate(src: Uint8Array, r: () => number, from = 0): Uint8Array {
  const pick = r();
  if (pick < 0.15) return src.subarray(0, Math.floor(r() * src.length));
  const b = src.slice();
  const v = new DataView(b.buffer);
  const span = b.length - from;
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const at = from + Math.floor(r() * span);
    if (pick < 0.5) b[at] = Math.floor(r() * 256);
    else if (at + 4 <= b.length) v.setUint32(at & ~3, INTERESTING[Math.floor(r() * INTERESTING.length)]!, true);
  }
  return b;
}

/** A small blob with every kind, cross-references, anonymous members, bitfields and a self-referencing struct. */
function smallBlob(): Uint8Array {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, { signed: true });
  const char = b.addInt('char', 1, { char: true });
  const arr = b.addArray(char, 8, int);
  const fwd = b.add({ kind: 'fwd', name: 'point', fwdKind: 'struct' });
  const anon = b.addStruct('', 4, [{ name: 'u', typeId: int, bitOffset: 0, bitfieldSize: 0 }], true);
  const pt = b.addStruct('point', 32, [
    { name: 'x', typeId: int, bitOffset: 0, bitfieldSize: 0 },
    { name: 'f', typeId: int, bitOffset: 32, bitfieldSize: 3 },
    { name: 'self', typeId: b.addPtr(fwd), bitOffset: 64, bitfieldSize: 0 },
    { name: 'name', typeId: arr, bitOffset: 128, bitfieldSize: 0 },
    { name: '', typeId: anon, bitOffset: 192, bitfieldSize: 0 },
  ]);
  b.addTypedef('point_t', pt);
  const e = b.add({ kind: 'enum', name: 'e', size: 4, signed: false, values: [{ name: 'A', value: 1 }] });
  b.add({ kind: 'enum64', name: 'e64', size: 8, signed: true, values: [{ name: 'B', value: -2n }] });
  const cst = b.add({ kind: 'const', typeId: b.add({ kind: 'volatile', typeId: int }) });
  b.add({ kind: 'restrict', typeId: b.addPtr(cst) });
  const proto = b.add({ kind: 'func_proto', returnTypeId: e, params: [{ name: 'p', typeId: b.addPtr(pt) }, { name: '', typeId: 0 }] });
  const fn = b.add({ kind: 'func', name: 'fn', typeId: proto, linkage: 'global' });
  const v = b.add({ kind: 'var', name: 'v', typeId: int, linkage: 'static' });
  b.add({ kind: 'datasec', name: '.data', size: 4, vars: [{ typeId: v, offset: 0, size: 4 }] });
  b.add({ kind: 'float', name: 'float', size: 4 });
  b.add({ kind: 'decl_tag', name: 'tag', typeId: fn, componentIdx: 0, attr: false });
  b.addPtr(b.add({ kind: 'type_tag', name: 'user', typeId: int, attr: false }));
  b.addTypedef('fnptr', b.addPtr(proto));
  return b.encode();
}

test('mutated small BTF: only BtfError', { timeout: 120_000 }, () => {
  const src = smallBlob();
  exercise(src, 'pristine');
  const r = mulberry32(0xb7f);
  for (let i = 0; i < 3000; i++) exercise(mutate(src, r), `small #${i}`);
});

test('mutated slice of vmlinux: only BtfError', { timeout: 120_000, skip: existsSync('/sys/kernel/btf/vmlinux') ? false : 'no kernel BTF' }, () => {
  const full = readFileSync('/sys/kernel/btf/vmlinux');
  const btf = Btf.parse(full);
  const hdrLen = btf.header.hdrLen;
  // Keep the first 400 types (references beyond them become errors to survive) and the whole string table.
  let typeLen = 0;
  const probe = Btf.parse(full);
  for (let id = 1; id <= 400; id++) {
    const t = probe.decode(id);
    const vlen = 'members' in t ? t.members.length : 'values' in t ? t.values.length : 'params' in t ? t.params.length : 'vars' in t ? t.vars.length : 0;
    const k = probe.kindOf(id);
    typeLen += k === 1 || k === 14 || k === 17 ? 16 : k === 3 ? 24 : k === 4 || k === 5 || k === 15 || k === 19 ? 12 + 12 * vlen : k === 6 || k === 13 ? 12 + 8 * vlen : 12;
  }
  const strs = full.subarray(hdrLen + btf.header.strOff, hdrLen + btf.header.strOff + btf.header.strLen);
  const slice = new Uint8Array(24 + typeLen + strs.length);
  slice.set(full.subarray(0, 24));
  slice.set(full.subarray(hdrLen + btf.header.typeOff, hdrLen + btf.header.typeOff + typeLen), 24);
  slice.set(strs, 24 + typeLen);
  const v = new DataView(slice.buffer);
  v.setUint32(4, 24, true);
  v.setUint32(8, 0, true);
  v.setUint32(12, typeLen, true);
  v.setUint32(16, typeLen, true);
  v.setUint32(20, strs.length, true);
  const parsed = Btf.parse(slice);
  assert.equal(parsed.typeCount, 401);
  exercise(slice, 'vmlinux slice');
  const r = mulberry32(0x5eed);
  // Mutate only the header and type section (the string table is 2 MB and mostly inert).
  const typesOnly = slice.subarray(0, 24 + typeLen);
  for (let i = 0; i < 1500; i++) {
    const m = mutate(typesOnly, r);
    const blob = m.length === typesOnly.length ? new Uint8Array(slice.length) : undefined;
    if (blob) {
      blob.set(m);
      blob.set(strs, 24 + typeLen);
    }
    exercise(blob ?? m, `vmlinux slice #${i}`, { ids: 120, dumpC: i % 10 === 0 });
  }
});

test('mutated .BTF.ext: only BtfError', { timeout: 60_000 }, () => {
  const b = new BtfBuilder();
  const int = b.addInt('int', 4, { signed: true });
  const s = b.addStruct('s', 4, [{ name: 'a', typeId: int, bitOffset: 0, bitfieldSize: 0 }]);
  const ext = encodeBtfExt(
    {
      funcInfo: new Map([['prog', [{ insnOff: 0, typeId: 1 }]]]),
      lineInfo: new Map([['prog', [{ insnOff: 0, fileName: 'a.c', lineText: 'int x;', line: 1, column: 2 }]]]),
      coreRelos: new Map([['prog', [{ insnOff: 0, typeId: s, accessStr: '0:0', kind: 0 }]]]),
    },
    (str) => b.addString(str),
  );
  const btf = Btf.parse(b.encode());
  assert.equal(parseBtfExt(ext, btf).coreRelos.get('prog')!.length, 1);
  const r = mulberry32(42);
  for (let i = 0; i < 3000; i++) {
    try {
      parseBtfExt(mutate(ext, r), btf);
    } catch (e) {
      expectBtfError(e, `ext #${i}`);
      assert.equal((e as BtfError).section, '.BTF.ext');
    }
  }
});
