// loadObjectSpec on the example objects: programs per section, maps (BTF, legacy, global data, map-in-map,
// prog array), subprogram linking and call offsets, global data and kconfig relocations, ksyms, line info.
// Expectations are derived from the ELF symbol and relocation tables (read here independently), not from the
// loader's own output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { release } from 'node:os';
import { ElfError } from '../../src/errors.js';
import { Class, JmpOp, LDDW, PseudoCall, PseudoLd } from '../../src/isa/opcodes.js';
import { decodeProgram, type Insn } from '../../src/isa/insn.js';
import { MapType, ProgType, AttachType, Uapi } from '../../src/isa/uapi.js';
import { loadObjectSpec, loadObject } from '../../src/elf/object.js';
import { parseElf, STT, type ElfFile } from '../../src/elf/reader.js';
import { Btf } from '../../src/btf/btf.js';
import { kernelVersionCode, parseKernelConfig, readKernelConfig } from '../../src/elf/kconfig.js';
import { exampleObjects, noExamples, readExample } from './examples.js';

const CALL = Class.JMP | JmpOp.CALL;

function sym(elf: ElfFile, name: string) {
  const s = elf.symbols.find((x) => x.name === name);
  assert.ok(s, `symbol ${name}`);
  return s;
}

/** The original slots of a function, from the symbol table. */
function original(elf: ElfFile, name: string): Insn[] {
  const s = sym(elf, name);
  const sec = elf.sections[s.shndx]!;
  return decodeProgram(sec.data.subarray(s.value, s.value + s.size), { validate: false });
}

test('every example object parses into programs and maps', { skip: noExamples }, () => {
  for (const name of exampleObjects()) {
    const spec = loadObjectSpec(readExample(name)!);
    assert.ok(spec.programs.length > 0, `${name} has programs`);
    assert.ok(spec.license.length > 0, `${name} has a license`);
    for (const p of spec.programs) {
      assert.ok(p.insns.length > 0);
      assert.equal(p.insns.at(-1)!.code === 0 ? p.insns.at(-2)!.code : p.insns.at(-1)!.code, CALL | 0x10, `${name}:${p.name} ends in exit`);
      // Every program type comes from the section table.
      assert.notEqual(p.type, ProgType.UNSPEC, `${name}:${p.name}`);
      for (const r of p.references) assert.ok(r.pc >= 0 && r.pc < p.insns.length);
    }
  }
});

test('several programs in one section are split by their function symbols', { skip: noExamples }, () => {
  const bytes = readExample('tc_filter.bpf.o')!;
  const elf = parseElf(bytes);
  const spec = loadObjectSpec(bytes);
  const tc = spec.programs.filter((p) => p.section === 'tc');
  assert.deepEqual(tc.map((p) => p.name).sort(), ['tc_count_mark', 'tc_drop_port']);
  for (const p of tc) {
    assert.equal(p.insns.length, sym(elf, p.name).size / 8);
    assert.equal(p.type, ProgType.SCHED_CLS);
  }
});

