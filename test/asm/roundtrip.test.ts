/** Property test: random valid programs disassemble and re-assemble to the same bytes, in both syntaxes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble, disassemble } from '../../src/asm/index.js';
import { encodeProgram, type Insn } from '../../src/isa/index.js';
import { Gen, firstInvalid } from './gen.js';
import { mulberry32 } from '../fixtures/random.js';

const hex = (insns: readonly Insn[]) => Buffer.from(encodeProgram(insns)).toString('hex');

function roundTrip(seed: number, syntax: 'ubpf' | 'llvm', extra: { labels?: boolean; pcs?: boolean } = {}) {
  const gen = new Gen(mulberry32(seed));
  let slots = 0;
  for (let round = 0; round < 40; round++) {
    const prog = gen.program(100);
    assert.equal(firstInvalid(prog), undefined);
    const text = disassemble(prog, { syntax, ...extra });
    let back: Insn[];
    try {
      back = assemble(text, { syntax });
    } catch (e) {
      assert.fail(`re-assembling failed: ${(e as Error).message}\n${text}`);
    }
    if (hex(back) !== hex(prog)) {
      const a = text.split('\n');
      const b = disassemble(back, { syntax }).split('\n');
      const k = a.findIndex((l, i) => l !== b[i]);
      assert.fail(`mismatch at line ${k}: ${a[k]} vs ${b[k]}`);
    }
    // Auto-detection picks the right syntax for generated text.
    assert.equal(hex(assemble(text)), hex(prog));
    slots += prog.length;
  }
  return slots;
}

test('uBPF syntax: disassemble → assemble gives identical bytes (4000+ random instructions)', () => {
  assert.ok(roundTrip(1, 'ubpf') >= 4000);
});

test('uBPF syntax with labels: identical bytes', () => {
  roundTrip(2, 'ubpf', { labels: true });
});

test('LLVM syntax: disassemble → assemble gives identical bytes (4000+ random instructions)', () => {
  assert.ok(roundTrip(3, 'llvm') >= 4000);
});

test('LLVM syntax with labels and pc prefixes: identical bytes', () => {
  roundTrip(4, 'llvm', { labels: true, pcs: true });
});
