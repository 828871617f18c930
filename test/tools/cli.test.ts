/** `bpfkit tool ...` end to end, and the `ppid` builtin the tools added to the tracing language. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { features } from '../../src/kernel/features/index.js';
import { compileScript } from '../../src/trace/compile.js';
import { runScript } from '../../src/trace/runtime.js';
import { decodePprof } from '../../src/tools/export/pprof.js';
import { noKernel } from './fixtures.js';
import { checkHistograms, parsePrometheus } from './prom-parse.js';
import { parseXml } from './xml.js';

const BIN = new URL('../../../bin/bpfkit.js', import.meta.url).pathname;
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });

test('ppid builtin: current->real_parent->tgid', { skip: noKernel }, async () => {
  let out = '';
  await runScript(compileScript('BEGIN { printf("%d %d\\n", pid, ppid); exit(); }'), { write: (s) => (out += s) });
  assert.equal(out.split('\n')[1], `${process.pid} ${process.ppid}`);
});

test('bpfkit tool: unknown tool and misplaced options are usage errors', () => {
  const r = cli('tool', 'nosuchtool');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /error: tool: unknown tool "nosuchtool"/);
  assert.match(cli('tool', 'execsnoop', '--flamegraph', 'x.svg').stderr, /profile only/);
  assert.match(cli('tool', 'syscount', '--otlp-url', 'http://example.com/').stderr, /127\.0\.0\.1/);
  assert.match(cli('tool', 'runqlat', '--prometheus', '0.0.0.0:9').stderr, /127\.0\.0\.1 only/);
  assert.match(cli('tool', 'tcplife', '--interval', '1').stderr, /--interval is for syscount, biolatency, runqlat, pidpersec/);
});

test('bpfkit tool pidpersec --json --interval: one line per interval', { skip: noKernel }, () => {
  const r = cli('tool', 'pidpersec', '--duration', '0.7', '--interval', '0.2', '--json');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.length >= 2, r.stdout);
  for (const l of lines) assert.ok(Number.isInteger(l.forks) && l.forks >= 0 && typeof l.perSecond === 'number' && !Number.isNaN(Date.parse(l.time)));
});

test('bpfkit tool syscount --json --prometheus-file --otlp-file', { skip: noKernel }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-toolcli-'));
  try {
    const r = cli('tool', 'syscount', '--duration', '0.5', '--json', '--prometheus-file', join(dir, 'm.prom'), '--otlp-file', join(dir, 'm.json'));
    assert.equal(r.status, 0, r.stderr);
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.ok(Array.isArray(last.syscalls) && last.syscalls.length > 0);
    const doc = parsePrometheus(readFileSync(join(dir, 'm.prom'), 'utf8'));
    assert.equal(doc.types.get('bpfkit_syscalls_total'), 'counter');
    assert.ok(doc.samples.length > 0);
    const otlp = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8'));
    assert.equal(otlp.resourceMetrics[0].scopeMetrics[0].metrics[0].name, 'bpfkit_syscalls_total');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bpfkit tool runqlat --prometheus :0 serves /metrics while running', { skip: noKernel }, async () => {
  const child = spawn(process.execPath, [BIN, 'tool', 'runqlat', '--duration', '3', '--interval', '0.3', '--prometheus', ':0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let err = '';
      child.stderr.on('data', (d) => {
        err += d;
        const m = /http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(err);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', () => reject(new Error(`exited: ${err}`)));
    });
    let count = 0;
    for (let i = 0; i < 20 && !count; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      if (!text) continue;
      const doc = parsePrometheus(text);
      assert.equal(checkHistograms(doc), 1);
      count = doc.samples.find((s) => s.name === 'bpfkit_runqueue_latency_microseconds_count')!.value;
    }
    assert.ok(count > 0, 'the endpoint reports run-queue latencies');
  } finally {
    child.kill('SIGINT');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.on('exit', r)));
  }
});

test('bpfkit tool profile --flamegraph --pprof --folded', { skip: noKernel ?? (features.perfEvents().ok ? undefined : features.perfEvents().reason) }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-toolcli-'));
  try {
    const r = cli('tool', 'profile', '--duration', '0.5', '--hz', '199', '--flamegraph', join(dir, 'f.svg'), '--pprof', join(dir, 'p.pb.gz'), '--folded', join(dir, 'f.txt'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /\d+ samples, \d+ distinct stacks/);
    assert.equal(parseXml(readFileSync(join(dir, 'f.svg'), 'utf8')).name, 'svg');
    const p = decodePprof(readFileSync(join(dir, 'p.pb.gz'))) as { sample: unknown[] };
    assert.ok(p.sample.length > 0);
    assert.ok(existsSync(join(dir, 'f.txt')));
    assert.match(readFileSync(join(dir, 'f.txt'), 'utf8'), /^\S+ \d+$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bpfkit tool killsnoop --json: a kill made once the tool says it is tracing, then Ctrl-C', { skip: noKernel }, async () => {
  const child = spawn(process.execPath, [BIN, 'tool', 'killsnoop', '--json', '--duration', '10'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const sleeper = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
  try {
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr.on('data', (d) => {
        err += d;
        if (err.includes('Tracing killsnoop... Hit Ctrl-C to end.')) resolve();
      });
      child.on('exit', () => reject(new Error(`exited: ${err}`)));
    });
    process.kill(sleeper.pid!, 'SIGUSR2');
    const line = async () => {
      for (let i = 0; i < 100; i++) {
        const hit = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.targetPid === sleeper.pid);
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 20));
      }
      return undefined;
    };
    const e = await line();
    assert.ok(e, stdout);
    assert.deepEqual([e.pid, e.signal, e.signalName, e.result], [process.pid, 12, 'SIGUSR2', 0]);
    assert.ok(!Number.isNaN(Date.parse(e.time)));
    child.kill('SIGINT');
    const code = await new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('exit', r)));
    assert.equal(code, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    sleeper.kill('SIGKILL');
  }
});