test('subprograms are appended once and call offsets land on them', { skip: noExamples }, () => {
  const bytes = readExample('globals.bpf.o')!;
  const elf = parseElf(bytes);
  const spec = loadObjectSpec(bytes);
  const p = spec.programs.find((x) => x.name === 'use_globals')!;
  // use_globals → accumulate (global) → scale (static), and loop_body by address (bpf_loop callback).
  const callees = ['accumulate', 'scale', 'loop_body'];
  const expectLen = [p.name, ...callees].reduce((n, f) => n + sym(elf, f).size / 8, 0);
  assert.equal(p.insns.length, expectLen);
  // Find each callee's copy by content: its original slots appear at exactly one call/func target.
  const targets = new Set<number>();
  for (let pc = 0; pc < p.insns.length; pc++) {
    const i = p.insns[pc]!;
    if (i.code === CALL && i.src === PseudoCall.CALL) targets.add(pc + i.imm + 1);
    if (i.code === LDDW && i.src === PseudoLd.FUNC) targets.add(pc + i.imm + 1);
    if (i.code === LDDW) pc++;
  }
  assert.equal(targets.size, callees.length);
  const starts = new Map<string, number>();
  for (const f of callees) {
    const orig = original(elf, f);
    const at = [...targets].find((t) => orig.every((o, k) => o.code === p.insns[t + k]!.code && o.dst === p.insns[t + k]!.dst && o.off === p.insns[t + k]!.off));
    assert.ok(at !== undefined, `callee ${f} found at a call target`);
    starts.set(f, at);
  }
  // The entry is first and unchanged in size; appended functions do not overlap.
  const spans = [...starts.entries()].map(([f, s]) => [s, s + sym(elf, f).size / 8]).sort((a, b) => a[0]! - b[0]!);
  assert.equal(spans[0]![0], sym(elf, 'use_globals').size / 8);
  for (let k = 1; k < spans.length; k++) assert.equal(spans[k]![0], spans[k - 1]![1]);
  // socket_globals calls accumulate too: its copy includes accumulate and scale but not loop_body.
  const q = spec.programs.find((x) => x.name === 'socket_globals')!;
  assert.equal(q.insns.length, ['socket_globals', 'accumulate', 'scale'].reduce((n, f) => n + sym(elf, f).size / 8, 0));
});

test('global data relocations become map-value lddw with the symbol offset', { skip: noExamples }, () => {
  const bytes = readExample('globals.bpf.o')!;
  const elf = parseElf(bytes);
  const spec = loadObjectSpec(bytes);
  const p = spec.programs.find((x) => x.name === 'use_globals')!;
  const sec = elf.section('raw_tp/sys_enter')!;
  const origInsns = decodeProgram(sec.data, { validate: false });
  let checked = 0;
  for (const r of elf.relocationsFor('raw_tp/sys_enter')) {
    const s = elf.symbols[r.symbol]!;
    const target = elf.sections[s.shndx];
    if (!target || !/^\.(data|rodata|bss)/.test(target.name)) continue;
    const pc = r.offset / 8; // the entry function starts at slot 0 of its section
    const ref = p.references.find((x) => x.pc === pc);
    const expected = s.value + origInsns[pc]!.imm;
    assert.deepEqual(ref, { kind: 'map', pc, map: target.name, offset: expected, value: true });
    assert.equal(p.insns[pc]!.src, PseudoLd.MAP_VALUE);
    assert.equal(p.insns[pc + 1]!.imm, expected);
    checked++;
  }
  assert.ok(checked >= 1);
  // Appended accumulate references .bss/.data/.rodata/.data.custom too.
  const names = new Set(p.references.filter((r) => r.kind === 'map' && r.value).map((r) => (r as { map: string }).map));
  for (const n of ['.bss', '.data', '.rodata', '.data.custom', '.kconfig']) assert.ok(names.has(n), n);
  const ro = spec.maps.find((m) => m.name === '.rodata')!;
  assert.equal(ro.flags & Uapi.BPF_F_RDONLY_PROG, Uapi.BPF_F_RDONLY_PROG);
  assert.equal(ro.type, MapType.ARRAY);
  assert.equal(ro.maxEntries, 1);
  assert.deepEqual([...(ro.contents![0]!.value as Uint8Array)], [...elf.section('.rodata')!.data]);
  const bss = spec.maps.find((m) => m.name === '.bss')!;
  assert.equal(bss.valueSize, elf.section('.bss')!.size);
  assert.ok((bss.contents![0]!.value as Uint8Array).every((b) => b === 0));
});

