/**
 * sizeof(), offsetof(), kaddr(), reg() and stacks as printf arguments on the real kernel: sizes and offsets
 * from script structs and kernel BTF checked by reading memory through them, kernel symbols round-tripped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileScript } from '../../src/trace/compile.js';
import { noKernel, runText, testBinary } from './fixtures.js';

const bin = testBinary();
const skipChild = noKernel ?? (bin ? undefined : 'gcc cannot build the test binary');

test('sizeof and offsetof: script structs, kernel BTF (nested fields), expressions', { skip: noKernel }, async () => {
  const out = await runText(
    'struct foo { int a; char b[3]; long c; struct foo *n; } BEGIN { printf("%d %d %d %d %d %d %d\\n", sizeof(struct foo), offsetof(struct foo, c), offsetof(struct foo, n), sizeof("abc"), sizeof(comm), sizeof((int16)1), sizeof(uint8)); ' +
      '@pid = *(int32 *)((uint64)curtask + offsetof(struct task_struct, pid)) == curtask->pid; ' +
      '@w = *(uint64 *)((uint64)curtask + offsetof(struct task_struct, se.load.weight)) == curtask->se.load.weight; ' +
      '@o = offsetof(*curtask, comm) == offsetof(struct task_struct, comm); @z = sizeof(curtask->comm); exit(); }',
  );
  assert.equal(out, 'Attaching 1 probe...\n24 8 16 4 16 2 1\n\n\n@o: 1\n@pid: 1\n@w: 1\n@z: 16\n');
  assert.throws(() => compileScript('BEGIN { @ = offsetof(struct task_struct, nope); }'), /'struct task_struct' has no field named 'nope'/);
  assert.throws(() => compileScript('BEGIN { @ = sizeof(struct nope_nope); }'), /Unknown struct\/union: 'struct nope_nope'/);
});

test('kaddr(): kernel symbols round-trip through ksym(); unknown ones are errors', { skip: noKernel }, async () => {
  const out = await runText('BEGIN { printf("%s %s\\n", ksym(kaddr("do_nanosleep")), ksym(kaddr("vfs_read"))); exit(); }');
  assert.equal(out, 'Attaching 1 probe...\ndo_nanosleep vfs_read\n\n\n');
  assert.throws(() => compileScript('BEGIN { @ = kaddr("nope_nope_nope"); }'), /Failed to resolve kernel symbol: nope_nope_nope/);
  assert.throws(() => compileScript('BEGIN { @ = kaddr(comm); }'), /kaddr\(\) expects a string literal \(string provided\)/);
  assert.throws(() => compileScript('BEGIN { @ = uaddr("x"); }'), /uaddr can not be used with "BEGIN" probes/);
});

test('kstack as a printf %s argument; reg("di") in a uprobe is arg0 (x86-64)', { skip: skipChild ?? (process.arch === 'x64' ? undefined : 'x86-64 register names') }, async () => {
  const out = await runText(`uprobe:${bin}:work { @r = sum(reg("di") == arg0); @n = count(); } tracepoint:syscalls:sys_enter_getpid /pid == cpid/ { printf("%s|%d\\n", kstack, 1); }`, { command: `${bin} 1` });
  assert.match(out, /^Attaching 2 probes\.\.\.\n\n( {8}[\w.]+\+\d+\n)+\|1\n\n\n@n: 8\n@r: 8\n$/);
  assert.match(out, /do_syscall_64\+\d+\n/);
});
