/**
 * Event streams against the real kernel: ring buffer records (drain, callback via poll wake-ups, async
 * iteration, discarded records, wrap-around), a ring buffer fed by a real tracepoint, and the perf event
 * array reader (samples and per-CPU rings).
 */
import { test, after } from 'node:test';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import assert from 'node:assert/strict';
import { HelperId } from '../../src/isa/helpers.js';
import { insn, lddw } from '../../src/isa/insn.js';
import { PseudoLd } from '../../src/isa/opcodes.js';
import { MapType, ProgType } from '../../src/isa/uapi.js';
import { KernelMap } from '../../src/kernel/maps/map.js';
import { loadInsns, type KernelProgram } from '../../src/kernel/load/program.js';
import { RingBuffer } from '../../src/kernel/ringbuf/reader.js';
import { PerfReader } from '../../src/kernel/perf/reader.js';
import { attachRawTracepoint } from '../../src/kernel/link/raw-tracepoint.js';
import { onlineCpus, possibleCpus } from '../../src/kernel/sys/fs.js';
import { getpid } from '../../src/kernel/sys/net.js';
import { perfOutputProgram, readU64, ringbufProgram, waitFor } from './fixtures.js';

const closers: { close(): unknown }[] = [];
after(async () => {
  for (const c of closers.reverse()) await c.close();
});

const PKT = Buffer.alloc(64);

function ringbuf(size = 1 << 16): KernelMap {
  const m = KernelMap.create({ name: 'bk_ev_rb', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: size, flags: 0 });
  closers.push(m);
  return m;
}

test('ring buffer: drain delivers every record in order with zero-copy views', () => {
  const rb = ringbuf();
  const prog = loadInsns(ProgType.SOCKET_FILTER, ringbufProgram(rb.fd, { value: 42 }), { name: 'bk_ev_rb' });
  closers.push(prog);
  const reader = new RingBuffer(rb);
  closers.push(reader);
  prog.testRun({ data: PKT, repeat: 1000 });
  assert.equal(reader.available(), 1000 * 16);
  const values: bigint[] = [];
  assert.equal(reader.drain((r) => values.push(readU64(r))), 1000);
  assert.equal(values.length, 1000);
  assert.ok(values.every((v) => v === 42n));
  assert.equal(reader.available(), 0);
  assert.equal(reader.read(), undefined);
  // Many passes around the ring: records stay contiguous across the wrap.
  for (let i = 0; i < 10; i++) {
    prog.testRun({ data: PKT, repeat: 3000 });
    let n = 0;
    reader.drain((r) => {
      assert.equal(r.length, 8);
      assert.equal(readU64(r), 42n);
      n++;
    });
    assert.equal(n, 3000);
  }
  assert.equal(reader.stats.records, 31000);
});

test('ring buffer: discarded records are skipped and counted', () => {
  const rb = ringbuf();
  const discard = loadInsns(
    ProgType.SOCKET_FILTER,
    [
      ...lddw(1, rb.fd, PseudoLd.MAP_FD),
      insn(0xb7, 2, 0, 0, 8),
      insn(0xb7, 3, 0, 0, 0),
      insn(0x85, 0, 0, 0, HelperId.ringbuf_reserve!),
      insn(0x15, 0, 0, 3, 0),
      insn(0xbf, 1, 0),
      insn(0xb7, 2, 0, 0, 0),
      insn(0x85, 0, 0, 0, HelperId.ringbuf_discard!),
      insn(0xb7, 0, 0, 0, 0),
      insn(0x95),
    ],
    { name: 'bk_ev_disc' },
  );
  closers.push(discard);
  const keep = loadInsns(ProgType.SOCKET_FILTER, ringbufProgram(rb.fd, { value: 7 }), { name: 'bk_ev_keep' });
  closers.push(keep);
  const reader = new RingBuffer(rb);
  closers.push(reader);
  discard.testRun({ data: PKT, repeat: 5 });
  keep.testRun({ data: PKT, repeat: 2 });
  const got: bigint[] = [];
  reader.drain((r) => got.push(readU64(r)));
  assert.deepEqual(got, [7n, 7n]);
  assert.equal(reader.stats.discarded, 5);
});