test('kconfig externs are resolved from a config and the kernel release; weak unknown ones are 0', { skip: noExamples }, () => {
  const bytes = readExample('globals.bpf.o')!;
  const config = parseKernelConfig('CONFIG_HZ=1000\nCONFIG_BPF_SYSCALL=y\n# CONFIG_FOO is not set\n');
  const spec = loadObjectSpec(bytes, { config, kernelRelease: '5.15.300-generic' });
  const kc = spec.maps.find((m) => m.name === '.kconfig')!;
  assert.equal(kc.flags & Uapi.BPF_F_RDONLY_PROG, Uapi.BPF_F_RDONLY_PROG);
  const v = kc.contents![0]!.value as Uint8Array;
  const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const p = spec.programs.find((x) => x.name === 'use_globals')!;
  const elf = parseElf(bytes);
  // Offsets per extern from the program's references (relocations against the UND symbols).
  const at = (name: string) => {
    const r = elf.relocationsFor('raw_tp/sys_enter').find((x) => elf.symbols[x.symbol]!.name === name)!;
    const ref = p.references.find((x) => x.pc === r.offset / 8) as { map: string; offset: number };
    assert.equal(ref.map, '.kconfig');
    return ref.offset;
  };
  assert.equal(view.getUint32(at('LINUX_KERNEL_VERSION'), true), (5 << 16) + (15 << 8) + 255);
  assert.equal(view.getInt32(at('CONFIG_HZ'), true), 1000);
  assert.equal(view.getUint8(at('CONFIG_BPF_SYSCALL')), 1);
  assert.equal(view.getInt32(at('CONFIG_BPFKIT_DOES_NOT_EXIST'), true), 0);
  assert.equal(kernelVersionCode('6.18.44-x'), (6 << 16) + (18 << 8) + 44);
  assert.equal(kernelVersionCode(release()) > 0, true);
});

test('the running kernel config is read when present', (t) => {
  const c = readKernelConfig();
  if (!c) return t.skip('no /proc/config.gz or /boot/config-$(uname -r)');
  assert.ok(c.size > 100);
  assert.match(c.get('CONFIG_HZ') ?? '', /^\d+$/);
});

test('BTF map definitions: types, sizes, map-in-map inner spec and initial slots', { skip: noExamples }, () => {
  const spec = loadObjectSpec(readExample('tailcall_mim.bpf.o')!);
  const outer = spec.maps.find((m) => m.name === 'outer')!;
  assert.equal(outer.type, MapType.ARRAY_OF_MAPS);
  assert.equal(outer.maxEntries, 4);
  assert.equal(outer.valueSize, 4);
  assert.deepEqual(
    { type: outer.inner!.type, keySize: outer.inner!.keySize, valueSize: outer.inner!.valueSize, maxEntries: outer.inner!.maxEntries },
    { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16 },
  );
  assert.deepEqual(outer.initialSlots, [
    { index: 0, name: 'inner0' },
    { index: 2, name: 'inner1' },
  ]);
  const jt = spec.maps.find((m) => m.name === 'jump_table')!;
  assert.equal(jt.type, MapType.PROG_ARRAY);
  assert.deepEqual(jt.initialSlots, [{ index: 1, name: 'tail_target' }]);
  const ring = loadObjectSpec(readExample('exec_logger.bpf.o')!).maps.find((m) => m.name === 'events')!;
  assert.deepEqual([ring.type, ring.maxEntries, ring.keySize, ring.valueSize], [MapType.RINGBUF, 256 * 1024, 0, 0]);
  const xdp = loadObjectSpec(readExample('xdp_proto.bpf.o')!);
  const pc = xdp.maps.find((m) => m.name === 'proto_count')!;
  assert.deepEqual([pc.type, pc.keySize, pc.valueSize, pc.maxEntries], [MapType.PERCPU_ARRAY, 4, 8, 256]);
  assert.ok(pc.btfKeyTypeId && pc.btfValueTypeId);
  assert.equal(xdp.programs[0]!.expectedAttachType, AttachType.XDP);
});

test('legacy maps section and version', { skip: noExamples }, () => {
  const bytes = readExample('legacy_maps.bpf.o')!;
  const spec = loadObjectSpec(bytes);
  assert.deepEqual(
    spec.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags]),
    [
      ['legacy_hash', MapType.HASH, 4, 8, 128, Uapi.BPF_F_NO_PREALLOC],
      ['legacy_array', MapType.ARRAY, 4, 4, 4, 0],
    ],
  );
  assert.equal(spec.license, 'Dual MIT/GPL');
  assert.ok(spec.kernelVersion! > 0x30000);
  const p = spec.programs[0]!;
  assert.deepEqual(
    p.references.map((r) => (r as { map: string }).map),
    ['legacy_hash', 'legacy_array'],
  );
  for (const r of p.references) assert.equal(p.insns[r.pc]!.src, PseudoLd.MAP_FD);
});

