/** The scheduler tools (offcputime, cpudist, runqlen) against the real kernel, with children of known behaviour. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { runqlen, runqlenScript, runqueueExpr } from '../../src/tools/runqlen.js';
import { cpudistScript } from '../../src/tools/cpudist.js';
import { offcputimeScript } from '../../src/tools/offcputime.js';
import { compileScript } from '../../src/trace/compile.js';
import { loadKernelBtf } from '../../src/btf/kernel.js';
import { cpudist } from '../../src/tools/cpudist.js';
import { flameGraphSvg, foldedStacks } from '../../src/tools/flamegraph.js';
import { offcputime, offcputimeText } from '../../src/tools/offcputime.js';
import { noKernel } from './fixtures.js';
import { reapChild, schedChild, tsched, withSchedChild } from './sched-fixtures.js';
import { parseXml } from './xml.js';

const skip = noKernel ?? (tsched() ? undefined : 'gcc cannot build the test program');

const fifoRefused = 'sched_setscheduler(SCHED_FIFO) refused (RT group scheduling without RT runtime?)';

test('offcputime: 3 × 100 ms nanosleep in napper() → ≈300 ms off-CPU on a stack with napper and main', { skip }, async (t) => {
  const h = schedChild(['nap', '3', '100', 'fifo']);
  const r = await withSchedChild(h, (o) => offcputime({ ...o, pid: h.pid }));
  if (h.child.exitCode === 3) return t.skip(fifoRefused);
  assert.ok(r.stacks.length > 0, 'some stacks');
  assert.ok(r.stacks.every((s) => s.pid === h.pid && s.comm === 'tsched'), JSON.stringify(r.stacks.map((s) => [s.pid, s.comm])));
  const nap = r.stacks.filter((s) => s.frames.some((f) => !f.kernel && f.name === 'napper'));
  const napNs = nap.reduce((n, s) => n + s.ns, 0);
  assert.ok(napNs >= 299e6 && napNs < 360e6, `napper off-CPU ${napNs / 1e6} ms`);
  for (const s of nap) {
    const names = s.frames.map((f) => f.name);
    // Innermost first: the kernel's scheduler path, then napper() called from main().
    assert.ok(s.frames[0]!.kernel, names.join(' '));
    assert.ok(names.some((n) => /nanosleep/.test(n)), names.join(' '));
    assert.ok(names.indexOf('main') > names.indexOf('napper'), names.join(' '));
    assert.equal(s.count, Math.round(s.ns / 1000));
  }
  assert.equal(r.totalUs, r.stacks.reduce((n, s) => n + s.count, 0));
  const folded = foldedStacks(r.stacks);
  assert.ok(folded.split('\n').some((l) => /^tsched;(.*;)?main;napper;.*nanosleep.*_\[k\] \d+$/.test(l)), folded);
  const svg = parseXml(flameGraphSvg(folded, { title: 'off-CPU' }));
  assert.equal(svg.name, 'svg');
  assert.match(offcputimeText(r), /\n\s+--\n\s+napper\n\s+main\n(.*\n)*?\s+-\s+tsched \(\d+\)\n\s+\d+\n/);
});

/** Index of the log2 bucket holding `v` µs in a Histogram from fromLog2 ([2^k, 2^(k+1)) is index k + 2). */
const log2Index = (v: number) => Math.floor(Math.log2(v)) + 2;

test('cpudist: 5 runs of 50 ms (SCHED_FIFO, so never preempted) land in the [32768, 65536) µs bucket', { skip }, async (t) => {
  const h = schedChild(['spin', '5', '50', 'fifo']);
  const hist = await withSchedChild(h, (o) => cpudist({ ...o, pid: h.pid }));
  if (h.child.exitCode === 3) return t.skip(fifoRefused);
  const i = log2Index(50_000);
  assert.equal(hist.bounds[i], 65535);
  assert.equal(hist.bounds[i - 1], 32767);
  // SCHED_FIFO keeps normal tasks off the CPU, but higher-priority kernel threads (migration/N, irq threads) may
  // still cut a 50 ms run in two; the exact sum below still holds then. So: at least 3 whole runs in the bucket,
  // every other long piece in the buckets below, none above.
  const whole = hist.counts[i]!;
  assert.ok(whole >= 3 && whole <= 5, JSON.stringify(hist));
  const pieces = hist.counts[i - 1]! + hist.counts[i - 2]!;
  assert.ok(pieces >= 5 - whole, `the ${5 - whole} run(s) cut in two show up below: ${JSON.stringify(hist)}`);
  assert.equal(hist.counts.slice(i + 1).reduce((a, b) => a + b, 0), 0, 'no longer runs');
  // Everything else is the short runs around the sleeps; the exact sum covers the 5 × 50 ms.
  assert.ok(hist.sumExact && hist.sum >= 250_000 && hist.sum < 275_000, `sum ${hist.sum} µs`);
  assert.equal(hist.unit, 'us');
});

