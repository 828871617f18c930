/** bitesize, statsnoop, syncsnoop and oomkill against the real kernel, with children of known behaviour. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bitesize, bitesizeScript, bitesizeText } from '../../src/tools/bitesize.js';
import { compileScript } from '../../src/trace/compile.js';
import { oomkill, oomkillLine, oomkillScript, type OomEvent } from '../../src/tools/oomkill.js';
import { statsnoop, type StatEvent } from '../../src/tools/statsnoop.js';
import { syncsnoop, syncsnoopScript, type SyncEvent } from '../../src/tools/syncsnoop.js';
import { parseTracepointFormat } from '../../src/trace/tpformat.js';
import { noKernel } from './fixtures.js';
import { schedChild, tsched, withSchedChild } from './sched-fixtures.js';

const log2Index = (v: number) => Math.floor(Math.log2(v)) + 2;
const exitOf = (c: ReturnType<typeof spawn>) => new Promise<number | null>((r) => c.on('exit', (code) => r(code)));

test('bitesize: direct reads of 8 × 4 KiB and 4 × 64 KiB of a file, per process and in the right buckets', { skip: noKernel }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-bite-'));
  try {
    const file = join(dir, 'f');
    // 1 MiB on disk (direct writes, before tracing); dd and its libraries are then in the page cache.
    spawnSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', 'count=1', 'oflag=direct,sync'], { stdio: 'ignore' });
    const ac = new AbortController();
    const pids: number[] = [];
    const r = await bitesize({
      signal: ac.signal,
      duration: 15,
      onReady: () => {
        const runs = [['4k', '8'], ['64k', '4']].map(([bs, count]) => {
          const c = spawn('dd', [`if=${file}`, 'of=/dev/null', `bs=${bs}`, `count=${count}`, 'iflag=direct'], { stdio: 'ignore' });
          pids.push(c.pid!);
          return exitOf(c);
        });
        void Promise.all(runs).then(() => setTimeout(() => ac.abort(), 100));
      },
    });
    const [small, large] = pids.map((p) => r.find((x) => x.pid === p));
    if (!small && !large) return t.skip(`no block:block_rq_issue events from dd (the filesystem under ${tmpdir()} has no block device emitting them)`);
    assert.ok(small && large, JSON.stringify(r.map((x) => [x.pid, x.comm, x.hist.count])));
    assert.equal(small.comm, 'dd');
    assert.equal(small.hist.counts[log2Index(4096)], 8, JSON.stringify(small.hist));
    assert.equal(small.hist.count, 8);
    assert.equal(small.hist.sum, 8 * 4096);
    assert.equal(large.hist.counts[log2Index(65536)], 4, JSON.stringify(large.hist));
    assert.equal(large.hist.count, 4);
    assert.equal(large.hist.sum, 4 * 65536);
    assert.equal(large.hist.bounds[log2Index(65536)], 131071);
    assert.match(bitesizeText(r), new RegExp(`Process Name = dd \\(pid ${small.pid}\\)\\n\\[4096, 8192\\) +8 \\|@+ *\\|\\n`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const skipChild = noKernel ?? (tsched() ? undefined : 'gcc cannot build the test program');

test('statsnoop: stat, lstat, fstatat and statx of a path, 3 times each, and one ENOENT', { skip: skipChild }, async () => {
  const path = '/etc/hostname';
  const h = schedChild(['stat', path, '3']);
  const events: StatEvent[] = [];
  await withSchedChild(h, (o) => statsnoop({ ...o, pid: h.pid, onEvent: (e) => events.push(e) }));
  const show = JSON.stringify(events);
  const mine = events.filter((e) => e.path === path);
  // glibc ≥ 2.33 implements stat/lstat/fstatat with newfstatat; statx is its own syscall.
  assert.equal(mine.length, 12, show);
  assert.equal(mine.filter((e) => e.syscall === 'statx').length, 3, show);
  assert.equal(mine.filter((e) => e.syscall === 'newfstatat' || e.syscall === 'newstat' || e.syscall === 'newlstat').length, 9, show);
  for (const e of mine) assert.deepEqual([e.pid, e.tid, e.comm, e.ret, e.errno], [h.pid, h.pid, 'tsched', 0, 0]);
  const missing = events.filter((e) => e.path === '/nonexistent/bpfkit-missing');
  assert.equal(missing.length, 1, show);
  assert.deepEqual([missing[0]!.ret, missing[0]!.errno], [-2, 2]);
  assert.equal(events.length, 13, show);
});

test('syncsnoop: fsync, fdatasync, syncfs (with their fd) then sync, in order', { skip: skipChild }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-sync-'));
  try {
    const h = schedChild(['sync', join(dir, 'f')]);
    const events: SyncEvent[] = [];
    await withSchedChild(h, (o) => syncsnoop({ ...o, pid: h.pid, onEvent: (e) => events.push(e) }));
    assert.deepEqual(events.map((e) => [e.syscall, e.fd, e.pid, e.comm]), [['fsync', 3, h.pid, 'tsched'], ['fdatasync', 3, h.pid, 'tsched'], ['syncfs', 3, h.pid, 'tsched'], ['sync', -1, h.pid, 'tsched']]);
    assert.ok(events.every((e, i) => i === 0 || e.time >= events[i - 1]!.time));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('syncsnoopScript: leaves out syscalls the kernel lacks', () => {
  const s = syncsnoopScript(7, (sc) => sc !== 'msync');
  assert.match(s, /sys_enter_sync_file_range \/pid == 7\/ /);
  assert.doesNotMatch(s, /msync/);
});

const MARK_VICTIM_OLD = `name: mark_victim
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:int pid;	offset:8;	size:4;	signed:1;
`;

test('oomkillScript: an old kernel\'s mark_victim (pid only) and this one\'s', () => {
  const old = oomkillScript(parseTracepointFormat(MARK_VICTIM_OLD));
  assert.match(old, /args->pid, comm, ""\)/);
  assert.doesNotMatch(old, /total_vm/);
  assert.throws(() => oomkillScript(null), /no oom:mark_victim/);
});

test('oomkill: attaches to oom:mark_victim and stops cleanly (no OOM is provoked)', { skip: noKernel ?? (existsSync('/sys/kernel/tracing/events/oom/mark_victim') || existsSync('/sys/kernel/debug/tracing/events/oom/mark_victim') ? undefined : 'no oom:mark_victim tracepoint') }, async () => {
  let ready = false;
  const events: OomEvent[] = [];
  await oomkill({ duration: 0.3, onReady: () => (ready = true), onEvent: (e) => events.push(e) });
  assert.ok(ready, 'every probe attached');
  assert.match(oomkillScript(), /args->total_vm, args->anon_rss, args->file_rss, args->shmem_rss, args->pgtables, args->uid, args->oom_score_adj, comm, args->comm/);
  const line = oomkillLine({ time: new Date(0), triggerPid: 1, triggerComm: 'a', pid: 2, comm: 'b', totalVmKb: 10, anonRssKb: 5, loadavg: '0.00 0.01 0.02' });
  assert.equal(line, '00:00:00 Triggered by PID 1 ("a"), OOM kill of PID 2 ("b"), 10 kB total-vm, 5 kB anon-rss, loadavg: 0.00 0.01 0.02');
  assert.ok(events.every((e) => e.pid > 0), 'an OOM kill elsewhere on the machine is still well-formed');
});

test('bitesizeScript: with and without block_io_start, with and without a pid, compiles', { skip: noKernel }, () => {
  for (const [pid, ioStart] of [[undefined, true], [42, true], [undefined, false], [42, false]] as const) {
    const src = bitesizeScript(pid, ioStart);
    assert.equal(src.includes('block_io_start'), ioStart);
    assert.equal(src.includes('$p == 42'), pid === 42);
    assert.ok(compileScript(src, { file: 'bitesize' }).probes.length >= 1);
  }
});
