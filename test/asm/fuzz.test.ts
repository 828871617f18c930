/** Fuzz: random and mutated assembly lines make the assembler throw AsmError or succeed — never anything else. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble, disassemble, formatKernel } from '../../src/asm/index.js';
import { parseConformanceTest } from '../../src/conformance/parse.js';
import { AsmError } from '../../src/errors.js';
import { Gen } from './gen.js';
import { mulberry32 } from '../fixtures/random.js';

const ALPHABET = ' \t%rw0123456789x+-[](),:;#*=<>!&|^s/ullabcdefgimnopqtxyz_.${}\'"\\@~`?ffff0x8000000000000000';

function mutate(line: string, rnd: () => number): string {
  const int = (n: number) => Math.floor(rnd() * n);
  let s = line;
  const steps = 1 + int(4);
  for (let k = 0; k < steps; k++) {
    const at = int(s.length + 1);
    switch (int(6)) {
      case 0: // insert a character
        s = s.slice(0, at) + ALPHABET[int(ALPHABET.length)] + s.slice(at);
        break;
      case 1: // delete a span
        s = s.slice(0, at) + s.slice(at + 1 + int(3));
        break;
      case 2: // replace a character
        s = s.slice(0, at) + ALPHABET[int(ALPHABET.length)] + s.slice(at + 1);
        break;
      case 3: // duplicate a span
        s = s.slice(0, at) + s.slice(at, at + 1 + int(6)) + s.slice(at);
        break;
      case 4: // big numbers
        s = s.replace(/\d+/, ['99999999999999999999999', '-0x', '0x', '65536', '-32769', '4294967296'][int(6)]!);
        break;
      default: // swap halves
        s = s.slice(at) + ' ' + s.slice(0, at);
    }
  }
  return s;
}

test('fuzz: mutated and random lines only ever raise AsmError', () => {
  const rnd = mulberry32(99);
  const gen = new Gen(rnd);
  let errors = 0;
  let ok = 0;
  const lines: string[] = [];
  for (const syntax of ['ubpf', 'llvm'] as const) {
    const prog = gen.program(400);
    lines.push(...disassemble(prog, { syntax, labels: true }).split('\n').filter(Boolean));
  }
  const prog = gen.program(200);
  for (let pc = 0; pc < prog.length; pc += prog[pc]!.code === 0x18 ? 2 : 1) lines.push(`${pc}: ${formatKernel(prog, pc)}`);
  for (let n = 0; n < 6000; n++) {
    let text: string;
    if (n % 10 === 9) {
      text = Array.from({ length: 1 + Math.floor(rnd() * 30) }, () => ALPHABET[Math.floor(rnd() * ALPHABET.length)]).join('');
    } else {
      const base = lines[Math.floor(rnd() * lines.length)]!;
      text = mutate(base, rnd);
      if (n % 7 === 0) text += '\n' + mutate(lines[Math.floor(rnd() * lines.length)]!, rnd);
    }
    for (const syntax of ['ubpf', 'llvm', 'auto'] as const) {
      try {
        assemble(text, { syntax });
        ok++;
      } catch (e) {
        if (!(e instanceof AsmError)) assert.fail(`${syntax} ${JSON.stringify(text)} threw ${String((e as Error)?.stack ?? e)}`);
        assert.ok(e.line !== undefined && e.column !== undefined && e.column >= 1, JSON.stringify(text));
        assert.ok(!e.message.includes('\n'));
        errors++;
      }
    }
  }
  assert.ok(errors > 1000 && ok > 100, `errors=${errors} ok=${ok}`);
});

test('fuzz: mutated .data files only ever raise AsmError', () => {
  const rnd = mulberry32(5);
  const base = '-- asm\nmov %r0, 1\nexit\n-- raw\n0x00000001000000b7\n95 00 00 00 00 00 00 00\n-- mem\n11 22\n-- result\n0x1\n';
  for (let n = 0; n < 2000; n++) {
    const text = mutate(base, rnd);
    try {
      const d = parseConformanceTest(text, 'fuzz.data');
      if (d.asm !== undefined) assemble(d.asm);
    } catch (e) {
      if (!(e instanceof AsmError)) assert.fail(`${JSON.stringify(text)} threw ${String(e)}`);
    }
  }
});
