import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  compileSeccomp,
  runClassic,
  seccompDataBytes,
  syscallNumber,
  spawnUnderSeccomp,
  waitChild,
  AuditArch,
  SeccompRet,
  validateFilter,
  hostSeccompArch,
  type SeccompPolicy,
} from '../../src/cbpf/index.js';
import { SYSCALLS_X86_64 } from '../../src/isa/syscalls-x86_64.js';
import { SYSCALLS_AARCH64 } from '../../src/isa/syscalls-aarch64.js';
import { CbpfError } from '../../src/errors.js';

const decide = (prog: ReturnType<typeof compileSeccomp>, d: Parameters<typeof seccompDataBytes>[0]) => runClassic(prog, seccompDataBytes(d)) >>> 0;

test('syscall tables come from the UAPI headers', () => {
  assert.equal(SYSCALLS_X86_64.read, 0);
  assert.equal(SYSCALLS_X86_64.mkdir, 83);
  assert.equal(SYSCALLS_X86_64.bpf, 321);
  assert.equal(SYSCALLS_AARCH64.mkdirat, 34);
  assert.equal(SYSCALLS_AARCH64.bpf, 280);
  assert.equal(SYSCALLS_AARCH64.fstat, 80);
  assert.equal(SYSCALLS_AARCH64.mkdir, undefined);
});

test('actions, default action, arch check and x32 rejection', () => {
  const arch = hostSeccompArch();
  const policy: SeccompPolicy = {
    defaultAction: 'allow',
    syscalls: [
      { names: ['getpid'], action: 'errno(EPERM)' },
      { names: ['getppid'], action: { errno: 13 } },
      { names: ['gettid'], action: 'kill_process' },
      { names: ['getuid'], action: 'kill_thread' },
      { names: ['getgid'], action: 'trap' },
      { names: ['geteuid'], action: 'trace(7)' },
      { names: ['getegid'], action: 'log' },
    ],
  };
  const prog = compileSeccomp(policy);
  validateFilter(prog, { noAncillary: true });
  const nr = (n: string) => syscallNumber(n, arch)!;
  assert.equal(decide(prog, { nr: nr('getpid') }), (SeccompRet.ERRNO | 1) >>> 0);
  assert.equal(decide(prog, { nr: nr('getppid') }), (SeccompRet.ERRNO | 13) >>> 0);
  assert.equal(decide(prog, { nr: nr('gettid') }), SeccompRet.KILL_PROCESS >>> 0);
  assert.equal(decide(prog, { nr: nr('getuid') }), SeccompRet.KILL_THREAD);
  assert.equal(decide(prog, { nr: nr('getgid') }), SeccompRet.TRAP);
  assert.equal(decide(prog, { nr: nr('geteuid') }), (SeccompRet.TRACE | 7) >>> 0);
  assert.equal(decide(prog, { nr: nr('getegid') }), SeccompRet.LOG);
  assert.equal(decide(prog, { nr: nr('read') }), SeccompRet.ALLOW);
  assert.equal(decide(prog, { nr: nr('read'), arch: 0x40000003 /* i386 */ }), SeccompRet.KILL_PROCESS >>> 0);
  if (arch === 'x86_64') assert.equal(decide(compileSeccomp({ defaultAction: 'errno(38)', syscalls: [{ names: ['read'], action: 'allow' }] }), { nr: 0x40000000 }), (SeccompRet.ERRNO | 38) >>> 0);
});

test('several architectures use their own syscall numbers', () => {
  const prog = compileSeccomp({ defaultAction: 'allow', architectures: ['x86_64', 'aarch64'], syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'errno(1)' }] });
  const EPERM = (SeccompRet.ERRNO | 1) >>> 0;
  assert.equal(decide(prog, { nr: 83, arch: AuditArch.X86_64 }), EPERM);
  assert.equal(decide(prog, { nr: 258, arch: AuditArch.X86_64 }), EPERM);
  assert.equal(decide(prog, { nr: 34, arch: AuditArch.AARCH64 }), EPERM);
  assert.equal(decide(prog, { nr: 83, arch: AuditArch.AARCH64 }), SeccompRet.ALLOW);
});

test('64-bit argument comparisons on both halves', () => {
  const arch = hostSeccompArch();
  const nr = syscallNumber('write', arch)!;
  const mk = (op: string, value: number | string, valueTwo?: number | string) =>
    compileSeccomp({ defaultAction: 'allow', syscalls: [{ names: ['write'], action: 'errno(1)', args: [{ index: 2, op: op as never, value, ...(valueTwo !== undefined ? { valueTwo } : {}) }] }] });
  const hit = (prog: ReturnType<typeof mk>, v: bigint) => decide(prog, { nr, args: [0, 0, v] }) !== SeccompRet.ALLOW;
  const big = 0x1_0000_0005n;
  const values = [0n, 4n, 5n, 6n, 0xffffffffn, 0x1_0000_0000n, big, big + 1n, 0xffff_ffff_ffff_ffffn];
  const ref: Record<string, (a: bigint, b: bigint) => boolean> = {
    '==': (a, b) => a === b,
    '!=': (a, b) => a !== b,
    '<': (a, b) => a < b,
    '<=': (a, b) => a <= b,
    '>': (a, b) => a > b,
    '>=': (a, b) => a >= b,
  };
  for (const [op, f] of Object.entries(ref)) {
    for (const bound of [5n, big, 0xffffffffn]) {
      const prog = mk(op, `0x${bound.toString(16)}`);
      for (const v of values) assert.equal(hit(prog, v), f(v, bound), `${v} ${op} ${bound}`);
    }
  }
  const masked = mk('&', '0xff00000000000f0f', '0x0100000000000101');
  assert.equal(hit(masked, 0x02aa000000000101n), false);
  assert.equal(hit(masked, 0x0100000000000102n), false);
  assert.equal(hit(masked, 0x0100ffff0000f1f1n), true);
  const anyBit = mk('&', '0x100000000');
  assert.equal(hit(anyBit, 0x100000000n), true);
  assert.equal(hit(anyBit, 0xffffffffn), false);
  assert.equal(hit(mk('==', -1), 0xffff_ffff_ffff_ffffn), true);
});

