/**
 * `formatLlvm` against the real `llvm-objdump -d`: random slots (valid and invalid, every opcode byte) are
 * written as `.quad`s, assembled by llvm-mc into an object, disassembled by llvm-objdump and compared line by
 * line. Also: the LLVM-syntax assembler reads llvm-objdump's full listing back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemble, formatLlvm, llvmObjdumpSlots, objdumpSymbolizer, rawSlot } from '../../src/asm/index.js';
import { LDDW, type Insn } from '../../src/isa/index.js';
import { Gen } from './gen.js';
import { mulberry32 } from '../fixtures/random.js';

const have = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
const skip = have('llvm-objdump') && have('llvm-mc') ? false : 'llvm-objdump or llvm-mc is not installed';

/** Assemble slots with llvm-mc and return llvm-objdump's instruction lines as [pc, text, raw line]. */
function objdump(insns: readonly Insn[], extra: string[] = []): [number, string, string][] {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-asm-'));
  try {
    const src = join(dir, 'p.s');
    const obj = join(dir, 'p.o');
    writeFileSync(src, '.text\n' + insns.map((i) => `.quad ${rawSlot(i)}`).join('\n') + '\n');
    const mc = spawnSync('llvm-mc', ['-triple', 'bpfel', '-filetype=obj', '-o', obj, src], { encoding: 'utf8' });
    assert.equal(mc.status, 0, mc.stderr);
    const od = spawnSync('llvm-objdump', ['-d', '-z', ...extra, obj], { encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(od.status, 0, od.stderr);
    return od.stdout
      .split('\n')
      .map((l) => [l, /^\s+(\d+):\t(?:(?:[0-9a-f]{2} )+\t)?(.*)$/.exec(l)] as const)
      .filter(([, m]) => m)
      .map(([l, m]) => [Number(m![1]), m![2]!, l] as [number, string, string]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** LLVM 14 misdecodes `18 20 00 00 00 00 00 00` (see isFiRi in llvm-objdump.ts): keep it out of comparisons. */
const fiRi = (i: Insn) => i.code === LDDW && i.dst === 0 && i.src === 2 && i.off === 0 && i.imm === 0;

function randomSlots(seed: number, n: number): Insn[] {
  const rnd = mulberry32(seed);
  const int = (k: number) => Math.floor(rnd() * k);
  const pick = <T>(a: T[]) => a[int(a.length)]!;
  const out: Insn[] = [];
  while (out.length < n) {
    out.push({
      code: int(256),
      dst: rnd() < 0.85 ? int(11) : int(16),
      src: rnd() < 0.4 ? 0 : rnd() < 0.85 ? int(11) : int(16),
      off: rnd() < 0.5 ? 0 : pick([1, -1, 8, 16, 32, -8, 32767, -32768, int(65536) - 32768]),
      imm:
        rnd() < 0.3
          ? 0
          : pick([1, -1, 16, 32, 64, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1, 0x0b, 11, 12, 0x7fffffff, -0x80000000, int(2 ** 32) | 0]),
    });
    if (fiRi(out[out.length - 1]!)) out.pop();
  }
  return out;
}

test('formatLlvm equals llvm-objdump -d --no-show-raw-insn on 24000 random slots', { skip }, () => {
  const insns = randomSlots(11, 24000);
  const lines = objdump(insns, ['--no-show-raw-insn']);
  const sym = objdumpSymbolizer('.text');
  let pc = 0;
  let compared = 0;
  for (const [at, want] of lines) {
    assert.equal(at, pc, `objdump walked to ${at}, expected ${pc}`);
    assert.equal(formatLlvm(insns, pc, { symbolize: sym }), want, `slot ${pc} ${rawSlot(insns[pc]!)}`);
    pc += want === '<unknown>' ? 1 : llvmObjdumpSlots(insns, pc);
    compared++;
  }
  assert.equal(pc, insns.length);
  assert.ok(compared > 20000);
});

test('formatLlvm equals llvm-objdump on random valid programs (with symbol annotations)', { skip }, () => {
  const gen = new Gen(mulberry32(12));
  const insns: Insn[] = [];
  while (insns.length < 6000) {
    const one = gen.insn();
    if (!fiRi(one[0]!)) insns.push(...one);
  }
  const lines = objdump(insns, ['--no-show-raw-insn']);
  const sym = objdumpSymbolizer('.text');
  let pc = 0;
  for (const [at, want] of lines) {
    assert.equal(at, pc);
    assert.equal(formatLlvm(insns, pc, { symbolize: sym }), want, `slot ${pc} ${rawSlot(insns[pc]!)}`);
    pc += want === '<unknown>' ? 1 : llvmObjdumpSlots(insns, pc);
  }
  assert.equal(pc, insns.length);
});

test('objdumpSymbolizer picks the closest symbol at or before the target', () => {
  const s = objdumpSymbolizer('xdp', [
    { name: 'f', offset: 0 },
    { name: 'LBB0_2', offset: 0x38 },
  ]);
  assert.equal(s(7), '<LBB0_2>');
  assert.equal(s(9), '<LBB0_2+0x10>');
  assert.equal(s(3), '<f+0x18>');
  assert.equal(objdumpSymbolizer('.text')(0), '<.text>');
  assert.equal(objdumpSymbolizer('.text')(-1), '<.text+0xfffffffffffffff8>');
});

test('the LLVM assembler reads full llvm-objdump listings (raw bytes, annotations) back', { skip }, () => {
  // Only instructions LLVM 14 prints without loss (it drops sdiv/smod/movsx fields and knows no v4 insns).
  const gen = new Gen(mulberry32(13));
  const insns: Insn[] = [];
  while (insns.length < 3000) {
    const one = gen.insn();
    const text = formatLlvm(one, 0);
    if (fiRi(one[0]!) || text === '<unknown>' || text.startsWith('ld_pseudo') || text.startsWith('callx')) continue;
    const i = one[0]!;
    if ((i.code & 0x07) >= 4 && (i.code & 0x07) !== 5 && (i.code & 0x07) !== 6 && i.off !== 0) continue; // sdiv, movsx
    if (i.code === 0xc3) continue; // LLVM 14 prints all 32-bit atomics as add
    if ((i.code & 0x07) === 0x00 && i.code !== LDDW && i.imm !== 0 && (i.code & 0xe0) === 0x40) continue; // ld_ind imm dropped
    if (i.code === 0x85 && i.src !== 0) continue; // local/kfunc calls print as "call N"
    insns.push(...one);
  }
  const listing = objdump(insns).map(([, , raw]) => raw);
  const back = assemble(listing.join('\n'), { syntax: 'llvm' });
  assert.equal(Buffer.from(back.map((i) => rawSlot(i)).join()).toString(), Buffer.from(insns.map((i) => rawSlot(i)).join()).toString());
});
