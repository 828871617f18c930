// The bpf_conformance suite (../shared/conformance) as tests: every file is one test case on the interpreter;
// the negative files check that malformed tests and wrong expectations fail with a one-line reason; the CLI and
// the plugin protocol are exercised as a user and as the bpf_conformance runner would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AsmError } from '../../src/errors.js';
import { parseConformanceTest } from '../../src/conformance/parse.js';
import { formatConformanceResult, listConformanceFiles, runConformanceFile, runConformanceSource } from '../../src/conformance/run.js';
import { base16Decode, runPluginProgram } from '../../src/conformance/plugin.js';

const root = resolve(import.meta.dirname, '..', '..', '..');
const shared = process.env.BPFKIT_SHARED ? resolve(process.env.BPFKIT_SHARED) : resolve(root, '..', 'shared');
const suite = join(shared, 'conformance');
const negative = join(suite, 'negative');
const haveSuite = existsSync(suite);
const skip = haveSuite ? false : `conformance suite not found at ${suite} (set BPFKIT_SHARED)`;
const bin = join(root, 'bin', 'bpfkit.js');

const files = haveSuite ? listConformanceFiles([suite]) : [];

test('the suite directory holds 313 tests', { skip }, () => {
  assert.equal(files.length, 313);
});

for (const file of files) {
  test(`conformance: ${file.slice(suite.length + 1)}`, () => {
    const r = runConformanceFile(file);
    assert.ok(r.pass, formatConformanceResult(r));
  });
}

test('negative: every unused-* file (reserved fields set) is rejected, so its -- error expectation passes', { skip }, () => {
  const unused = readdirSync(negative).filter((f) => f.startsWith('unused-') && f.endsWith('.data'));
  assert.equal(unused.length, 45);
  for (const f of unused) {
    const r = runConformanceFile(join(negative, f));
    assert.ok(r.pass, formatConformanceResult(r));
    assert.match(r.reason ?? '', /program rejected/);
  }
});

test('negative: the other 15 files fail, each with a one-line reason naming a line', { skip }, () => {
  const others = readdirSync(negative).filter((f) => !f.startsWith('unused-') && f.endsWith('.data'));
  assert.equal(others.length, 15);
  const reasons: Record<string, RegExp> = {
    'empty.data': /no -- result or -- error/,
    'empty_instructions.data': /no program/,
    'error.data': /expected an error \('Invalid'\) but the program returned/,
    'incorrect_return_value_high_bits.data': /r0 is 0x8877665544332211, expected 0x8977665544332211/,
    'invalid_unknown_directive.data': /unknown directive/,
  };
  for (const f of others) {
    const r = runConformanceFile(join(negative, f));
    assert.equal(r.pass, false, f);
    const line = formatConformanceResult(r);
    assert.match(line, /^FAIL .*\.data:\d+: \S/, line);
    assert.ok(!line.includes('\n'), line);
    if (reasons[f]) assert.match(line, reasons[f]!, line);
  }
});

