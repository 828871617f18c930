/** End-to-end: scripts against real kernel events (a child process with known behaviour), exact results. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { features } from '../../src/kernel/features/index.js';
import { noKernel, runText, testBinary } from './fixtures.js';

const bin = testBinary();
const skipChild = noKernel ?? (bin ? undefined : 'gcc cannot build the test binary');

test('BEGIN { printf("hi\\n"); exit(); }', { skip: noKernel }, async () => {
  assert.equal(await runText('BEGIN { printf("hi\\n"); exit(); }'), 'Attaching 1 probe...\nhi\n\n\n');
});

test('interval:ms:100 { exit(); } stops after ~100 ms', { skip: noKernel ?? (features.perfEvents().ok ? undefined : features.perfEvents().reason) }, async () => {
  const t0 = Date.now();
  const out = await runText('interval:ms:100 { @n = count(); exit(); }');
  const ms = Date.now() - t0;
  assert.equal(out, 'Attaching 1 probe...\n\n\n@n: 1\n');
  assert.ok(ms >= 80 && ms < 3000, `took ${ms} ms`);
});

test('openat tracepoint: exact count of the child\'s calls', { skip: skipChild }, async () => {
  const out = await runText('tracepoint:syscalls:sys_enter_openat /pid == cpid && str(args->filename) == "/etc/hostname"/ { @[comm] = count(); }', { command: `${bin} 7` });
  assert.equal(out, 'Attaching 1 probe...\n\n\n@[tchild]: 7\n');
});

test('exec tracepoints: printf of pid, comm and args fields', { skip: skipChild }, async () => {
  let pid = 0;
  const out = await runText(
    'tracepoint:syscalls:sys_enter_execve /pid == cpid/ { printf("enter %d %s %s\\n", pid, comm, str(args->filename)); } tracepoint:sched:sched_process_exec /pid == cpid/ { printf("exec %d %s %s %d\\n", pid, comm, str(args->filename), args->pid); }',
    { command: `${bin} 1`, onChild: (c) => (pid = c.pid!) },
  );
  assert.equal(out, `Attaching 2 probes...\nenter ${pid} sh ${bin}\nexec ${pid} tchild ${bin} ${pid}\n\n\n`);
});

test('uprobe hist/lhist/stats over known arguments, uretprobe sum of retval', { skip: skipChild }, async () => {
  const out = await runText(
    `uprobe:${bin}:work { @h = hist(arg0); @l = lhist(arg0, 0, 10, 2); @s = stats(arg0); @mx = max(arg0); @mn = min(arg0); } uretprobe:${bin}:work { @r = sum(retval); }`,
    { command: `${bin} 1` },
  );
  const bar = (n: number) => '@'.repeat(n).padEnd(52);
  assert.equal(
    out,
    'Attaching 2 probes...\n\n\n' +
      '@h: \n' +
      `[1]                    1 |${bar(26)}|\n` +
      `[2, 4)                 2 |${bar(52)}|\n` +
      `[4, 8)                 1 |${bar(26)}|\n` +
      `[8, 16)                1 |${bar(26)}|\n` +
      `[16, 32)               0 |${bar(0)}|\n` +
      `[32, 64)               1 |${bar(26)}|\n` +
      `[64, 128)              1 |${bar(26)}|\n` +
      `[128, 256)             0 |${bar(0)}|\n` +
      `[256, 512)             0 |${bar(0)}|\n` +
      `[512, 1K)              1 |${bar(26)}|\n\n` +
      '@l: \n' +
      `[0, 2)                 1 |${bar(17)}|\n` +
      `[2, 4)                 2 |${bar(34)}|\n` +
      `[4, 6)                 1 |${bar(17)}|\n` +
      `[6, 8)                 0 |${bar(0)}|\n` +
      `[8, 10)                1 |${bar(17)}|\n` +
      `[10, ...)              3 |${bar(52)}|\n\n` +
      '@mn: 1\n@mx: 1000\n@r: 2338\n@s: count 8, average 146, total 1169\n\n',
  );
});

test('uprobe on libc getpid counts the child\'s calls', { skip: skipChild }, async () => {
  const out = await runText('uprobe:libc.so.6:getpid /pid == cpid/ { @ = count(); }', { command: `${bin} 5` });
  assert.equal(out, 'Attaching 1 probe...\n\n\n@: 5\n');
});

test('kprobes fail to attach with the feature probe\'s reason when the kernel has none', { skip: noKernel }, async (t) => {
  const f = features.kprobes();
  if (f.ok) return t.skip('this kernel has kprobes');
  await assert.rejects(runText('kprobe:do_nanosleep { @ = count(); }'), (e: Error) => e.message.includes(f.reason!));
});

test('abort signal stops a run and prints the maps', { skip: noKernel }, async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 150);
  const out = await runText('BEGIN { @a = 1; } interval:ms:50 { @t = count(); }', { signal: ac.signal });
  assert.match(out, /^Attaching 2 probes\.\.\.\n\n\n@a: 1\n@t: [1-9]\d*\n$/);
});
