/** End-to-end: scripts against real kernel events (a child process with known behaviour), exact results. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { features } from '../../src/kernel/features/index.js';
import { compileScript } from '../../src/trace/compile.js';
import { runScript, type JoinResult } from '../../src/trace/runtime.js';
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

test('curtask: tgid, real_parent->tgid and comm through kernel BTF match pid, the parent and comm', { skip: skipChild }, async () => {
  let pid = 0;
  const out = await runText(
    'tracepoint:syscalls:sys_enter_getpid /pid == cpid && comm == "tchild"/ { @[curtask->tgid, pid, curtask->real_parent->tgid, ((struct task_struct *)curtask)->pid, curtask->comm, comm == curtask->comm] = count(); @p = str(curtask->comm) == comm; }',
    { command: `${bin} 3`, onChild: (c) => (pid = c.pid!) },
  );
  // The child is exec'd by the shell the runtime spawns, so its parent is this process.
  assert.equal(out, `Attaching 1 probe...\n\n\n@[${pid}, ${pid}, ${process.pid}, ${pid}, tchild, 1]: 3\n@p: 1\n`);
});

test('uprobe: a script struct cast on arg0 reads user memory (int, char array, long, array index, deref)', { skip: skipChild }, async () => {
  const out = await runText(
    `struct pt { int a; char name[8]; long b; short s[3]; }
     uprobe:${bin}:use { $p = (struct pt *)arg0; printf("%d %s %ld %d %d %d\\n", $p->a, $p->name, $p->b, $p->s[1], $p->s[2], *(int32 *)arg0); }`,
    { command: `${bin} 1` },
  );
  assert.equal(out, 'Attaching 1 probe...\n-7 point 1234567890123 -2 3 -7\n\n\n');
});

test('positional parameters: $1 as an integer, str($2), $# and a missing $3', { skip: skipChild }, async () => {
  const out = await runText('tracepoint:syscalls:sys_enter_getpid /pid == cpid/ { @[str($2), str($3)] = count(); @n = $1 + $# + $3; }', {
    command: `${bin} 4`,
    params: ['40', 'x'],
  });
  assert.equal(out, 'Attaching 1 probe...\n\n\n@[x, ]: 4\n@n: 42\n');
});

test('while/unroll/break/continue/return in a tracepoint probe', { skip: skipChild }, async () => {
  const out = await runText(
    'tracepoint:syscalls:sys_enter_getpid /pid == cpid/ { $i = 0; $s = 0; while ($i < 10) { $i++; if ($i % 2) { continue; } if ($i > 8) { break; } $s += $i; } unroll(3) { $s += 100; } @s = $s; if ($s > 0) { return; } @never = 1; }',
    { command: `${bin} 2` },
  );
  assert.equal(out, 'Attaching 1 probe...\n\n\n\n@s: 320\n'); // @never is defined but empty: a blank line, like bpftrace
});

test('ntop() of a tracepoint u8[4] field, on a real TCP connect to 127.0.0.1', { skip: noKernel }, async () => {
  const net = await import('node:net');
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const run = runText(`tracepoint:sock:inet_sock_set_state /args->family == 2 && args->dport == ${port} && args->newstate == 2/ { printf("%s %s %s\\n", ntop(args->daddr), ntop(2, args->dport), ntop(args->daddr_v6)); exit(); }`);
    const sock = net.connect(port, '127.0.0.1');
    sock.on('error', () => {});
    const out = await run;
    sock.destroy();
    const hexPort = `${port & 0xff}.${port >> 8}.0.0`;
    assert.equal(out, `Attaching 1 probe...\n127.0.0.1 ${hexPort} ::ffff:127.0.0.1\n\n\n`);
  } finally {
    server.close();
  }
});

test('join(args->argv): every element (spaces, empty ones) through joinSink, bpftrace text otherwise', { skip: noKernel }, async () => {
  const src = 'tracepoint:syscalls:sys_enter_execve /pid == cpid/ { join(args->argv, "|"); exit(); }';
  const long = 'L'.repeat(1100);
  const got: JoinResult[] = [];
  const c = compileScript(src, { hasChild: true });
  await runScript(c, { write: () => {}, command: `/bin/true 'a b' '' "  c " ${long}`, childStdio: 'ignore', joinSink: (j) => got.push(j) });
  assert.equal(got.length, 1);
  const j = got[0]!;
  assert.deepEqual(j.args, ['/bin/true', 'a b', '', '  c ', 'L'.repeat(1023)]);
  assert.equal(j.delim, '|');
  assert.deepEqual([j.more, j.truncated, j.fault], [false, true, false]);
  assert.ok(j.pid > 0 && j.tid === j.pid);
  // Text: bpftrace stops at the first empty element.
  assert.equal(await runText(src, { command: `/bin/true 'a b' '' x` }), 'Attaching 1 probe...\n/bin/true|a b\n\n\n');
  const many = Array.from({ length: 20 }, (_, i) => String(i)).join(' ');
  const g2: JoinResult[] = [];
  await runScript(c, { write: () => {}, command: `/bin/true ${many}`, childStdio: 'ignore', joinSink: (x) => g2.push(x) });
  assert.equal(g2[0]!.args.length, 16);
  assert.equal(g2[0]!.more, true);
});
