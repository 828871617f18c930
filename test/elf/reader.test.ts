// The generic ELF64 reader: sections, symbols and relocations of a real object (cross-checked with
// llvm-readelf when present), both byte orders, and located ElfErrors for truncated or corrupted headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ElfError } from '../../src/errors.js';
import { EM_BPF, R_BPF, SHT, STB, STT, parseElf } from '../../src/elf/reader.js';
import { examplesDir, have, noExamples, readExample } from './examples.js';

test('reads sections, symbols and relocations of an object', { skip: noExamples }, () => {
  const elf = parseElf(readExample('globals.bpf.o')!, { requireBpf: true });
  assert.equal(elf.machine, EM_BPF);
  assert.equal(elf.bigEndian, false);
  const text = elf.section('.text')!;
  assert.equal(text.type, SHT.PROGBITS);
  assert.equal(text.data.length, text.size);
  const acc = elf.symbols.find((s) => s.name === 'accumulate')!;
  assert.deepEqual([acc.type, acc.bind, acc.shndx, acc.value], [STT.FUNC, STB.GLOBAL, text.index, 0]);
  const weak = elf.symbols.find((s) => s.name === 'CONFIG_HZ')!;
  assert.deepEqual([weak.bind, weak.shndx], [STB.WEAK, 0]);
  const rels = elf.relocationsFor('raw_tp/sys_enter');
  assert.ok(rels.some((r) => r.type === R_BPF.R_BPF_64_32 && elf.symbols[r.symbol]!.name === 'accumulate'));
  assert.ok(rels.some((r) => r.type === R_BPF.R_BPF_64_64 && elf.symbols[r.symbol]!.name === 'last_value'));
});

test('section list agrees with llvm-readelf', { skip: noExamples ?? (have('llvm-readelf') ? undefined : 'llvm-readelf not installed') }, () => {
  const r = spawnSync('llvm-readelf', ['-S', '-W', join(examplesDir, 'tc_filter.bpf.o')], { encoding: 'utf8' });
  const names = [...r.stdout.matchAll(/^\s+\[\s*(\d+)\]\s+(\S*)\s+(\S+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)/gm)].map((m) => [Number(m[1]), m[2], parseInt(m[4]!, 16), parseInt(m[5]!, 16)]);
  const elf = parseElf(readExample('tc_filter.bpf.o')!);
  const mine = elf.sections.filter((s) => s.index > 0).map((s) => [s.index, s.name, s.offset, s.size]);
  assert.deepEqual(mine, names.filter((n) => n[0] !== 0));
});

test('big-endian objects', { skip: noExamples }, (t) => {
  const be = readExample('bpfeb/xdp_proto.bpf.o');
  if (!be) return t.skip('bpfeb example not built');
  const elf = parseElf(be);
  assert.equal(elf.bigEndian, true);
  const le = parseElf(readExample('xdp_proto.bpf.o')!);
  assert.deepEqual(
    elf.symbols.map((s) => [s.name, s.value, s.size, s.type, s.bind]),
    le.symbols.map((s) => [s.name, s.value, s.size, s.type, s.bind]),
  );
});

test('truncated and corrupted files give located ElfErrors', { skip: noExamples }, () => {
  const good = readExample('globals.bpf.o')!;
  const check = (bytes: Uint8Array, re: RegExp) => {
    assert.throws(
      () => parseElf(bytes),
      (e: unknown) => e instanceof ElfError && (e.section !== undefined || e.offset !== undefined) && re.test(e.message),
    );
  };
  check(good.subarray(0, 20), /too short/);
  check(good.subarray(0, good.length - 100), /outside the file/);
  const badMagic = good.slice();
  badMagic[1] = 0;
  check(badMagic, /bad magic/);
  const elf32 = good.slice();
  elf32[4] = 1;
  check(elf32, /not ELF64/);
  // A section whose data runs past the end of the file names that section.
  const elf = parseElf(good);
  const sec = elf.section('license')!;
  const shoff = Number(new DataView(good.buffer, good.byteOffset).getBigUint64(40, true));
  const big = good.slice();
  new DataView(big.buffer).setBigUint64(shoff + sec.index * 64 + 32, 1n << 40n, true);
  assert.throws(() => parseElf(big), (e: unknown) => e instanceof ElfError && e.section === 'license');
  assert.throws(() => parseElf(good, { requireBpf: true }) && parseElf(withMachine(good, 62), { requireBpf: true }), /EM_BPF/);
});

function withMachine(b: Uint8Array, m: number): Uint8Array {
  const c = b.slice();
  new DataView(c.buffer).setUint16(18, m, true);
  return c;
}
