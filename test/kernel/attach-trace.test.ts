/**
 * Tracing attachments against the real kernel: load → attach → trigger → read → detach for tracepoints,
 * raw tracepoints, tp_btf, uprobes / uretprobes (libc getpid in a child process) and perf sampling events.
 * kprobe / ksyscall / kprobe.multi / fentry / LSM skip with the feature probe's reason (and check the typed
 * error this kernel gives).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { KernelError } from '../../src/errors.js';
import { AttachType, MapType, ProgType } from '../../src/isa/uapi.js';
import { KernelMap } from '../../src/kernel/maps/map.js';
import { loadInsns, type KernelProgram } from '../../src/kernel/load/program.js';
import { attachTracepoint } from '../../src/kernel/link/tracepoint.js';
import { attachRawTracepoint } from '../../src/kernel/link/raw-tracepoint.js';
import { attachTracing } from '../../src/kernel/link/tracing.js';
import { attachUprobe } from '../../src/kernel/link/uprobe.js';
import { attachKprobe, attachKprobeMulti, attachKsyscall } from '../../src/kernel/link/kprobe.js';
import { attachPerfEvent } from '../../src/kernel/link/perf-event.js';
import { PerfHwConfig, PerfType } from '../../src/kernel/sys/perf.js';
import { closeLinks, type Link } from '../../src/kernel/link/link.js';
import { resolveLibrary } from '../../src/kernel/link/libpath.js';
import { symbolOffset } from '../../src/kernel/link/elf-symbols.js';
import { objectIds } from '../../src/kernel/info/ids.js';
import * as features from '../../src/kernel/features/probe.js';
import { getpid } from '../../src/kernel/sys/net.js';
import { counterProgram, readU64, u32, waitFor } from './fixtures.js';

const closers: { close(): void }[] = [];
after(() => {
  for (const c of closers.reverse()) c.close();
});

function counter(type: number, opts: { tgid?: number; expectedAttachType?: number; attachTo?: string } = {}): { map: KernelMap; prog: KernelProgram; count(): bigint } {
  const map = KernelMap.create({ name: 'bk_trace_cnt', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 });
  closers.push(map);
  const prog = loadInsns(type, counterProgram(map.fd, { tgid: opts.tgid }), { name: 'bk_trace', expectedAttachType: opts.expectedAttachType, attachTo: opts.attachTo });
  closers.push(prog);
  return { map, prog, count: () => readU64(map.lookup(u32(0))) };
}

function callGetpid(n: number): void {
  for (let i = 0; i < n; i++) getpid();
}

test('tracepoint syscalls:sys_enter_getpid counts this process’s getpid calls, then detaches', async (t) => {
  const f = features.tracepoints();
  if (!f.ok) return void t.skip(f.reason);
  const { prog, count } = counter(ProgType.TRACEPOINT, { tgid: process.pid });
  const link = attachTracepoint(prog, 'syscalls', 'sys_enter_getpid');
  assert.equal(link.kind, 'tracepoint');
  callGetpid(100);
  assert.ok(count() >= 100n, `count ${count()}`);
  const info = link.info();
  if (info) assert.equal(info.typeName, 'perf_event');
  await link.closeAsync();
  assert.equal(link.closed, true);
  const before = count();
  callGetpid(50);
  assert.equal(count(), before);
});

test('tracepoint: unknown tracepoint is a typed ENOENT', () => {
  const { prog } = counter(ProgType.TRACEPOINT);
  assert.throws(() => attachTracepoint(prog, 'syscalls', 'sys_enter_nope'), (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOENT');
});

test('raw tracepoint sys_enter: counts, shows in link info and ids, detaches', () => {
  const { prog, count } = counter(ProgType.RAW_TRACEPOINT, { tgid: process.pid });
  const link = attachRawTracepoint(prog, 'sys_enter');
  callGetpid(100);
  assert.ok(count() >= 100n, `count ${count()}`);
  const info = link.info();
  assert.equal(info.typeName, 'raw_tracepoint');
  assert.equal(info.details.tp_name, 'sys_enter');
  assert.equal(info.progId, prog.id);
  assert.ok([...objectIds('link')].includes(info.id));
  link.close();
  const before = count();
  callGetpid(20);
  assert.equal(count(), before);
});

test('tp_btf sys_enter (BTF-typed raw tracepoint)', (t) => {
  const f = features.tpBtf();
  if (!f.ok) return void t.skip(f.reason);
  const { prog, count } = counter(ProgType.TRACING, { tgid: process.pid, expectedAttachType: AttachType.TRACE_RAW_TP, attachTo: 'sys_enter' });
  const link = attachTracing(prog);
  callGetpid(100);
  assert.ok(count() >= 100n, `count ${count()}`);
  // The kernel reports tp_btf links as raw tracepoint links (bpf_raw_tp_link), fentry & co as tracing links.
  assert.equal(link.info().typeName, 'raw_tracepoint');
  assert.equal(link.info().details.tp_name, 'sys_enter');
  link.close();
});

const python = ['/usr/bin/python3', '/usr/local/bin/python3'].find(existsSync);

async function childCallingGetpid(n: number, attach: (pid: number) => Link | Promise<Link>): Promise<Link> {
  const child = spawn(python!, ['-c', `import os, sys, time\nsys.stdin.readline()\nfor _ in range(${n}): os.getpid()\n`], { stdio: ['pipe', 'ignore', 'inherit'] });
  await new Promise((r) => child.once('spawn', r));
  try {
    const link = await attach(child.pid!);
    child.stdin!.end('go\n');
    await new Promise((r) => child.once('exit', r));
    return link;
  } catch (e) {
    child.kill();
    throw e;
  }
}

test('uprobe and uretprobe on libc getpid in a child process', { skip: python ? false : 'python3 not installed' }, async (t) => {
  const f = features.uprobes();
  if (!f.ok) return void t.skip(f.reason);
  const libc = resolveLibrary('libc.so.6');
  assert.ok(symbolOffset(libc, 'getpid') > 0);
  for (const retprobe of [false, true]) {
    const { prog, count } = counter(ProgType.KPROBE);
    const link = await childCallingGetpid(500, (pid) => attachUprobe(prog, { binary: 'libc.so.6', symbol: 'getpid', pid, retprobe }));
    assert.equal(link.kind, retprobe ? 'uretprobe' : 'uprobe');
    assert.ok(count() >= 500n, `${link.kind} count ${count()}`);
    // Our own getpid calls are not counted: the probe is bound to the child.
    const before = count();
    callGetpid(10);
    assert.equal(count(), before);
    await link.closeAsync();
  }
});

test('uprobe on a missing symbol / library is a typed ENOENT', () => {
  const { prog } = counter(ProgType.KPROBE);
  assert.throws(() => attachUprobe(prog, { binary: 'libc.so.6', symbol: 'no_such_function_xyz' }), (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOENT');
  assert.throws(() => attachUprobe(prog, { binary: '/nonexistent/lib.so', symbol: 'x' }), (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOENT');
});

test('perf_event: software CPU clock sampling on every CPU, closed concurrently', async (t) => {
  const f = features.perfEvents();
  if (!f.ok) return void t.skip(f.reason);
  const { prog, count } = counter(ProgType.PERF_EVENT);
  const links = attachPerfEvent(prog, { frequency: 1000 });
  assert.ok(links.links.length >= 1);
  const end = Date.now() + 150;
  while (Date.now() < end) {
    /* keep a CPU busy */
  }
  await waitFor(() => count() > 0n, 1000);
  assert.ok(count() > 0n, `samples ${count()}`);
  const t0 = performance.now();
  await closeLinks([links]);
  const ms = performance.now() - t0;
  assert.equal(links.closed, true);
  const before = count();
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(count() - before <= BigInt(links.links.length), 'no samples after close');
  assert.ok(ms < 5000, `close took ${ms} ms`);
});