test('ring buffer: callback mode is woken by the kernel (poll) and drains', async () => {
  const rb = ringbuf();
  const prog = loadInsns(ProgType.SOCKET_FILTER, ringbufProgram(rb.fd, { value: 9 }), { name: 'bk_ev_cb' });
  closers.push(prog);
  const reader = new RingBuffer(rb, { coalesceMs: 1 });
  closers.push(reader);
  let n = 0;
  reader.start(() => n++);
  for (let i = 0; i < 5; i++) {
    prog.testRun({ data: PKT, repeat: 200 });
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(await waitFor(() => n === 1000, 2000), `got ${n}`);
  assert.ok(reader.stats.wakeups >= 1);
  reader.stop();
});

test('ring buffer: timer mode and async iteration', async () => {
  const rb = ringbuf();
  const prog = loadInsns(ProgType.SOCKET_FILTER, ringbufProgram(rb.fd, { value: 5 }), { name: 'bk_ev_it' });
  closers.push(prog);
  const reader = new RingBuffer(rb, { wait: 'timer', timerMs: 2 });
  closers.push(reader);
  setTimeout(() => prog.testRun({ data: PKT, repeat: 10 }), 10);
  let n = 0;
  for await (const rec of reader) {
    assert.equal(readU64(rec), 5n);
    if (++n === 10) break;
  }
  assert.equal(n, 10);
});

test('ring buffer fed by a real event (raw tracepoint sys_enter, our tgid)', async () => {
  const rb = ringbuf();
  // tgid in the record; filter to this process in user space.
  const prog = loadInsns(ProgType.RAW_TRACEPOINT, ringbufProgram(rb.fd, { tgid: true }), { name: 'bk_ev_tp' });
  closers.push(prog);
  const reader = new RingBuffer(rb);
  closers.push(reader);
  let mine = 0;
  reader.start((r) => {
    if (readU64(r) === BigInt(process.pid)) mine++;
  });
  const link = attachRawTracepoint(prog, 'sys_enter');
  for (let i = 0; i < 100; i++) getpid();
  link.close();
  assert.ok(await waitFor(() => mine >= 100, 2000), `saw ${mine}`);
});

/** A perf event array (one slot per possible CPU), a raw_tp program writing `value` to it, and its reader. */
function perfSetup(names: [map: string, prog: string], value: number, pagesPerCpu: number): { prog: KernelProgram; reader: PerfReader } {
  const pea = KernelMap.create({ name: names[0], type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: possibleCpus().length, flags: 0 });
  closers.push(pea);
  const prog = loadInsns(ProgType.RAW_TRACEPOINT, perfOutputProgram(pea.fd, value), { name: names[1] });
  closers.push(prog);
  const reader = new PerfReader(pea, { pagesPerCpu });
  closers.push(reader);
  return { prog, reader };
}

test('perf event array reader: samples from bpf_perf_event_output', async () => {
  const { prog, reader } = perfSetup(['bk_ev_pea', 'bk_ev_perf'], 1234, 8);
  let n = 0;
  const seenCpus = new Set<number>();
  reader.start((s) => {
    assert.equal(readU64(s.data.subarray(0, 8)), 1234n);
    seenCpus.add(s.cpu);
    n++;
  });
  const link = attachRawTracepoint(prog, 'sys_enter');
  for (let i = 0; i < 200; i++) getpid();
  link.close();
  assert.ok(await waitFor(() => n >= 200, 2000), `samples ${n}`);
  assert.ok([...seenCpus].every((c) => onlineCpus().includes(c)));
  assert.equal(reader.stats.lost, 0);
  await reader.close();
});

test('perf event array reader: a full ring reports lost samples', async () => {
  const { prog, reader } = perfSetup(['bk_ev_pea2', 'bk_ev_lost'], 1, 1);
  let link = attachRawTracepoint(prog, 'sys_enter');
  // 4 KiB rings, 24-byte samples: ~170 fit; make far more without draining.
  for (let i = 0; i < 3000; i++) getpid();
  link.close();
  const n = reader.drain(() => {});
  assert.ok(n > 0 && n < 3000, `drained ${n}`);
  // The kernel writes its PERF_RECORD_LOST into a CPU's ring with the next sample there once there is room again.
  // We may have migrated between CPUs meanwhile, so make a few syscalls on every online CPU (taskset children).
  const taskset = ['/usr/bin/taskset', '/bin/taskset'].find(existsSync);
  for (let attempt = 0; attempt < 20 && reader.stats.lost <= 1000; attempt++) {
    link = attachRawTracepoint(prog, 'sys_enter');
    if (taskset) for (const cpu of onlineCpus()) spawnSync(taskset, ['-c', String(cpu), '/bin/true']);
    for (let i = 0; i < 20; i++) getpid();
    link.close();
    reader.drain(() => {});
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(reader.stats.lost > 1000, `lost ${reader.stats.lost}`);
  await reader.close();
});