test('rules are tried in order; arguments must all match', () => {
  const arch = hostSeccompArch();
  const prog = compileSeccomp({
    defaultAction: 'kill_process',
    syscalls: [
      { names: ['openat'], action: 'errno(2)', args: [{ index: 2, op: '&', value: 3, valueTwo: 1 }, { index: 0, op: '==', value: -100 }] },
      { names: ['openat', 'read'], action: 'allow' },
    ],
  });
  const nr = syscallNumber('openat', arch)!;
  assert.equal(decide(prog, { nr, args: [BigInt.asUintN(64, -100n), 0, 1] }), (SeccompRet.ERRNO | 2) >>> 0);
  assert.equal(decide(prog, { nr, args: [3, 0, 1] }), SeccompRet.ALLOW);
  assert.equal(decide(prog, { nr, args: [BigInt.asUintN(64, -100n), 0, 2] }), SeccompRet.ALLOW);
  assert.equal(decide(prog, { nr: syscallNumber('write', arch)! }), SeccompRet.KILL_PROCESS >>> 0);
});

test('bad policies are CbpfErrors naming the field', () => {
  const bad = (p: unknown, re: RegExp) => assert.throws(() => compileSeccomp(p as SeccompPolicy), (e: unknown) => e instanceof CbpfError && re.test((e as Error).message));
  bad({ syscalls: [] }, /defaultAction is missing/);
  bad({ defaultAction: 'maybe', syscalls: [] }, /defaultAction: unknown action 'maybe'/);
  bad({ defaultAction: 'allow', syscalls: [{ names: ['nosuchcall'], action: 'allow' }] }, /unknown system call 'nosuchcall'/);
  bad({ defaultAction: 'allow', syscalls: [{ names: [], action: 'allow' }] }, /syscalls\[0\]\.names/);
  bad({ defaultAction: 'allow', syscalls: [{ names: ['read'], action: 'errno(99999)' }] }, /bad errno/);
  bad({ defaultAction: 'allow', syscalls: [{ names: ['read'], action: 'allow', args: [{ index: 6, op: '==', value: 1 }] }] }, /args\[0\]\.index/);
  bad({ defaultAction: 'allow', syscalls: [{ names: ['read'], action: 'allow', args: [{ index: 0, op: '~', value: 1 }] }] }, /unknown operator/);
  bad({ defaultAction: 'allow', architectures: ['mips'], syscalls: [] }, /unknown architecture 'mips'/);
});

const mkdirCall = hostSeccompArch() === 'x86_64' ? ['mkdir', 'mkdirat'] : ['mkdirat'];
test('seccomp run: errno(EPERM) makes mkdir fail, kill_process kills with SIGSYS, others run normally', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-seccomp-'));
  try {
    const deny = compileSeccomp({ defaultAction: 'allow', syscalls: [{ names: mkdirCall, action: 'errno(EPERM)' }] });
    const c1 = spawnUnderSeccomp(deny, 'mkdir', [join(dir, 'a')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c1.stderr!.on('data', (d) => (err += d));
    const e1 = await waitChild(c1);
    assert.equal(e1.code, 1);
    assert.match(err, /Operation not permitted/);
    assert.equal(existsSync(join(dir, 'a')), false);

    const kill = compileSeccomp({ defaultAction: 'allow', syscalls: [{ names: mkdirCall, action: 'kill_process' }] });
    const e2 = await waitChild(spawnUnderSeccomp(kill, 'mkdir', [join(dir, 'b')], { stdio: 'ignore' }));
    assert.equal(e2.signal, 'SIGSYS');
    assert.equal(existsSync(join(dir, 'b')), false);

    const e3 = await waitChild(spawnUnderSeccomp(deny, 'sh', ['-c', `echo ok > ${join(dir, 'c')}`], { stdio: 'ignore' }));
    assert.equal(e3.code, 0);
    assert.equal(existsSync(join(dir, 'c')), true);
    const e4 = await waitChild(spawnUnderSeccomp(kill, 'mkdir', [join(dir, 'd'), '--help'].slice(1), { stdio: 'ignore' }));
    assert.equal(e4.code, 0, 'mkdir --help makes no mkdir call');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bpfkit seccomp CLI: compile and run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-seccomp-cli-'));
  try {
    const pol = join(dir, 'p.json');
    writeFileSync(pol, JSON.stringify({ defaultAction: 'allow', syscalls: [{ names: mkdirCall, action: 'errno(1)' }] }));
    const bin = resolve('bin/bpfkit.js');
    const c = spawnSync(process.execPath, [bin, 'seccomp', 'compile', pol, '-d'], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, /^\(000\) ld       \[4\]\n/);
    assert.match(c.stdout, /ret      #327681/);
    const r = spawnSync(process.execPath, [bin, 'seccomp', 'run', pol, '--', 'mkdir', join(dir, 'x')], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Operation not permitted/);
    const bad = spawnSync(process.execPath, [bin, 'seccomp', 'compile', join(dir, 'missing.json')], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^error: /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
