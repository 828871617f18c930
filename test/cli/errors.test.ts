// Bad input on the command line: every command that parses a file answers with ONE line, `error: <file>: <where and
// why>`, a non-zero exit and no stack trace; usage mistakes (unknown option, missing argument) are one line too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = new URL('../../../bin/bpfkit.js', import.meta.url).pathname;
const EXAMPLE = new URL('../../../examples/build/xdp_proto.bpf.o', import.meta.url).pathname;

function bpfkit(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
}

function assertOneLineError(r: ReturnType<typeof bpfkit>, pattern: RegExp, what: string): void {
  assert.notEqual(r.status, 0, `${what}: exit code`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${what}: one line, got ${JSON.stringify(r.stderr)}`);
  assert.match(lines[0]!, /^error: /, what);
  assert.match(lines[0]!, pattern, what);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
}

test('malformed input files: one line naming the file, the place and the reason', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-cli-errors-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const garbage = join(dir, 'garbage.o');
  writeFileSync(garbage, 'not an object\n');
  const cases: [string[], RegExp][] = [
    [['objdump', garbage], /garbage\.o: offset 0x0: .*ELF/],
    [['gen', 'types', garbage], /garbage\.o: offset 0x0: /],
    [['run', garbage, '--program', 'x'], /garbage\.o: offset 0x0: /],
    [['disasm', garbage], /garbage\.o: (insn \d+|.*multiple of 8)/],
    [['filter', 'run', 'tcp', garbage], /garbage\.o: .*pcap/],
    [['seccomp', 'compile', garbage], /garbage\.o: invalid JSON/],
  ];
  const v6rules = join(dir, 'v6.json');
  writeFileSync(v6rules, JSON.stringify([{ action: 'drop', src: '2001:db8::/129' }]));
  cases.push([['xdp-firewall', '--iface', 'lo', '--rules', v6rules], /rule #0\.src: prefix length 129 > 128 in 2001:db8::\/129/]);
  if (existsSync(EXAMPLE)) {
    const truncated = join(dir, 'truncated.o');
    writeFileSync(truncated, readFileSync(EXAMPLE).subarray(0, 200));
    cases.push([['objdump', truncated], /truncated\.o: offset 0x[0-9a-f]+: .*outside the file/]);
    cases.push([['run', EXAMPLE, '--program', 'nope'], /has no program nope \(programs: xdp_count_proto\)/]);
  } else t.diagnostic('examples not built: truncated-object cases not run');
  for (const [args, pattern] of cases) assertOneLineError(bpfkit(...args), pattern, args.join(' '));
});

test('usage mistakes and missing files are one line too', () => {
  assertOneLineError(bpfkit('objdump', '/nonexistent/x.o'), /ENOENT.*\/nonexistent\/x\.o/, 'missing file');
  assertOneLineError(bpfkit('objdump', '--frobnicate', 'x'), /unknown option '--frobnicate'/, 'unknown option');
  assertOneLineError(bpfkit('nosuchcommand'), /unknown command 'nosuchcommand'/, 'unknown command');
  assertOneLineError(bpfkit('disasm', '--hex', 'zz'), /hex/i, 'bad hex');
  assertOneLineError(bpfkit('filter', 'compile', 'tcp port'), /position \d+/, 'bad filter expression');
});
