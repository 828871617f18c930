/**
 * Stack modes and symbolised user frames, strncmp/time/username/buf/macaddr/cgroup_path, and software/hardware
 * perf-event probes, on the real kernel with child processes of known behaviour.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { test } from 'node:test';
import { features } from '../../src/kernel/features/index.js';
import { compileScript } from '../../src/trace/compile.js';
import { noKernel, runText, stackBinary, testBinary } from './fixtures.js';

const sbin = stackBinary();
const bin = testBinary();
const skipStack = noKernel ?? (sbin ? undefined : 'gcc cannot build the stack test binary');
const skipChild = noKernel ?? (bin ? undefined : 'gcc cannot build the test binary');

test('ustack frames are symbolised (name+offset), in bpftrace and perf modes, with frame limits and as map keys', { skip: skipStack }, async () => {
  const out = await runText(`uprobe:${sbin}:inner { printf("%s|%s|%s|\\n", ustack, ustack(perf), ustack(2)); @[ustack(3)] = count(); @v = ustack(perf, 1); }`, { command: sbin! });
  const esc = sbin!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const re = new RegExp(
    '^Attaching 1 probe\\.\\.\\.\\n' +
      '\\n {8}inner\\+0\\n {8}outer\\+\\d+\\n {8}main\\+\\d+\\n( {8}\\S+\\n)*\\|' +
      `\\n\\t[0-9a-f]+ inner\\+0 \\(${esc}\\)\\n\\t[0-9a-f]+ outer\\+\\d+ \\(${esc}\\)\\n\\t[0-9a-f]+ main\\+\\d+ \\(${esc}\\)\\n(\\t[0-9a-f]+ .+\\n)*\\|` +
      '\\n {8}inner\\+0\\n {8}outer\\+\\d+\\n\\|\\n\\n\\n' +
      '@\\[\\n {4}inner\\+0\\n {4}outer\\+\\d+\\n {4}main\\+\\d+\\n\\]: 1\\n' +
      `@v: \\n\\t[0-9a-f]+ inner\\+0 \\(${esc}\\)\\n\\n$`,
  );
  assert.match(out, re);
});

test('kstack(perf, N): tab-indented address and symbol, N frames; a failed walk prints as nothing', { skip: skipChild }, async () => {
  const out = await runText('tracepoint:syscalls:sys_enter_getpid /pid == cpid/ { printf("%s|\\n", kstack(perf, 2)); @k[kstack(3)] = count(); exit(); } uprobe:' + bin + ':work { @u[kstack] = count(); }', { command: `${bin} 1` });
  assert.match(out, /^Attaching 2 probes\.\.\.\n\n\t[0-9a-f]{16} \w+\+\d+\n\t[0-9a-f]{16} \w+\+\d+\n\|\n\n\n@k\[\n( {4}\w+\+\d+\n){3}\]: 1\n(@u\[\]: \d+\n)?$/);
});

test('stack arguments are checked', () => {
  assert.throws(() => compileScript('BEGIN { @ = ustack(raw); }'), /Unknown stack mode: 'raw'/);
  assert.throws(() => compileScript('BEGIN { @ = kstack(perf, 0); }'), /limit must be at least 1/);
  assert.throws(() => compileScript('BEGIN { @ = kstack(500); }'), /at most 127/);
  assert.throws(() => compileScript('BEGIN { @a = kstack(3); @a = kstack(4); }'), /Type mismatch for @a/);
});

test('strncmp, username, time, buf (%r), macaddr on a child\'s memory', { skip: skipChild }, async () => {
  const year = String(new Date().getFullYear());
  const out = await runText(
    `struct mac { unsigned char a[6]; } uprobe:${bin}:use { $m = (struct mac *)(arg0 + 4); ` +
      'printf("%d %d %d %d|%s|%s|%r|%r|\\n", strncmp(comm, "tchXX", 3), strncmp(comm, "tchXX", 4), strncmp("a", "a", 9), strncmp("ab", "a", 2), username, macaddr($m->a), buf($m->a), buf(arg0 + 4, 8)); ' +
      'time("%Y\\n"); @b[buf(curtask->comm, 3)] = count(); @m = macaddr((uint8 *)$m); @u = username; }',
    { command: `${bin} 1` },
  );
  const me = userInfo().username;
  assert.equal(out, `Attaching 1 probe...\n0 1 0 1|${me}|70:6F:69:6E:74:00|point\\x00|point\\x00\\x00\\x00|\n${year}\n\n\n@b[tch]: 1\n@m: 70:6F:69:6E:74:00\n@u: ${me}\n`);
  assert.throws(() => compileScript('BEGIN { printf("%s", buf("ab", 2)); }'), /%s specifier expects a value of type string \(buffer supplied\)/);
  assert.throws(() => compileScript('BEGIN { printf("%r", 1); }'), /%r specifier expects a value of type buffer/);
  assert.throws(() => compileScript('BEGIN { @ = macaddr(comm); }'), /macaddr\(\) argument must be 6 bytes in size/);
  assert.throws(() => compileScript('tracepoint:syscalls:sys_enter_openat { @ = path(args->filename); }'), /The path function can only be used with 'kfunc', 'kretfunc', 'iter' probes/);
});

/** The cgroup2 mount point, if any. */
function cgroup2Mount(): string | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post?.startsWith('cgroup2 ') && pre?.split(' ')[3] === '/') return pre.split(' ')[4];
  }
  return undefined;
}