test('cpudist --offcpu: 3 × 100 ms sleeps (SCHED_FIFO: woken without delay) land in the [65536, 131072) µs bucket', { skip }, async (t) => {
  const h = schedChild(['nap', '3', '100', 'fifo']);
  const hist = await withSchedChild(h, (o) => cpudist({ ...o, pid: h.pid, offcpu: true }));
  if (h.child.exitCode === 3) return t.skip(fifoRefused);
  const i = log2Index(100_000);
  assert.equal(hist.counts[i], 3, JSON.stringify(hist));
  assert.equal(hist.counts.slice(i + 1).reduce((a, b) => a + b, 0), 0);
  assert.ok(hist.sum >= 299_000 && hist.sum < 340_000, `sum ${hist.sum} µs`);
});

test('runqlen: 4 busy children pinned to CPU 0 keep its run queue at ≥ 3 waiting tasks', { skip }, async () => {
  const kids: ChildProcess[] = [];
  const started: Promise<void>[] = [];
  try {
    const r = await runqlen({
      duration: 1,
      onReady: () => {
        for (let i = 0; i < 4; i++) {
          const c = spawn(tsched()!, ['busy', '1400', '0'], { stdio: 'ignore' });
          kids.push(c);
          started.push(new Promise((res) => c.on('spawn', () => res())));
        }
      },
    });
    await Promise.all(started);
    assert.equal(r.hz, 99);
    const cpu0 = r.perCpu.get(0);
    assert.ok(cpu0 && cpu0.count >= 60, `CPU 0 samples: ${cpu0?.count}`);
    // counts[k + 1] holds length k (linear buckets from 0, bucket 0 is "below 0").
    const atLeast3 = cpu0.counts.slice(4).reduce((a, b) => a + b, 0);
    assert.ok(atLeast3 >= 0.85 * cpu0.count, `CPU 0: ${atLeast3} of ${cpu0.count} samples with ≥ 3 waiting: ${JSON.stringify(cpu0.counts)}`);
    assert.equal(cpu0.counts[0], 0);
    assert.equal(r.all.count, [...r.perCpu.values()].reduce((n, h) => n + h.count, 0));
    assert.ok(r.occupancy > 0 && r.occupancy <= 1);
  } finally {
    kids.forEach(reapChild);
  }
});

test('runqueueExpr: the rq path when the kernel BTF has cfs_rq.rq (group scheduling)', { skip: noKernel }, () => {
  const t = loadKernelBtf().findByName('cfs_rq', 'struct');
  assert.ok(t && t.kind === 'struct');
  const expr = runqueueExpr();
  if (t.members.some((m) => m.name === 'rq')) assert.equal(expr, 'curtask->se.cfs_rq->rq->nr_running');
  else assert.match(expr, /^curtask->se\.cfs_rq->nr_(running|queued)$/);
  assert.match(runqlenScript(49, expr), /^profile:hz:49 \{ \$n = \(int64\)curtask->se\.cfs_rq->/);
});

test('offcputime/cpudist/runqlen scripts compile in every variant', { skip: noKernel }, () => {
  for (const src of [
    offcputimeScript(), offcputimeScript({ pid: 42, minUs: 10, maxUs: 1e6 }),
    cpudistScript(), cpudistScript({ pid: 42, interval: 1 }), cpudistScript({ offcpu: true, pid: 42 }),
    runqlenScript(99),
  ]) {
    const c = compileScript(src, { file: 'tool' });
    assert.ok(c.probes.length >= 1, src);
  }
  assert.match(offcputimeScript({ pid: 42, minUs: 10, maxUs: 20 }), /pid == 42.*\n(.*\n)*.*\$d >= 10000 && \$d <= 20000/);
});
