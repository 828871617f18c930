/** The `asm` and `disasm` commands, run through the built binary (node bin/bpfkit.js). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConformanceTest } from '../../src/conformance/parse.js';
import { AsmError } from '../../src/errors.js';

/** dist/test/asm/cli.test.js → bin/bpfkit.js */
const BIN = fileURLToPath(new URL('../../../bin/bpfkit.js', import.meta.url));
const CONF = '/work/shared/conformance/negative';

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function withDir(fn: (dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-asm-cli-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('asm prints hex per instruction, writes raw bytes with -o; disasm reads them back', () => {
  withDir((dir) => {
    const src = join(dir, 'p.s');
    writeFileSync(src, 'mov %r0, 1\nlddw %r1, 0x1122334455667788\njeq %r1, 5, +1\nexit\nexit\n');
    const hex = run(['asm', src]);
    assert.equal(hex.code, 0, hex.err);
    assert.equal(
      hex.out,
      ['b7 00 00 00 01 00 00 00', '18 01 00 00 88 77 66 55 00 00 00 00 44 33 22 11', '15 01 01 00 05 00 00 00', '95 00 00 00 00 00 00 00', '95 00 00 00 00 00 00 00', ''].join('\n'),
    );
    const bin = join(dir, 'p.bin');
    assert.equal(run(['asm', src, '-o', bin]).code, 0);
    assert.equal(readFileSync(bin).toString('hex'), hex.out.replace(/[\s]/g, ''));
    const ubpf = run(['disasm', bin]);
    assert.equal(ubpf.code, 0, ubpf.err);
    assert.equal(ubpf.out, 'mov %r0, 1\nlddw %r1, 0x1122334455667788\njeq %r1, 5, +1\nexit\nexit\n');
    const llvm = run(['disasm', bin, '--syntax', 'llvm']);
    assert.equal(llvm.out, 'r0 = 1\nr1 = 1234605616436508552 ll\nif r1 == 5 goto +1\nexit\nexit\n');
    // LLVM text assembles back to the same bytes (stdin input, explicit syntax).
    const back = run(['asm', '-', '--syntax', 'llvm'], llvm.out);
    assert.equal(back.out, hex.out);
    assert.equal(run(['disasm', bin, '--syntax', 'kernel']).out.split('\n')[1], '1: (18) r1 = 0x1122334455667788');
    assert.equal(run(['disasm', bin, '--syntax', 'objdump']).out.split('\n')[2], '       3:\tif r1 == 5 goto +1');
    assert.equal(run(['disasm', '--hex', 'b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00']).out, 'mov %r0, 42\nexit\n');
  });
});

test('asm errors are one line: error: file:line:col: reason, exit 1', () => {
  withDir((dir) => {
    const src = join(dir, 'bad.s');
    writeFileSync(src, 'mov %r0, 1\n  add %r1, %r11\n');
    const r = run(['asm', src]);
    assert.equal(r.code, 1);
    assert.equal(r.err, `error: ${src}:2:12: invalid register %r11\n`);
    assert.equal(r.out, '');
    const syn = run(['asm', src, '--syntax', 'nope']);
    assert.equal(syn.code, 1);
    assert.match(syn.err, /^error: --syntax: 'nope' is not one of ubpf, llvm, auto\n$/);
    const missing = run(['asm', join(dir, 'none.s')]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^error: ENOENT/);
  });
});

test('disasm rejects invalid instructions naming the pc, and bad hex', () => {
  const bad = run(['disasm', '--hex', 'b700000001000000ff00000000000000']);
  assert.equal(bad.code, 1);
  assert.equal(bad.err, 'error: insn 1: unknown opcode 0xff\n');
  const raw = run(['disasm', '--no-validate', '--hex', 'ff00000000000000']);
  assert.equal(raw.out, '.insn 0x00000000000000ff\n');
  assert.equal(run(['disasm', '--hex', 'b70000']).err, 'error: insn 0: program is 3 bytes, not a multiple of 8\n');
  assert.equal(run(['disasm', '--hex', 'zz']).err, "error: --hex: invalid hex character 'z'\n");
  assert.equal(run(['disasm']).code, 1);
});

test('malformed bpf_conformance negative files fail with file:line:col', { skip: existsSync(CONF) ? false : `${CONF} missing` }, () => {
  withDir((dir) => {
    const names = readdirSync(CONF).filter((f) => f.startsWith('invalid_') && f.endsWith('.data'));
    assert.ok(names.length >= 10);
    for (const name of names) {
      const text = readFileSync(join(CONF, name), 'utf8');
      let asm: string;
      let parserError: AsmError | undefined;
      try {
        asm = parseConformanceTest(text, name).asm ?? '';
      } catch (e) {
        // A `--` line the .data format does not know is refused by the parser itself: give that line alone, at
        // its own line number, to the assembler, which must refuse it with the same location and reason.
        assert.ok(e instanceof AsmError && e.line !== undefined && e.column !== undefined, `${name}: ${String(e)}`);
        parserError = e;
        asm = text.split('\n').map((l, i) => (i + 1 === e.line ? l : '')).join('\n');
      }
      const src = join(dir, name.replace(/\.data$/, '.s'));
      writeFileSync(src, asm);
      const r = run(['asm', src, '--syntax', 'ubpf']);
      assert.equal(r.code, 1, `${name}: ${r.out}`);
      assert.match(r.err, new RegExp(`^error: ${src.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: [^\\n]+\\n$`), name);
      if (parserError) assert.equal(r.err, `error: ${src}:${parserError.line}:${parserError.column}: ${parserError.reason}\n`, name);
    }
  });
});
