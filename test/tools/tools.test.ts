/** The event and histogram tools against the real kernel, with children of known behaviour. */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { biolatency } from '../../src/tools/biolatency.js';
import { execsnoop, type ExecEvent } from '../../src/tools/execsnoop.js';
import { cumulative } from '../../src/tools/histogram.js';
import { opensnoop, type OpenEvent } from '../../src/tools/opensnoop.js';
import { runqlat } from '../../src/tools/runqlat.js';
import { syscount } from '../../src/tools/syscount.js';
import { heldChild, noKernel, reap, testProgram, withChild } from './fixtures.js';

const topen = testProgram('topen');
const skipChild = noKernel ?? (topen ? undefined : 'gcc cannot build the test program');
test('execsnoop: a child exec with its pid, ppid, comm, filename, exact argv (from the kernel) and ret', { skip: skipChild }, async () => {
  const argv = ['1', 'two words', '  padded  ', "it's", 'x'.repeat(300), ''];
  const h = heldChild(topen!, argv);
  const events: ExecEvent[] = [];
  await withChild(h, (o) => execsnoop({ ...o, pid: h.pid, onEvent: (e) => events.push(e) }));
  assert.equal(await h.exited, 0);
  assert.equal(events.length, 1, JSON.stringify(events));
  const e = events[0]!;
  assert.equal(e.pid, h.pid);
  assert.equal(e.ppid, process.pid);
  assert.equal(e.comm, 'topen');
  assert.equal(e.filename, topen);
  assert.equal(e.ret, 0);
  assert.deepEqual(e.args, [topen, ...argv]);
  assert.equal(e.argsTruncated, false);
  assert.equal(e.argsFrom, 'kernel');
  assert.ok(Math.abs(e.time.getTime() - Date.now()) < 10_000, `time ${e.time.toISOString()}`);
});

test('execsnoop: an exec from a second thread (its tid becomes the pid) keeps filename and argv', { skip: noKernel ?? (testProgram('texecthr') ? undefined : 'gcc cannot build the test program') }, async () => {
  const h = heldChild(testProgram('texecthr')!);
  const events: ExecEvent[] = [];
  await withChild(h, (o) => execsnoop({ ...o, pid: h.pid, onEvent: (e) => events.push(e) }));
  assert.equal(await h.exited, 0);
  assert.equal(events.length, 2, JSON.stringify(events));
  const { time: _t, ...e } = events[1]!;
  assert.deepEqual(e, { pid: h.pid, ppid: process.pid, comm: 'true', filename: '/bin/true', args: ['/bin/true', 'from a thread'], argsTruncated: false, argsFrom: 'kernel', ret: 0 });
});

test('execsnoop: a failed exec reports -ENOENT', { skip: noKernel }, async () => {
  const h = heldChild('/nonexistent/bpfkit-no-such-binary');
  const events: ExecEvent[] = [];
  await withChild(h, (o) => execsnoop({ ...o, pid: h.pid, onEvent: (e) => events.push(e) }));
  const e = events.find((x) => x.filename === '/nonexistent/bpfkit-no-such-binary');
  assert.ok(e, JSON.stringify(events));
  assert.equal(e.ret, -2);
  assert.equal(e.comm, 'sh');
  assert.deepEqual(e.args, ['/nonexistent/bpfkit-no-such-binary']);
});

test('opensnoop: the child opens /etc/hostname 3 times, each time as fd 3', { skip: skipChild }, async () => {
  const h = heldChild(topen!, ['3']);
  const events: OpenEvent[] = [];
  await withChild(h, (o) => opensnoop({ ...o, pid: h.pid, onEvent: (e) => events.push(e) }));
  const mine = events.filter((e) => e.path === '/etc/hostname');
  assert.equal(mine.length, 3, JSON.stringify(events));
  for (const e of mine) {
    assert.equal(e.pid, h.pid);
    assert.equal(e.comm, 'topen');
    assert.equal(e.fd, 3);
    assert.equal(e.errno, 0);
  }
});

test('opensnoop: a failed open reports errno ENOENT', { skip: noKernel }, async () => {
  const h = heldChild('/bin/cat', ['/nonexistent/bpfkit-missing']);
  const events: OpenEvent[] = [];
  await withChild(h, (o) => opensnoop({ ...o, pid: h.pid, onEvent: (e) => events.push(e) }));
  const e = events.find((x) => x.path === '/nonexistent/bpfkit-missing');
  assert.ok(e, JSON.stringify(events));
  assert.equal(e.fd, -1);
  assert.equal(e.errno, 2);
});

test('syscount: the child\'s 50 getpid and 50 openat calls are counted by name', { skip: skipChild }, async () => {
  const h = heldChild(topen!, ['50']);
  const counts = await withChild(h, (o) => syscount({ ...o, pid: h.pid }));
  const by = new Map(counts.map((c) => [c.name, c.count]));
  assert.equal(by.get('getpid'), 50, JSON.stringify(counts));
  const opens = by.get('openat') ?? 0;
  assert.ok(opens >= 50 && opens < 80, `openat ${opens}`);
  assert.ok((by.get('execve') ?? 0) >= 1);
  assert.ok(counts.every((c, i) => i === 0 || counts[i - 1]!.count >= c.count), 'sorted by count');
});

test('runqlat: a non-empty histogram under a small CPU load', { skip: noKernel }, async () => {
  const kids: ChildProcess[] = [];
  try {
    const h = await runqlat({
      duration: 1,
      onReady: () => {
        for (let i = 0; i < 3; i++) kids.push(spawn('/bin/sh', ['-c', 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'], { stdio: 'ignore' }));
      },
    });
    assert.ok(h.count > 0, 'some run-queue latencies');
    assert.equal(h.counts.reduce((s, v) => s + v, 0), h.count);
    assert.equal(h.counts.length, h.bounds.length + 1);
    assert.equal(cumulative(h).at(-1), h.count);
    assert.ok(h.sumExact && h.sum >= 0);
    assert.equal(h.unit, 'us');
  } finally {
    kids.forEach(reap);
  }
});

test('biolatency: direct writes and fsync on a file give block I/O latencies', { skip: noKernel }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-bio-'));
  try {
    const h = await biolatency({
      duration: 1.5,
      onReady: () => {
        spawnSync('dd', ['if=/dev/zero', `of=${join(dir, 'f')}`, 'bs=4k', 'count=64', 'oflag=direct,sync'], { stdio: 'ignore' });
      },
    });
    if (h.count === 0) {
      t.skip(`no block:block_rq_issue/complete events for ${basename(dir)} (the disk under ${tmpdir()} does not emit them)`);
      return;
    }
    assert.ok(h.count >= 64, `count ${h.count}`);
    assert.ok(h.sum > 0);
    assert.equal(cumulative(h).at(-1), h.count);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
