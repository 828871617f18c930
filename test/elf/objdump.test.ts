// The disassembly of every example program equals `llvm-objdump -d` instruction for instruction, and the
// `bpfkit objdump --json` CLI output has the documented shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadObject } from '../../src/elf/object.js';
import { disassembleObject } from '../../src/elf/disasm.js';
import { main } from '../../src/cli/main.js';
import { examplesDir, exampleObjects, have, noExamples, readExample } from './examples.js';

/** llvm-objdump's instructions per section: [slot, text][]. */
function llvmObjdump(path: string): Map<string, [number, string][]> {
  const r = spawnSync('llvm-objdump', ['-d', '--no-show-raw-insn', path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = new Map<string, [number, string][]>();
  let cur: [number, string][] | undefined;
  for (const line of r.stdout.split('\n')) {
    const sec = /^Disassembly of section (.*):$/.exec(line);
    if (sec) {
      cur = [];
      out.set(sec[1]!, cur);
      continue;
    }
    const ins = /^\s+(\d+):\t(.*)$/.exec(line);
    if (ins && cur) cur.push([Number(ins[1]), ins[2]!.trimEnd()]);
  }
  return out;
}

const skipTool = noExamples ?? (have('llvm-objdump') ? undefined : 'llvm-objdump not installed');

test('disassembly matches llvm-objdump -d for every example object', { skip: skipTool }, () => {
  let compared = 0;
  for (const name of exampleObjects()) {
    const obj = loadObject(readExample(name)!);
    const funcs = disassembleObject(obj);
    const want = llvmObjdump(join(examplesDir, name));
    for (const [section, insns] of want) {
      const mine: [number, string][] = funcs
        .filter((f) => f.section === section)
        .flatMap((f) => f.insns.map((i): [number, string] => [i.offset / 8, i.text]));
      assert.deepEqual(mine, insns, `${name} section ${section}`);
      compared += insns.length;
    }
    // Every program has its instructions in the listing.
    for (const p of obj.spec.programs) assert.ok(funcs.some((f) => f.program && f.name === p.name), `${name}: ${p.name} disassembled`);
  }
  assert.ok(compared > 200, `compared ${compared} instructions`);
});

test('objdump --json lists programs with pc, hex and llvm text, and maps', { skip: noExamples }, async () => {
  const file = join(examplesDir, 'globals.bpf.o');
  const chunks: string[] = [];
  const orig = process.stdout.write.bind(process.stdout);
  // The CLI writes text; node's test runner also writes its own (binary) reports to this process's stdout while
  // the command runs: pass those through.
  (process.stdout as { write: unknown }).write = (s: string | Uint8Array, ...rest: never[]) =>
    typeof s === 'string' ? (chunks.push(s), true) : orig(s, ...rest);
  let code: number;
  try {
    code = await main(['objdump', '--json', file]);
  } finally {
    (process.stdout as { write: unknown }).write = orig;
  }
  assert.equal(code, 0);
  const j = JSON.parse(chunks.join(''));
  const prog = j.programs.find((p: { name: string }) => p.name === 'use_globals');
  assert.equal(prog.section, 'raw_tp/sys_enter');
  assert.equal(prog.type, 'raw_tracepoint');
  const bytes = readExample('globals.bpf.o')!;
  const obj = loadObject(bytes);
  const sec = obj.elf.section('raw_tp/sys_enter')!;
  // hex is the file's bytes: 16 digits, 32 for lddw.
  let off = 0;
  for (const i of prog.insns as { pc: number; hex: string; text: string }[]) {
    assert.equal(i.pc * 8, off);
    const expect = Buffer.from(sec.data.subarray(off, off + i.hex.length / 2)).toString('hex');
    assert.equal(i.hex, expect);
    assert.ok(i.hex.length === 16 || (i.hex.length === 32 && i.text.endsWith(' ll')), `${i.hex} ${i.text}`);
    off += i.hex.length / 2;
  }
  assert.equal(off, sec.size);
  const results = j.maps.find((m: { name: string }) => m.name === 'results');
  assert.deepEqual(results, { name: 'results', type: 'array', keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 });
});

test('objdump text output interleaves source lines', { skip: noExamples }, async () => {
  const chunks: string[] = [];
  const orig = process.stdout.write.bind(process.stdout);
  // The CLI writes text; node's test runner also writes its own (binary) reports to this process's stdout while
  // the command runs: pass those through.
  (process.stdout as { write: unknown }).write = (s: string | Uint8Array, ...rest: never[]) =>
    typeof s === 'string' ? (chunks.push(s), true) : orig(s, ...rest);
  try {
    assert.equal(await main(['objdump', join(examplesDir, 'xdp_proto.bpf.o')]), 0);
  } finally {
    (process.stdout as { write: unknown }).write = orig;
  }
  const text = chunks.join('');
  assert.match(text, /xdp_count_proto {2}section=xdp {2}type=xdp {2}attach=xdp {2}insns=\d+/);
  assert.match(text, /proto_count {2}type=percpu_array {2}key=4 {2}value=8 {2}max_entries=256/);
  assert.match(text, /; \s*if \(\(void \*\)\(eth \+ 1\) > data_end\)/);
});