test('cgroup_path(cgroup): the child\'s cgroup2 path, found by walking the hierarchy', { skip: skipChild ?? (cgroup2Mount() ? undefined : 'no cgroup2 mount') }, async () => {
  const mnt = cgroup2Mount()!;
  const name = `bpfkit-trace-${process.pid}`;
  const dir = `${mnt}/${name}`;
  mkdirSync(`${dir}/sub`, { recursive: true });
  try {
    const out = await runText('tracepoint:syscalls:sys_enter_getpid /pid == cpid && comm == "tchild"/ { printf("%s|%s|\\n", cgroup_path(cgroup), cgroup_path(cgroup, "nomatch*")); @p = cgroup_path(cgroup, "uni*"); exit(); }', {
      command: `/bin/sh -c 'echo $$ > ${dir}/sub/cgroup.procs && exec ${bin} 1'`,
    });
    // The shell (which calls getpid itself) exec's the test binary: cpid is the process that moved into the cgroup.
    assert.equal(out, `Attaching 1 probe...\nunified:/${name}/sub||\n\n\n@p: unified:/${name}/sub\n`);
  } finally {
    for (let i = 0; i < 50 && existsSync(`${dir}/sub`); i++) {
      try {
        rmdirSync(`${dir}/sub`);
      } catch {
        spawnSync('sleep', ['0.02']);
      }
    }
    rmdirSync(dir);
  }
});

test('software:EVENT:COUNT probes count the child\'s page faults; aliases and default counts', { skip: noKernel ?? (features.perfEvents().ok ? undefined : features.perfEvents().reason) }, async () => {
  // Two events counting every page fault of the child: the same number, and /bin/true faults more than 10 times.
  const out = await runText('software:page-faults:1 /pid == cpid/ { @f = count(); } s:faults:1 /pid == cpid/ { @n = count(); }', { command: '/bin/true' });
  const m = /^Attaching 2 probes\.\.\.\n\n\n@f: (\d+)\n@n: (\d+)\n$/.exec(out);
  assert.ok(m, out);
  assert.equal(m[1], m[2]);
  assert.ok(Number(m[1]) > 10, `page faults of /bin/true: ${m[1]}`);
  const c = compileScript('software:cs { } software:cpu-clock:5000 { } h:cycles { }');
  assert.deepEqual(c.probes.map((p) => p.ap.name), ['software:context-switches:1000', 'software:cpu-clock:5000', 'hardware:cpu-cycles:1000000']);
  assert.throws(() => compileScript('software:nope { }'), /nope is not a software probe/);
  assert.throws(() => compileScript('software:cpu-clock:0 { }'), /count must be a positive integer/);
});

test('hardware probes fail to attach with the feature probe\'s reason when the machine has no PMU', { skip: noKernel }, async (t) => {
  const f = features.hardwarePerfEvents();
  if (f.ok) return t.skip('this machine has hardware counters');
  await assert.rejects(runText('hardware:cpu-cycles:1000000 { @ = count(); }'), (e: Error) => e.message.includes('hardware:cpu-cycles:1000000') && e.message.includes(f.reason!));
});
