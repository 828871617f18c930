/** `bpfkit tool offcputime|cpudist|runqlen|bitesize|statsnoop|syncsnoop|oomkill` end to end. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { noKernel } from './fixtures.js';
import { parseXml } from './xml.js';

const BIN = new URL('../../../bin/bpfkit.js', import.meta.url).pathname;
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });

test('bpfkit tool: options of the scheduler/I/O tools are checked', () => {
  assert.match(cli('tool', 'cpudist', '--hz', '5').stderr, /error: tool: --hz is for profile and runqlen only/);
  assert.match(cli('tool', 'bitesize', '--flamegraph', 'x.svg').stderr, /--flamegraph and --folded are for offcputime and profile only/);
  assert.match(cli('tool', 'offcputime', '--pprof', 'x.pb.gz').stderr, /--pprof is for profile only/);
  assert.match(cli('tool', 'offcputime', '--prometheus-file', 'x.prom').stderr, /offcputime exports with --folded or --flamegraph, not metrics/);
  assert.match(cli('tool', 'runqlat', '--offcpu').stderr, /--offcpu is for cpudist only/);
  assert.match(cli('tool', 'runqlen', '--pid', '1', '--duration', '1').stderr, /runqlen: --pid is not supported/);
  assert.match(cli('tool', 'statsnoop', '--interval', '1').stderr, /--interval is for syscount, biolatency, runqlat, pidpersec, cpudist/);
});

test('bpfkit tool offcputime --folded F --flamegraph G: folded lines and a well-formed SVG', { skip: noKernel }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-offcli-'));
  try {
    const r = cli('tool', 'offcputime', '--duration', '0.5', '--folded', join(dir, 'f.txt'), '--flamegraph', join(dir, 'g.svg'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /Tracing off-CPU time \(us\)\.\.\./);
    const lines = readFileSync(join(dir, 'f.txt'), 'utf8').trimEnd().split('\n');
    // Something on a 2-CPU machine always sleeps within half a second (this CLI's own threads, for one).
    assert.ok(lines.length > 0 && lines.every((l) => /^[^;\s]+(;[^;\s]+)* [0-9]+$/.test(l)), lines.slice(0, 5).join('\n'));
    assert.ok(lines.some((l) => /schedule_\[k\]/.test(l)), 'kernel scheduler frames');
    assert.equal(parseXml(readFileSync(join(dir, 'g.svg'), 'utf8')).name, 'svg');
    const total = lines.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    assert.match(r.stderr, new RegExp(`${total} us off-CPU, \\d+ distinct stacks`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bpfkit tool cpudist --json --interval and runqlen --json', { skip: noKernel }, () => {
  const c = cli('tool', 'cpudist', '--duration', '0.7', '--interval', '0.3', '--json');
  assert.equal(c.status, 0, c.stderr);
  const lines = c.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.length >= 2, c.stdout);
  for (const l of lines) {
    assert.equal(l.unit, 'us');
    assert.equal(l.offcpu, false);
    assert.equal(l.counts.length, l.bounds.length + 1);
    assert.equal(l.counts.reduce((a: number, b: number) => a + b, 0), l.count);
  }
  assert.ok(lines.some((l) => l.count > 0), 'some on-CPU runs');
  const q = cli('tool', 'runqlen', '--duration', '0.5', '--hz', '49', '--json');
  assert.equal(q.status, 0, q.stderr);
  const r = JSON.parse(q.stdout);
  assert.equal(r.hz, 49);
  assert.ok(r.count > 0 && r.occupancy >= 0 && r.occupancy <= 1);
  assert.equal(Object.values(r.perCpu as Record<string, { count: number }>).reduce((n, x) => n + x.count, 0), r.count);
});
