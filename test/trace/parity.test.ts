/** Output parity with bpftrace: deterministic scripts run by both, stdout compared byte for byte. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { noKernel, runText, testBinary, usdtBinary } from './fixtures.js';

type Script = string | { src: string; args: string[]; command?: string; unsafe?: boolean };
const U = usdtBinary();
const T = testBinary();
const SCRIPTS: Script[] = [
  'BEGIN { @a[1] = 5; @a[2] = 3; @h = hist(1); @h = hist(1000); @l = lhist(5, 0, 100, 10); @s = stats(7); printf("%d %s %x %5d|%-5s|\\n", 42, "ab", 255, 7, "x"); exit(); }',
  'BEGIN { printf("%d|%5d|%-5d|%05d|%x|%X|%o|%u|%c|%s|%10s|%-10s|%.2s|%%|%ld|%lu\\n", -42, 42, 42, 42, 3054, 3054, 8, 7, 65, "str", "right", "left", "trunc", 5000000000, -1); exit(); }',
  'BEGIN { @c["a"] = count(); @c["b"] = count(); @c["b"] = count(); @s[1, "x"] = sum(10); @s[2, "y"] = sum(-3); @m = min(4); @m = min(9); @M = max(4); @M = max(9); exit(); }',
  'BEGIN { @h[1] = hist(5); @h[2] = hist(5); @h[2] = hist(100); @h[2] = hist(3000000); @z = hist(0); @n = hist(-1); exit(); }',
  'BEGIN { @l = lhist(-5, 0, 100, 10); @l = lhist(100, 0, 100, 10); @l = lhist(150, 0, 100, 10); @l = lhist(55, 0, 100, 10); @k = lhist(2048, 0, 4096, 1024); exit(); }',
  'BEGIN { @s[1] = stats(3); @s[2] = stats(10); @s[2] = stats(-4); @a[5] = avg(3); @a[6] = avg(-7); @a[6] = avg(-8); exit(); }',
  'BEGIN { $x = 5; $y = $x * 3 - 1; if ($y > 10) { @r = "big"; } else { @r = "small"; } @t = $x > 3 ? 100 : 200; @b[1] = 1; @b[2] = 2; print(@b); delete(@b[1]); print(@b); @c = 1; clear(@c); @v = (7 + 3) / 2 % 3 << 2 | 1; @w = !0 && (1 || 0); @neg = -5; @u = ~0; printf("%s %d\\n", "done", $y); exit(); }',
  'BEGIN { if ("abc" == "abc") { printf("eq\\n"); } if ("abc" != "abd") { printf("ne\\n"); } @s["x"] = 1; @s["y"] = 2; @s["z"] = 3; @x++; @x++; @y += 5; @y -= 2; printf("%s\\n", probe); exit(); } END { printf("end %d\\n", 7); @e = 2; }',
  'BEGIN { @a = (uint8)300; @b = (int8)255; @c = (int16)-70000; @d = (uint32)-1; @e = (int64)(uint32)-1; @x = (uint32)-1 + 1; @y = (int8)127 + 1; @f = (uint16)(int8)-1; @g = (int32)(uint16)65535; exit(); }',
  'BEGIN { $i = 0; while ($i < 5) { $i++; if ($i == 2) { continue; } if ($i == 4) { break; } printf("%d\\n", $i); } unroll(3) { printf("u\\n"); } $j = 0; while (1) { $j += 3; if ($j > 10) { break; } } @j = $j; exit(); }',
  'BEGIN { @a = 1; if (@a == 1) { exit(); return; } @b = 2; } END { @c = 3; }',
  'BEGIN { @c[1] = count(); @c[2] = count(); @c[2] = count(); @c[3] = count(); @c[3] = count(); @c[3] = count(); print(@c, 2, 2); @h[1] = hist(5); @h[2] = hist(5); @h[2] = hist(50); @h[3] = hist(500); @h[3] = hist(500); @h[3] = hist(5000); print(@h, 2, 2); @a[1] = avg(10); @a[2] = avg(100); print(@a, 1, 10); @str[1] = "a"; @str[2] = "b"; print(@str, 1); @sum[1] = sum(-10); @sum[2] = sum(7); print(@sum, 0, 3); clear(@c); clear(@h); clear(@a); clear(@str); clear(@sum); exit(); }',
  'BEGIN { printf("%s %s %s %s\\n", ntop(0x0100007f), ntop(2, 0x0100007f), ntop(0), ksym(0)); @n[ntop(0x0101a8c0)] = count(); $x = ntop(0x0201a8c0); @m = $x; exit(); }',
  'BEGIN { @a = curtask->tgid == pid; @b = curtask->real_parent->pid > 1; @d = curtask->comm == comm; @e = curtask->se.load.weight; @f = ((struct task_struct *)curtask)->pid == tid; $t = curtask; @g = $t->real_parent->real_parent->tgid > 0; exit(); }',
  'struct foo { int a; char b[8]; long c; } BEGIN { $p = (struct foo *)curtask; @x = $p->a == *(int32 *)curtask; @y = $p->c == *(int64 *)((uint64)curtask + 16); exit(); }',
  { src: 'BEGIN { printf("%d %d %s [%s] %d\\n", $1, $#, str($2), str($3), $3); @[$1] = str($2); unroll($1) { @n++; } exit(); }', args: ['3', 'hello'] },
  { src: 'BEGIN { join(0); } tracepoint:syscalls:sys_enter_execve /pid == cpid/ { join(args->argv); join(args->argv, ", "); join(args->argv, ""); exit(); }', args: [], command: '/bin/true alpha beta-gamma 3 x' },
  ...(U
    ? [
        {
          src: `usdt:${U}:tprov:step { printf("%d %d %s %s\\n", arg0, *(int64 *)arg1, str(arg2), probe); } usdt:${U}:sib { @s[arg0, arg1] = sum(arg1); @t = sum(arg0); } usdt:${U}:*:done { printf("done %d %d\\n", arg0, arg1); @d = arg1; } U:${U}:other:mark { @m = count(); }`,
          args: [],
          command: `${U} 5`,
        },
      ]
    : []),
  'struct foo { int a; char b[3]; long c; } BEGIN { printf("%d %d %d %d %d %d\\n", sizeof(struct foo), sizeof(1+2), sizeof("abc"), sizeof(comm), sizeof(uint16), sizeof(struct task_struct)); $x = (struct foo *)0; printf("%d %d %d %d\\n", sizeof(*$x), sizeof($x), sizeof(curtask->comm), sizeof($x->b)); printf("%s %d\\n", ksym(kaddr("do_nanosleep")), kaddr("do_nanosleep") == kaddr("do_nanosleep")); @s = sizeof(int64); exit(); }',
  'enum color { RED, GREEN = 5, BLUE }; enum { A = -2, B }; BEGIN { printf("%d %d %d %d %d %d\\n", RED, GREEN, BLUE, A, B, TASK_COMM_LEN); @[BLUE] = count(); $c = (uint8)GREEN; @x = $c; exit(); }',
  'BEGIN { @[(uint64)-7] = count(); @b[(uint64)-1, "x"] = 2; @c[(uint32)-1] = 3; exit(); }',
  { src: 'BEGIN { system("echo %d %s %x", 5, "x", 255); cat("/proc/sys/kernel/ostype"); cat("/proc/sys/kernel/%s", "ostype"); printf("|\\n"); exit(); }', args: [], unsafe: true },
  ...(T ? [{ src: 'tracepoint:syscalls:sys_enter_getpid /pid == cpid/ { @ = count(); signal("KILL"); }', args: [], command: `${T} 3`, unsafe: true }] : []),
  'BEGIN { printf("%d %d %d %d\\n", strncmp("abc", "abd", 2), strncmp("abc", "abd", 3), strncmp("abd", "abc", 3), strncmp("", "", 5)); printf("%s|%r|%r|\\n", username, buf("ab", 3), buf("a\\tb", 3)); @u = username; @cp = cgroup_path(cgroup); @b = buf("xyz", 2); @c[buf("q", 2)] = 1; exit(); }',
  ...(T
    ? [
        {
          src: `struct mac { unsigned char a[6]; } uprobe:${T}:use { $m = (struct mac *)(arg0 + 4); @m = macaddr($m->a); @n = macaddr((uint8 *)$m); @s = buf($m->a); @r = buf(arg0 + 4, 8); @b[buf(curtask->comm, 3)] = count(); @t = strncmp(comm, "tchXX", 3); printf("%r|\\n", buf(arg0, 2)); }`,
          args: [],
          command: `${T} 1`,
        },
        { src: 'software:page-faults:1 /pid == cpid/ { @ = 1; } software:minor-faults:1 /pid == cpid/ { @m = 1; }', args: [], command: `${T} 1` },
      ]
    : []),
];

const BPFTRACE = '/usr/bin/bpftrace';
const haveBpftrace = spawnSync(BPFTRACE, ['--version'], { encoding: 'utf8' }).status === 0;

function bpftrace(script: Script): Promise<{ code: number | null; out: string; err: string }> {
  const { src, args, command, unsafe } = typeof script === 'string' ? { src: script, args: [], command: undefined, unsafe: false } : script;
  return new Promise((resolve) => {
    const p = spawn(BPFTRACE, [...(unsafe ? ['--unsafe'] : []), '-e', src, ...(command ? ['-c', command] : []), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 20000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

test('stdout is identical to bpftrace 0.17 for deterministic scripts', { skip: noKernel ?? (haveBpftrace ? undefined : `${BPFTRACE} is not installed`) }, async (t) => {
  // bpftrace runs in parallel (its start-up dominates); ours run one at a time.
  const theirs = await Promise.all(SCRIPTS.map(bpftrace));
  for (const [i, script] of SCRIPTS.entries()) {
    const bt = theirs[i]!;
    const { src, args, command, unsafe } = typeof script === 'string' ? { src: script, args: [], command: undefined, unsafe: false } : script;
    await t.test(`script ${i + 1}`, async (st) => {
      if (bt.code !== 0 || !bt.out.startsWith('Attaching')) return st.skip(`bpftrace failed here (exit ${bt.code}): ${bt.err.trim().split('\n').pop()}`);
      assert.equal(await runText(src, { params: args, command, unsafe }), bt.out, src);
    });
  }
});