test('ksym kfunc calls become kfunc references', { skip: noExamples }, () => {
  const spec = loadObjectSpec(readExample('ksyms.bpf.o')!);
  const p = spec.programs[0]!;
  const ks = p.references.filter((r) => r.kind === 'ksym');
  assert.deepEqual(ks.map((r) => [(r as { symbol: string }).symbol, (r as { func: boolean }).func]), [
    ['bpf_rcu_read_lock', true],
    ['bpf_rcu_read_unlock', true],
  ]);
  for (const r of ks) assert.deepEqual([p.insns[r.pc]!.code, p.insns[r.pc]!.src], [CALL, PseudoCall.KFUNC]);
});

test('line info maps to linked instructions with source text', { skip: noExamples }, () => {
  const spec = loadObjectSpec(readExample('globals.bpf.o')!);
  const p = spec.programs.find((x) => x.name === 'use_globals')!;
  assert.equal(p.lines!.length, p.insns.length);
  const lines = p.lines!.filter((l) => l !== undefined);
  assert.ok(lines.length > 10);
  assert.ok(lines.every((l) => l.file.endsWith('globals.bpf.c')));
  assert.ok(lines.some((l) => l.text?.includes('bpf_loop(4, loop_body, &sum, 0)')));
  // Lines of the appended subprogram `scale` appear after the entry function.
  assert.ok(p.lines!.some((l, pc) => pc >= 65 && l?.text?.includes('return x * multiplier')));
  const ext = p.btfExt as { funcInfo: { insnOff: number }[] };
  assert.equal(ext.funcInfo.length, 4);
  assert.equal(ext.funcInfo[0]!.insnOff, 0);
});

test('fixed-up BTF has DATASEC sizes and variable offsets from the ELF', { skip: noExamples }, () => {
  const bytes = readExample('globals.bpf.o')!;
  const o = loadObject(bytes);
  const raw = o.spec.btfRaw!;
  assert.ok(raw instanceof Uint8Array);
  const fixed = Btf.parse(raw);
  const ds = fixed.findByName('.rodata');
  assert.ok(ds?.kind === 'datasec');
  assert.equal(ds.size, o.elf.section('.rodata')!.size);
  const offs = ds.vars.map((v) => [fixed.typeById(v.typeId).name, v.offset]);
  for (const [name, off] of offs) assert.equal(off, sym(o.elf, name as string).value);
  const kc = fixed.findByName('.kconfig');
  assert.ok(kc?.kind === 'datasec');
  assert.ok(kc.size >= 16);
});

test('bad objects give ElfError', () => {
  assert.throws(() => loadObjectSpec(new Uint8Array(10)), ElfError);
  assert.throws(() => loadObjectSpec(new TextEncoder().encode('not an elf file at all, really, no...................................')), ElfError);
});

test('big-endian objects decode to the same program shape', { skip: noExamples }, () => {
  const be = readExample('bpfeb/xdp_proto.bpf.o');
  if (!be) return;
  const a = loadObjectSpec(be);
  const b = loadObjectSpec(readExample('xdp_proto.bpf.o')!);
  assert.equal(parseElf(be).bigEndian, true);
  assert.deepEqual(a.programs[0]!.insns.map((i) => [i.code, i.dst, i.src]), b.programs[0]!.insns.map((i) => [i.code, i.dst, i.src]));
  assert.deepEqual(a.maps.map((m) => [m.name, m.keySize, m.valueSize, m.maxEntries]), b.maps.map((m) => [m.name, m.keySize, m.valueSize, m.maxEntries]));
  assert.equal(STT.FUNC, 2);
});
