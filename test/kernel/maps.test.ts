/**
 * Kernel map semantics for every common map type, against the real kernel: update flags, missing keys,
 * iteration, batches, per-CPU values, LRU eviction, LPM matching, queue/stack order, bloom filters, storage
 * maps (with a tiny BTF), map-in-map, freezing, pinning, typed views and typed errors.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { KernelError } from '../../src/errors.js';
import { MapType, Uapi } from '../../src/isa/uapi.js';
import { UpdateFlags } from '../../src/spec/map.js';
import { KernelMap } from '../../src/kernel/maps/map.js';
import { TypedMap, codecs } from '../../src/kernel/maps/typed.js';
import { loadBtf } from '../../src/kernel/load/btf-load.js';
import { loadInsns } from '../../src/kernel/load/program.js';
import { objectIds } from '../../src/kernel/info/ids.js';
import { possibleCpus } from '../../src/kernel/sys/fs.js';
import { bindInet, closeFd, socket, AF_INET, SOCK_DGRAM } from '../../src/kernel/sys/net.js';
import { insn } from '../../src/isa/insn.js';
import { makeCgroup, readU32, readU64, tinyBtf, u32, u64 } from './fixtures.js';

const opened: { close(): void }[] = [];
function mk(type: number, keySize: number, valueSize: number, maxEntries: number, flags = 0, extra: Partial<Parameters<typeof KernelMap.create>[0]> = {}): KernelMap {
  const m = KernelMap.create({ name: 'bk_maps_t', type, keySize, valueSize, maxEntries, flags, ...extra });
  opened.push(m);
  return m;
}
after(() => {
  for (const o of opened) o.close();
});

function expectErrno(fn: () => unknown, name: string): KernelError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KernelError, `expected KernelError, got ${e}`);
    assert.equal(e.errnoName, name, e.message);
    return e;
  }
  assert.fail(`expected ${name}`);
}

test('hash: ANY / NOEXIST / EXIST, missing keys, delete, full map', () => {
  const m = mk(MapType.HASH, 4, 8, 4);
  assert.equal(m.lookup(u32(1)), undefined);
  m.update(u32(1), u64(10));
  assert.equal(readU64(m.lookup(u32(1))), 10n);
  expectErrno(() => m.update(u32(1), u64(11), UpdateFlags.NOEXIST), 'EEXIST');
  m.update(u32(1), u64(12), UpdateFlags.EXIST);
  assert.equal(readU64(m.lookup(u32(1))), 12n);
  expectErrno(() => m.update(u32(2), u64(1), UpdateFlags.EXIST), 'ENOENT');
  for (let k = 2; k <= 4; k++) m.update(u32(k), u64(k));
  expectErrno(() => m.update(u32(5), u64(5)), 'E2BIG');
  assert.equal(m.delete(u32(4)), true);
  assert.equal(m.delete(u32(4)), false);
  assert.deepEqual([...m.keys()].map(readU32).sort(), [1, 2, 3]);
  assert.deepEqual(new Map([...m.entries()].map(([k, v]) => [readU32(k), readU64(v)])), new Map([[1, 12n], [2, 2n], [3, 3n]]));
  assert.equal(readU64(m.lookupAndDelete(u32(2))), 2n);
  assert.equal(m.lookup(u32(2)), undefined);
});

test('wrong key and value sizes are typed EINVAL errors', () => {
  const m = mk(MapType.HASH, 4, 8, 4);
  const e = expectErrno(() => m.lookup(Buffer.alloc(3)), 'EINVAL');
  assert.match(e.message, /key is 3 bytes/);
  expectErrno(() => m.update(u32(1), Buffer.alloc(4)), 'EINVAL');
});

test('batch lookup / update / delete', () => {
  const m = mk(MapType.HASH, 4, 8, 64);
  const keys = Array.from({ length: 40 }, (_, i) => u32(i + 100));
  assert.equal(m.updateBatch(keys, keys.map((_, i) => u64(i * 2))), 40);
  const seen = new Map<number, bigint>();
  for (const page of m.lookupBatch({ batchSize: 7 })) for (const [k, v] of page) seen.set(readU32(k), readU64(v));
  assert.equal(seen.size, 40);
  assert.equal(seen.get(105), 10n);
  assert.equal(m.deleteBatch(keys.slice(0, 10)), 10);
  assert.equal([...m.keys()].length, 30);
  let drained = 0;
  for (const page of m.lookupBatch({ batchSize: 16, andDelete: true })) drained += page.length;
  assert.equal(drained, 30);
  assert.equal([...m.keys()].length, 0);
});

test('array: fixed keys, delete refused, out of range', () => {
  const m = mk(MapType.ARRAY, 4, 4, 3);
  assert.equal(readU32(m.lookup(u32(2))), 0);
  m.update(u32(2), u32(7));
  assert.equal(readU32(m.lookup(u32(2))), 7);
  expectErrno(() => m.delete(u32(0)), 'EINVAL');
  expectErrno(() => m.update(u32(3), u32(1)), 'E2BIG');
  expectErrno(() => m.update(u32(0), u32(1), UpdateFlags.NOEXIST), 'EEXIST');
  assert.equal([...m.keys()].length, 3);
});

test('per-CPU hash and array: one value per possible CPU, values rounded to 8 bytes', () => {
  const cpus = possibleCpus().length;
  for (const type of [MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH]) {
    const m = mk(type, 4, 4, 4);
    assert.equal(m.valueBufferSize, 8 * cpus);
    m.update(u32(1), u32(5)); // one value for every CPU
    assert.deepEqual(m.lookupPerCpu(u32(1))!.map(readU32), Array(cpus).fill(5));
    m.updatePerCpu(u32(1), Array.from({ length: cpus }, (_, c) => u32(c + 1)));
    assert.deepEqual(m.lookupPerCpu(u32(1))!.map(readU32), Array.from({ length: cpus }, (_, c) => c + 1));
    expectErrno(() => m.updatePerCpu(u32(1), [u32(1)].concat(cpus > 1 ? [] : [u32(2)])), 'EINVAL');
  }
});

test('LRU hash evicts instead of failing when full', () => {
  const m = mk(MapType.LRU_HASH, 4, 4, 8, Uapi.BPF_F_NO_COMMON_LRU);
  for (let i = 0; i < 200; i++) m.update(u32(i), u32(i));
  const n = [...m.keys()].length;
  assert.ok(n > 0 && n <= 8 * Math.max(1, possibleCpus().length), `LRU holds ${n}`);
  assert.equal(readU32(m.lookup(u32(199))), 199);
});

test('LPM trie: longest prefix match', () => {
  // key: u32 prefixlen + 4 address bytes
  const key = (len: number, ip: string) => Buffer.concat([u32(len), Buffer.from(ip.split('.').map(Number))]);
  const m = mk(MapType.LPM_TRIE, 8, 4, 16, Uapi.BPF_F_NO_PREALLOC);
  m.update(key(8, '10.0.0.0'), u32(8));
  m.update(key(24, '10.1.2.0'), u32(24));
  assert.equal(readU32(m.lookup(key(32, '10.1.2.3'))), 24);
  assert.equal(readU32(m.lookup(key(32, '10.9.9.9'))), 8);
  assert.equal(m.lookup(key(32, '11.0.0.1')), undefined);
});

test('queue and stack: FIFO / LIFO, peek, empty', () => {
  const q = mk(MapType.QUEUE, 0, 4, 4);
  const s = mk(MapType.STACK, 0, 4, 4);
  for (const v of [1, 2, 3]) {
    q.push(u32(v));
    s.push(u32(v));
  }
  assert.equal(readU32(q.peek()), 1);
  assert.deepEqual([q.pop(), q.pop(), q.pop()].map(readU32), [1, 2, 3]);
  assert.deepEqual([s.pop(), s.pop(), s.pop()].map(readU32), [3, 2, 1]);
  assert.equal(q.pop(), undefined);
  for (const v of [1, 2, 3, 4]) q.push(u32(v));
  expectErrno(() => q.push(u32(5)), 'E2BIG');
  q.push(u32(5), UpdateFlags.EXIST); // overwrite the oldest
  assert.equal(readU32(q.pop()), 2);
});

test('bloom filter: added values are found, others mostly not', () => {
  const b = mk(MapType.BLOOM_FILTER, 0, 4, 100, 0, { mapExtra: 3n });
  for (let i = 0; i < 20; i++) b.push(u32(i * 7919));
  for (let i = 0; i < 20; i++) assert.equal(b.contains(u32(i * 7919)), true);
  let fp = 0;
  for (let i = 0; i < 200; i++) if (b.contains(u32(1_000_000 + i))) fp++;
  assert.ok(fp < 100, `false positives ${fp}/200`);
});

test('prog array: holds program fds, user lookup not supported', () => {
  const pa = mk(MapType.PROG_ARRAY, 4, 4, 4);
  const p = loadInsns(1, [insn(0xb7, 0, 0, 0, 0), insn(0x95)], { name: 'bk_maps_tail' });
  opened.push(p);
  pa.update(u32(1), u32(p.fd));
  assert.deepEqual([...pa.keys()].length, 4);
  assert.equal(pa.delete(u32(1)), true);
  assert.equal(pa.delete(u32(1)), false);
});

test('array of maps: inner map slots, lookup gives the inner map id', () => {
  const inner = mk(MapType.ARRAY, 4, 4, 1);
  const outer = mk(MapType.ARRAY_OF_MAPS, 4, 4, 2, 0, { inner: { name: 'in', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 } });
  outer.update(u32(0), u32(inner.fd));
  assert.equal(readU32(outer.lookup(u32(0))), inner.id);
  const hom = mk(MapType.HASH_OF_MAPS, 4, 4, 2, 0, { inner: { name: 'in', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 } });
  hom.update(u32(9), u32(inner.fd));
  assert.equal(readU32(hom.lookup(u32(9))), inner.id);
  const wrongShape = mk(MapType.ARRAY, 4, 8, 1);
  expectErrno(() => outer.update(u32(1), u32(wrongShape.fd)), 'EINVAL');
});

test('perf event array, ring buffer and stack trace maps can be created', () => {
  const pea = mk(MapType.PERF_EVENT_ARRAY, 4, 4, possibleCpus().length);
  assert.equal(pea.info().typeName, 'perf_event_array');
  const rb = mk(MapType.RINGBUF, 0, 0, 1 << 16);
  assert.equal(rb.info().maxEntries, 1 << 16);
  expectErrno(() => mk(MapType.RINGBUF, 0, 0, 1000), 'EINVAL'); // not a power-of-two page multiple
  const st = mk(MapType.STACK_TRACE, 4, 8 * 16, 16);
  assert.equal(st.lookup(u32(0)), undefined);
});

test('storage maps (sk, task, cgroup) with BTF key/value types', () => {
  const btf = loadBtf(tinyBtf());
  opened.push(btf);
  const mkS = (type: number) => {
    const m = KernelMap.create({ name: 'bk_maps_st', type, keySize: 4, valueSize: 8, maxEntries: 0, flags: Uapi.BPF_F_NO_PREALLOC, btfKeyTypeId: 1, btfValueTypeId: 2 }, { btfFd: btf.fd });
    opened.push(m);
    return m;
  };
  const sk = mkS(MapType.SK_STORAGE);
  const fd = socket(AF_INET, SOCK_DGRAM);
  try {
    bindInet(fd, '127.0.0.1', 0);
    sk.update(u32(fd), u64(77));
    assert.equal(readU64(sk.lookup(u32(fd))), 77n);
    assert.equal(sk.delete(u32(fd)), true);
  } finally {
    closeFd(fd);
  }
  mkS(MapType.TASK_STORAGE);
  const cg = makeCgroup('maps');
  if (cg) {
    const cgs = mkS(MapType.CGRP_STORAGE);
    const dir = openSync(cg.path, 'r');
    try {
      cgs.update(u32(dir), u64(5));
      assert.equal(readU64(cgs.lookup(u32(dir))), 5n);
    } finally {
      closeSync(dir);
      cg.cleanup();
    }
  }
});

test('freeze makes a map read-only for user space', () => {
  const m = mk(MapType.ARRAY, 4, 4, 1);
  m.update(u32(0), u32(3));
  m.freeze();
  expectErrno(() => m.update(u32(0), u32(4)), 'EPERM');
  assert.equal(readU32(m.lookup(u32(0))), 3);
});

test('pin, reopen from the pin, unpin; a missing pin is ENOENT', () => {
  const path = `/sys/fs/bpf/bpfkit-test-${process.pid}-maps/m`;
  const m = mk(MapType.HASH, 4, 4, 2);
  m.update(u32(1), u32(9));
  m.pin(path);
  try {
    const again = KernelMap.fromPin(path);
    opened.push(again);
    assert.equal(again.id, m.id);
    assert.equal(again.keySize, 4);
    assert.equal(readU32(again.lookup(u32(1))), 9);
  } finally {
    m.unpin();
    rmSync(`/sys/fs/bpf/bpfkit-test-${process.pid}-maps`, { recursive: true, force: true });
  }
  assert.equal(existsSync(path), false);
  expectErrno(() => KernelMap.fromPin(path), 'ENOENT');
});

test('ids: the map is listed and reopened by id', () => {
  const m = mk(MapType.ARRAY, 4, 4, 1);
  assert.ok([...objectIds('map')].includes(m.id));
  const again = KernelMap.fromId(m.id);
  opened.push(again);
  assert.equal(again.name, 'bk_maps_t');
  again.close();
  expectErrno(() => again.lookup(u32(0)), 'EBADF');
});

test('typed view over a kernel map', () => {
  const m = mk(MapType.HASH, 8, 12, 8);
  const t = new TypedMap(
    m,
    codecs.struct<{ a: number; b: number }>(8, [
      { name: 'a', offset: 0, codec: codecs.u32 },
      { name: 'b', offset: 4, codec: codecs.u32 },
    ]),
    codecs.string(12),
  );
  t.set({ a: 1, b: 2 }, 'hello');
  assert.equal(t.get({ a: 1, b: 2 }), 'hello');
  assert.deepEqual([...t.entries()], [[{ a: 1, b: 2 }, 'hello']]);
});