test('perf_event: hardware CPU-cycles sampling on every CPU', async (t) => {
  const f = features.hardwarePerfEvents();
  const { prog, count } = counter(ProgType.PERF_EVENT);
  if (!f.ok) {
    // No PMU (a VM): the attach fails with a typed error naming the errno, then the test reports the skip.
    assert.throws(
      () => attachPerfEvent(prog, { type: PerfType.HARDWARE, config: PerfHwConfig.CPU_CYCLES, frequency: 1000 }),
      (e: unknown) => e instanceof KernelError && /^E[A-Z]+$/.test(e.errnoName ?? ''),
    );
    return void t.skip(f.reason);
  }
  const links = attachPerfEvent(prog, { type: PerfType.HARDWARE, config: PerfHwConfig.CPU_CYCLES, frequency: 1000 });
  const end = Date.now() + 150;
  while (Date.now() < end) {
    /* keep a CPU busy */
  }
  await waitFor(() => count() > 0n, 1000);
  assert.ok(count() > 0n, `samples ${count()}`);
  await closeLinks([links]);
  assert.equal(links.closed, true);
});

test('kprobe / kretprobe / ksyscall', (t) => {
  const f = features.kprobes();
  const { prog, count } = counter(ProgType.KPROBE, { tgid: process.pid });
  if (!f.ok) {
    // This kernel has no kprobes: the attach fails with a typed error, then the test reports the skip.
    assert.throws(() => attachKprobe(prog, 'do_sys_openat2'), (e: unknown) => e instanceof KernelError);
    assert.throws(() => attachKsyscall(prog, 'getpid'), (e: unknown) => e instanceof KernelError);
    return void t.skip(f.reason);
  }
  const link = attachKsyscall(prog, 'getpid');
  callGetpid(50);
  assert.ok(count() >= 50n);
  link.close();
});

test('kprobe.multi', (t) => {
  const f = features.kprobes();
  if (!f.ok) return void t.skip(f.reason);
  const { prog } = counter(ProgType.KPROBE, { expectedAttachType: AttachType.TRACE_KPROBE_MULTI });
  const link = attachKprobeMulti(prog, ['do_sys_openat2']);
  link.close();
});

test('fentry / fexit', (t) => {
  const f = features.fentry();
  if (!f.ok) {
    assert.throws(
      () => counter(ProgType.TRACING, { expectedAttachType: AttachType.TRACE_FENTRY, attachTo: 'bpf_fentry_test1' }),
      (e: unknown) => e instanceof KernelError && e.errnoName === 'EPERM',
    );
    return void t.skip(f.reason);
  }
  const { prog } = counter(ProgType.TRACING, { expectedAttachType: AttachType.TRACE_FENTRY, attachTo: 'do_sys_openat2' });
  attachTracing(prog).close();
});

test('LSM', (t) => {
  const f = features.lsm();
  if (!f.ok) return void t.skip(f.reason);
  const { prog } = counter(ProgType.LSM, { expectedAttachType: AttachType.LSM_MAC, attachTo: 'file_open' });
  attachTracing(prog).close();
});
