/**
 * USDT probes in scripts, on the real kernel: argument values read per call site (constants, registers,
 * stack memory, base + index × scale memory) compared with what the targets passed, provider/name globs,
 * the 2-part form, `-p PID` with a semaphore-gated probe in a shared library (the semaphore counted up only
 * while attached), and bpftrace's errors.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { compileScript } from '../../src/trace/compile.js';
import { usdtTarget } from '../kernel/usdt-fixture.js';
import { noKernel, runText, usdtBinary } from './fixtures.js';

const U = usdtBinary();
const skipU = noKernel ?? (U ? undefined : 'gcc or <sys/sdt.h> missing: cannot build the USDT test binary');
const T = usdtTarget();
const skipT = noKernel ?? ('skip' in T ? T.skip : undefined);

test('usdt: stack, register, constant and base+index*scale arguments; globs; 2-part form', { skip: skipU }, async () => {
  const out = await runText(
    `usdt:${U}:tprov:step { printf("%d %d %s %s\\n", arg0, *(int64 *)arg1, str(arg2), probe); } usdt:${U}:sib { @s[arg0, arg1] = sum(arg1); @t = sum(arg0); } usdt:${U}:*:done { printf("done %d %d\\n", arg0, arg1); @d = arg1; } U:${U}:oth*:m?rk { @m = count(); }`,
    { command: `${U} 5` },
  );
  const step = (i: number, g: number) => `${i} ${g} s${i} usdt:${U}:tprov:step\n`;
  assert.equal(
    out,
    'Attaching 4 probes...\n' + step(0, 40) + step(1, 41) + step(2, 43) + step(3, 46) + step(4, 50) + 'done 5 -5\n\n\n' +
      // bpftrace 0.17: USDT arguments are uint64 (sign-extended from their size); 64-bit keys print signed.
      '@d: 18446744073709551611\n@m: 1\n@s[10, 0]: 0\n@s[-20, 1]: 1\n@s[30, 2]: 2\n@s[-40, 3]: 3\n@t: 18446744073709551606\n',
  );
});

test('usdt: one program per argument spec, every call site attached (bpftrace counts sites)', { skip: skipT }, async () => {
  if ('skip' in T) return;
  const c = compileScript(`usdt:${T.exe}:bpfkit:tick { @[arg0, *(int64 *)arg1, arg2] = count(); }`, { hasChild: true });
  // The two bpfkit:tick sites have different specs (-4@-8(%rbp) vs -4@$99): two programs, one site each.
  assert.equal(c.probes.length, 2);
  assert.equal(c.attachCount, 2);
  const out = await runText(`usdt:${T.exe}:bpfkit:tick { printf("%d %d %d\\n", arg0, *(int64 *)arg1, (int64)arg2); }`, { command: `${T.exe} 3` });
  // Two rounds of tick(i, &x, -7) for i = 0..2 (x += i first), then tick(99, &x, -7).
  assert.equal(out, 'Attaching 2 probes...\n0 1000 -7\n1 1001 -7\n2 1003 -7\n99 1003 -7\n0 1003 -7\n1 1004 -7\n2 1006 -7\n99 1006 -7\n\n\n');
});

test('usdt -p PID: a semaphore-gated probe in a shared library fires only while attached, exact arguments', { skip: skipT }, async () => {
  if ('skip' in T) return;
  const child = spawn(T.exe, ['3'], { stdio: ['pipe', 'pipe', 'ignore'] });
  let text = '';
  const lines: string[] = [];
  let waiter: (() => void) | undefined;
  child.stdin.on('error', () => {});
  child.stdout.on('data', (d) => {
    text += d;
    const parts = text.split('\n');
    text = parts.pop()!;
    lines.push(...parts);
    waiter?.();
  });
  const line = async (n: number) => {
    while (lines.length < n) await new Promise<void>((r) => (waiter = r));
    return lines[n - 1]!;
  };
  try {
    assert.equal(await line(1), 'ready sema=0');
    // By library name: found among the files the process maps.
    const ac = new AbortController();
    // Plus usym(reg("ip")) (the process is alive when the maps are printed) and uaddr() of a PIE's static variable.
    const run = runText(`usdt:libbpfkit_usdt:bpfkit:gated { @[arg0, arg1, arg2, arg3] = sum(arg0 + 1); @f[usym(reg("ip"))] = count(); } usdt:${T.exe}:bpfkit:tick { @x[*uaddr("x") == *(int64 *)arg1, sizeof(*uaddr("x"))] = count(); }`, {
      pid: child.pid,
      signal: ac.signal,
      onAttached: () => child.stdin.write('x'),
    });
    // The kernel counted the semaphore up in the process while the uprobe was attached: every call fired.
    assert.equal(await line(2), 'done sema=1 gated=3');
    ac.abort();
    const out = await run;
    // gated(v, (short)-v, (unsigned char)(200 + v), (u64)v << 40) for v = 0, 1, 2.
    assert.equal(out, 'Attaching 3 probes...\n\n\n@[0, 0, 200, 0]: 1\n@[1, -1, 201, 1099511627776]: 2\n@[2, -2, 202, 2199023255552]: 3\n@f[bpfkit_gated]: 3\n@x[1, 8]: 4\n');
    // Detached: the semaphore is back to 0 and the library skips the probe.
    child.stdin.end('y');
    assert.equal(await line(3), 'again sema=0 gated=0');
  } finally {
    child.kill();
  }
});

test('usdt errors: bad spec, no such probe, argument out of range, func', { skip: skipU }, () => {
  assert.throws(() => compileScript(`usdt:${U}:a:b:c { exit(); }`), /stdin:1:1-\d+: ERROR: usdt probe type requires 2 or 3 arguments$/);
  assert.throws(() => compileScript(`usdt:${U}:tprov:nope { exit(); }`), new RegExp(`ERROR: Error finding location for probe: usdt:${U}:tprov:nope$`));
  assert.throws(() => compileScript(`usdt:${U}:tprov:done { @ = arg2; }`), new RegExp(`stdin:1:\\d+-\\d+: ERROR: couldn't get argument 2 for ${U}:tprov:done$`));
  assert.throws(() => compileScript(`usdt:${U}:mark { @ = arg0; }`), /couldn't get argument 0 for .*:other:mark$/);
  assert.throws(() => compileScript(`usdt:${U}:mark { printf("%s", func); }`), /The func builtin can not be used with 'usdt' probes/);
  assert.throws(() => compileScript(`usdt:/nonexistent/bin:x { exit(); }`), /cannot read the USDT probes of \/nonexistent\/bin/);
});