test('parser: raw sections as 64-bit words or bytes, mem, result, error text, comments, ignored sections', () => {
  const words = parseConformanceTest('-- raw\n0x00000000000000b7 # mov r0, 0\n0x0000000000000095\n-- result\n0', 'w.data');
  assert.deepEqual([...words.raw!.subarray(0, 8)], [0xb7, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(words.rawLines, [2, 3]);
  assert.equal(words.result, 0n);
  const bytes = parseConformanceTest('# c\n-- raw\nb7 00 00 00 05 00 00 00\n95 00 00 00 00 00 00 00\n-- c\nint x;\n-- no register offset\nwhatever\n-- error\nsome text', 'b.data');
  assert.equal(bytes.raw!.length, 16);
  assert.equal(bytes.raw![4], 5);
  assert.equal(bytes.error, 'some text');
  const mem = parseConformanceTest('-- asm\nexit\n-- mem\n01 02\nff\n-- result\n-1', 'm.data');
  assert.deepEqual([...mem.mem!], [1, 2, 255]);
  assert.equal(mem.result, 0xffffffffffffffffn);
  assert.equal(mem.asm!.split('\n')[1], 'exit');
  assert.equal(mem.asm!.split('\n')[3], '', 'non-asm lines are blanked so line numbers match');
  assert.throws(() => parseConformanceTest('-- asm\nexit\n-- bogus\n', 'x.data'), (e: unknown) => e instanceof AsmError && e.line === 3);
  assert.throws(() => parseConformanceTest('-- mem\nzz\n', 'x.data'), (e: unknown) => e instanceof AsmError && e.line === 2);
  assert.throws(() => parseConformanceTest('  \n', 'x.data'), AsmError);
});

test('runner: r1 = memory, r2 = its length; mismatches and run-time faults fail with the right line', () => {
  const ok = runConformanceSource('-- asm\nldxb %r0, [%r1+2]\nadd %r0, %r2\nexit\n-- mem\n00 00 05\n-- result\n0x8', 'ok.data');
  assert.ok(ok.pass, formatConformanceResult(ok));
  const bad = runConformanceSource('-- asm\nmov %r0, 1\nexit\n-- result\n0x2', 'bad.data');
  assert.equal(formatConformanceResult(bad), 'FAIL bad.data:5: r0 is 0x1, expected 0x2');
  const oob = runConformanceSource('-- asm\nmov %r0, 1\nldxb %r0, [%r1+9]\nexit\n-- mem\n00\n-- result\n0x2', 'oob.data');
  assert.match(formatConformanceResult(oob), /^FAIL oob\.data:3: fault at run time: pc 1: read of 1 byte/);
  const fault = runConformanceSource('-- asm\nldxb %r0, [%r1+9]\nexit\n-- error\nout of bounds', 'f.data');
  assert.ok(fault.pass);
  const asmErr = runConformanceSource('-- asm\nmov %r0, 1\nfrob %r0\nexit\n-- result\n0x1', 'a.data');
  assert.match(formatConformanceResult(asmErr), /^FAIL a\.data:3: /);
});

test('plugin: base16 decoding and running like the bpf_conformance runner', () => {
  assert.deepEqual([...base16Decode('01  ff  0a  ', 'm')], [1, 255, 10]);
  assert.throws(() => base16Decode('0', 'm'));
  const prog = base16Decode('61100100000000009500000000000000', 'p'); // ldxw r0, [r1+1]; exit
  assert.equal(runPluginProgram(prog, Uint8Array.of(0, 1, 2, 3, 4)), 0x04030201n);
});

const cliSkip = !existsSync(join(root, 'dist', 'src', 'cli', 'main.js')) ? 'CLI not built' : skip;

test('CLI: bpfkit conformance over the suite ends with "313 passed, 0 failed"', { skip: cliSkip }, () => {
  const r = spawnSync(process.execPath, [bin, 'conformance', suite], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.equal(r.stdout.trim().split('\n').pop(), '313 passed, 0 failed');
});

test('CLI: a failing file prints one FAIL line, the tally, exits non-zero, no stack trace', { skip: cliSkip }, () => {
  const r = spawnSync(process.execPath, [bin, 'conformance', join(negative, 'invalid_mnemonic.data')], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 2, r.stdout);
  assert.match(lines[0]!, /^FAIL .*invalid_mnemonic\.data:\d+: /);
  assert.equal(lines[1], '0 passed, 1 failed');
  assert.equal(r.stderr, '');
});

test('CLI: conformance-plugin speaks the runner protocol (stdin program, memory argument, hex r0)', { skip: cliSkip }, () => {
  // The runner writes bytes as "xx  " groups.
  const spaced = (hex: string) => hex.match(/../g)!.join('  ') + '  ';
  const ok = spawnSync(process.execPath, [bin, 'conformance-plugin', spaced('0a0b0c0d')], {
    input: spaced('61100000000000009500000000000000') + '\n',
    encoding: 'utf8',
  });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, 'd0c0b0a\n');
  const viaOpt = spawnSync(process.execPath, [bin, 'conformance-plugin', '--program', 'b7000000ffffffff9500000000000000'], { encoding: 'utf8', input: '' });
  assert.equal(viaOpt.stdout, 'ffffffffffffffff\n');
  const rejected = spawnSync(process.execPath, [bin, 'conformance-plugin', '--program', '0700010001000000950000000000000000'.slice(0, 32)], { encoding: 'utf8', input: '' });
  assert.notEqual(rejected.status, 0);
  assert.equal(rejected.stdout, '');
  assert.match(rejected.stderr, /^error: insn 0: /);
  const faulted = spawnSync(process.execPath, [bin, 'conformance-plugin', '--program', '61100400000000009500000000000000', '01'], { encoding: 'utf8', input: '' });
  assert.notEqual(faulted.status, 0);
  assert.match(faulted.stderr, /^error: pc 0: read of 4 bytes/);
  assert.equal(faulted.stderr.trim().split('\n').length, 1);
});
