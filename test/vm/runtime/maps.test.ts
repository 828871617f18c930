// Userspace map semantics per type: errors and flags as the kernel, LRU order, LPM longest match and
// iteration order, per-CPU values, queue/stack, bloom filter, ring buffer wrap-around and drops, perf buffers,
// stack traces, map-in-map checks, local storage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MapType, Uapi } from '../../../src/isa/uapi.js';
import type { MapSpec } from '../../../src/spec/map.js';
import { createMap, MapError, HashMap, ArrayMap, LpmTrieMap, QueueStackMap, BloomFilterMap, RingBufMap, PerfEventArrayMap, StackTraceMap, ArrayOfMaps, LocalStorageMap, u32Key, keyU32, jhash, jhash2 } from '../../../src/vm/maps/index.js';
import { VmMemory } from '../../../src/vm/memory.js';

const spec = (type: number, keySize: number, valueSize: number, maxEntries: number, extra: Partial<MapSpec> = {}): MapSpec => ({
  name: 'm',
  type,
  keySize,
  valueSize,
  maxEntries,
  flags: 0,
  ...extra,
});
const u64 = (n: number | bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
};
const rd64 = (b: Uint8Array | undefined) => (b ? new DataView(b.buffer, b.byteOffset).getBigUint64(0, true) : undefined);
const errno = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof MapError, `expected MapError, got ${e}`);
    return e.errnoName;
  }
  return 'no error';
};

test('hash map: flags, E2BIG, get_next_key restart, update keeps old pointers stale', () => {
  const m = createMap(spec(MapType.HASH, 4, 8, 2)) as HashMap;
  m.update(u32Key(1), u64(10));
  assert.equal(errno(() => m.update(u32Key(1), u64(11), Uapi.BPF_NOEXIST)), 'EEXIST');
  assert.equal(errno(() => m.update(u32Key(9), u64(11), Uapi.BPF_EXIST)), 'ENOENT');
  assert.equal(errno(() => m.update(u32Key(9), u64(11), 7)), 'EINVAL');
  assert.equal(errno(() => m.update(u32Key(1), new Uint8Array(4))), 'EINVAL');
  m.update(u32Key(2), u64(20));
  assert.equal(errno(() => m.update(u32Key(3), u64(30))), 'E2BIG');
  // Replacing an existing key of a full map works (the kernel keeps spare elements for that).
  m.update(u32Key(2), u64(21));
  assert.equal(rd64(m.lookup(u32Key(2))), 21n);
  assert.equal(m.delete(u32Key(5)), false);
  assert.deepEqual([...m.keys()].map(keyU32), [1, 2]);
  assert.equal(keyU32(m.getNextKey(u32Key(1))!), 2);
  assert.equal(m.getNextKey(u32Key(2)), undefined);
  assert.equal(keyU32(m.getNextKey(u32Key(77))!), 1, 'absent key restarts at the first');
  // A program's pointer to the old value sees the old value after a replace (fresh element).
  const mem = new VmMemory();
  const addr = m.valueAddress(mem, u32Key(1), 0);
  m.updateElem(u32Key(1), u64(99), 0, 0);
  assert.equal(mem.load(addr, 8), 10n);
  assert.equal(rd64(m.lookup(u32Key(1))), 99n);
  // BPF_F_LOCK updates in place.
  const a2 = m.valueAddress(mem, u32Key(1), 0);
  m.updateElem(u32Key(1), u64(5), Uapi.BPF_F_LOCK, 0);
  assert.equal(mem.load(a2, 8), 5n);
});

test('array map: E2BIG past max_entries, NOEXIST EEXIST, delete EINVAL, one region with an 8-byte stride', () => {
  const m = createMap(spec(MapType.ARRAY, 4, 4, 3)) as ArrayMap;
  assert.equal(errno(() => m.update(u32Key(3), new Uint8Array(4))), 'E2BIG');
  assert.equal(errno(() => m.update(u32Key(0), new Uint8Array(4), Uapi.BPF_NOEXIST)), 'EEXIST');
  assert.equal(errno(() => m.delete(u32Key(0))), 'EINVAL');
  assert.deepEqual([...m.keys()].map(keyU32), [0, 1, 2]);
  assert.equal(keyU32(m.getNextKey(u32Key(100))!), 0);
  const mem = new VmMemory();
  const a0 = m.valueAddress(mem, u32Key(0), 0);
  const a2 = m.valueAddress(mem, u32Key(2), 0);
  assert.equal(a2 - a0, 16n);
  assert.equal(m.valueAddress(mem, u32Key(3), 0), 0n);
  mem.store(a2, 4, 0xdeadbeef);
  assert.deepEqual([...m.lookup(u32Key(2))!], [0xef, 0xbe, 0xad, 0xde]);
  const ro = createMap(spec(MapType.ARRAY, 4, 8, 1, { flags: Uapi.BPF_F_RDONLY_PROG })) as ArrayMap;
  const mem2 = new VmMemory();
  assert.throws(() => mem2.store(ro.valueAddress(mem2, u32Key(0), 0), 8, 1), /read-only/);
});

test('per-CPU maps: one value per CPU, program updates touch their CPU only', () => {
  const m = createMap(spec(MapType.PERCPU_HASH, 4, 4, 8), { ncpus: 3 }) as HashMap;
  m.updatePerCpu(u32Key(1), [Uint8Array.of(1, 0, 0, 0), Uint8Array.of(2, 0, 0, 0), Uint8Array.of(3, 0, 0, 0)]);
  assert.deepEqual(m.lookupPerCpu(u32Key(1))!.map((v) => v[0]), [1, 2, 3]);
  assert.equal(m.lookup(u32Key(1))!.length, 24, 'kernel layout: ncpus × round8(value size)');
  m.updateElem(u32Key(1), Uint8Array.of(9, 0, 0, 0), 0, 1);
  assert.deepEqual(m.lookupPerCpu(u32Key(1))!.map((v) => v[0]), [1, 9, 3]);
  m.updateElem(u32Key(2), Uint8Array.of(7, 0, 0, 0), 0, 2);
  assert.deepEqual(m.lookupPerCpu(u32Key(2))!.map((v) => v[0]), [0, 0, 7], 'new element: other CPUs zero');
  const a = createMap(spec(MapType.PERCPU_ARRAY, 4, 8, 2), { ncpus: 2 }) as ArrayMap;
  a.update(u32Key(1), u64(5));
  assert.deepEqual(a.lookupPerCpu(u32Key(1))!.map(rd64), [5n, 5n], 'a single value is stored on every CPU');
  const mem = new VmMemory();
  assert.notEqual(a.valueAddress(mem, u32Key(1), 0) >> 32n, a.valueAddress(mem, u32Key(1), 1) >> 32n);
});

test('LRU hash: evicts the least recently used; program lookups refresh, userspace lookups do not', () => {
  const m = createMap(spec(MapType.LRU_HASH, 4, 8, 3)) as HashMap;
  for (const k of [1, 2, 3]) m.update(u32Key(k), u64(k));
  m.findValue(u32Key(1), 0, true); // program lookup: 1 becomes most recent
  m.lookup(u32Key(2)); // userspace lookup: no effect
  m.update(u32Key(4), u64(4));
  assert.deepEqual([...m.keys()].map(keyU32).sort(), [1, 3, 4], '2 was the least recently used');
  assert.equal(m.evictions, 1);
  m.update(u32Key(3), u64(33)); // update refreshes 3
  m.update(u32Key(5), u64(5)); // evicts 1
  assert.deepEqual(m.lruOrder().map(keyU32), [4, 3, 5]);
  const p = createMap(spec(MapType.LRU_PERCPU_HASH, 4, 8, 1), { ncpus: 2 }) as HashMap;
  p.update(u32Key(1), u64(1));
  p.update(u32Key(2), u64(2));
  assert.deepEqual([...p.keys()].map(keyU32), [2]);
});

function lpmKey(prefix: number, ...bytes: number[]): Uint8Array {
  const k = new Uint8Array(8);
  new DataView(k.buffer).setUint32(0, prefix, true);
  k.set(bytes, 4);
  return k;
}

test('LPM trie: longest prefix match, kernel post-order iteration, ENOSPC, exact delete', () => {
  const m = createMap(spec(MapType.LPM_TRIE, 8, 8, 5, { flags: Uapi.BPF_F_NO_PREALLOC })) as LpmTrieMap;
  m.update(lpmKey(16, 192, 168), u64(16));
  m.update(lpmKey(24, 192, 168, 0), u64(240));
  m.update(lpmKey(24, 192, 168, 1), u64(241));
  m.update(lpmKey(24, 192, 168, 128), u64(248));
  assert.equal(rd64(m.lookup(lpmKey(32, 192, 168, 1, 7))), 241n);
  assert.equal(rd64(m.lookup(lpmKey(32, 192, 168, 200, 1))), 16n);
  assert.equal(rd64(m.lookup(lpmKey(20, 192, 168, 1, 7))), 16n, 'the lookup key prefix length caps the match');
  assert.equal(m.lookup(lpmKey(32, 10, 0, 0, 1)), undefined);
  // The kernel's documented order for this trie: more specific prefixes first, post-order.
  const order = [...m.keys()].map((k) => `${[...k.subarray(4, 7)].join('.')}/${keyU32(k)}`);
  assert.deepEqual(order, ['192.168.0/24', '192.168.1/24', '192.168.128/24', '192.168.0/16']);
  m.update(lpmKey(8, 10), u64(8));
  assert.equal(errno(() => m.update(lpmKey(8, 11), u64(8))), 'ENOSPC');
  m.update(lpmKey(8, 10), u64(9)); // replacing in a full trie is fine
  assert.equal(errno(() => m.update(lpmKey(33, 1), u64(1))), 'EINVAL');
  assert.equal(errno(() => m.update(lpmKey(8, 10), u64(1), Uapi.BPF_NOEXIST)), 'EEXIST');
  assert.equal(m.delete(lpmKey(23, 192, 168, 0)), false, 'delete needs the exact prefix');
  assert.equal(m.delete(lpmKey(16, 192, 168)), true);
  assert.equal(rd64(m.lookup(lpmKey(32, 192, 168, 200, 1))), undefined);
  assert.equal(rd64(m.lookup(lpmKey(32, 192, 168, 128, 1))), 248n);
  assert.equal(m.size, 4);
  assert.throws(() => createMap(spec(MapType.LPM_TRIE, 8, 8, 5)), /NO_PREALLOC/);
});

test('queue and stack: FIFO / LIFO, E2BIG when full, BPF_EXIST drops the oldest, ENOENT when empty', () => {
  const q = createMap(spec(MapType.QUEUE, 0, 4, 2)) as QueueStackMap;
  const s = createMap(spec(MapType.STACK, 0, 4, 2)) as QueueStackMap;
  for (const m of [q, s]) {
    m.push(u32Key(1));
    m.push(u32Key(2));
    assert.equal(errno(() => m.push(u32Key(3))), 'E2BIG');
    m.push(u32Key(3), Uapi.BPF_EXIST);
    assert.equal(errno(() => m.push(u32Key(3), Uapi.BPF_NOEXIST)), 'EINVAL');
  }
  assert.deepEqual([q.pop(), q.pop(), q.pop()].map((v) => v && keyU32(v)), [2, 3, undefined]);
  assert.deepEqual([s.peek(), s.pop(), s.pop()].map((v) => v && keyU32(v)), [3, 3, 2]);
  assert.equal(q.popElem(false), undefined);
  assert.equal(errno(() => q.delete(new Uint8Array(0))), 'EINVAL');
});

test('bloom filter: no false negatives; with BPF_F_ZERO_SEED the bits are deterministic', () => {
  const b = createMap(spec(MapType.BLOOM_FILTER, 0, 4, 100, { flags: Uapi.BPF_F_ZERO_SEED, mapExtra: 3n })) as BloomFilterMap;
  assert.equal(b.nrHashes, 3);
  assert.equal(b.bitsetMask, 512 - 1, '100 × 3 × 7/5 = 420 bits, rounded up to 512');
  for (let i = 0; i < 100; i++) b.add(u32Key(i * 7919));
  for (let i = 0; i < 100; i++) assert.ok(b.has(u32Key(i * 7919)));
  let fp = 0;
  for (let i = 0; i < 1000; i++) if (b.has(u32Key(1_000_000 + i))) fp++;
  assert.ok(fp < 400, `false positives ${fp}`);
  assert.equal(b.peekElem(u32Key(123456789)) === 0 || b.peekElem(u32Key(123456789)) === -2, true);
});

test('jhash / jhash2 match the kernel definitions (known values)', () => {
  assert.equal(jhash(new Uint8Array(0), 0, 0, 0), 0xdeadbeef);
  assert.equal(jhash2(new Uint8Array(0), 0, 0, 0), 0xdeadbeef);
  // jhash2 over whole words equals jhash over the same bytes only for lengths the two treat alike; both stable:
  const k = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13);
  assert.equal(jhash(k, 0, 13, 0), jhash(k.slice(), 0, 13, 0));
  assert.notEqual(jhash(k, 0, 13, 0), jhash(k, 0, 13, 1));
});

test('ring buffer: 8-byte headers with BUSY/DISCARD bits, rounding, wrap-around, drops, readers', async () => {
  const rb = createMap(spec(MapType.RINGBUF, 0, 0, 4096)) as RingBufMap;
  assert.throws(() => createMap(spec(MapType.RINGBUF, 0, 0, 3000)), /power-of-2/);
  const off = rb.reserve(5);
  assert.equal(off, 8);
  const dv = new DataView(rb.data.buffer);
  assert.equal(dv.getUint32(0, true), (5 | 0x80000000) >>> 0, 'BUSY while reserved');
  const r = rb.reader();
  assert.equal(r.read(), undefined, 'a reserved record stops the consumer');
  rb.data.set([1, 2, 3, 4, 5], off);
  rb.commit(off, false);
  assert.equal(dv.getUint32(0, true), 5);
  assert.deepEqual([...r.read()!], [1, 2, 3, 4, 5]);
  assert.equal(rb.consumerPos, 16, '5 + 8 rounded up to 16');
  const d = rb.reserve(3);
  rb.commit(d, true);
  assert.equal(dv.getUint32(16, true), (3 | 0x40000000) >>> 0, 'DISCARD bit');
  assert.equal(r.read(), undefined);
  assert.equal(r.stats.discarded, 1);
  // Fill: the producer may get at most size-1 bytes ahead of the consumer.
  let n = 0;
  while (rb.output(new Uint8Array(100).fill(n & 0xff)) === 0) n++;
  assert.equal(n, Math.floor(4095 / 112));
  assert.equal(rb.dropped, 1);
  assert.equal(rb.output(new Uint8Array(100)), -11, "EAGAIN when full");
  const got: number[] = [];
  r.drain((rec) => got.push(rec[0]));
  assert.equal(got.length, n);
  // Wrap-around: records keep being contiguous across the end of the ring.
  for (let i = 0; i < 100; i++) {
    assert.equal(rb.output(new Uint8Array(200).fill(i)), 0);
    const rec = r.read()!;
    assert.equal(rec.length, 200);
    assert.ok(rec.every((x) => x === i), `record ${i} intact`);
  }
  assert.ok(rb.producerPos > 4096 * 4);
  assert.equal(rb.query(Uapi.BPF_RB_RING_SIZE), 4096n);
  // Async iteration sees records submitted later.
  const it = r[Symbol.asyncIterator]();
  const next = it.next();
  rb.output(Uint8Array.of(42));
  assert.deepEqual([...(await next).value!], [42]);
  r.close();
  assert.equal((await it.next()).done, true);
});

test('perf event array: per-CPU buffers, EOPNOTSUPP for another CPU, lost samples counted', () => {
  const p = createMap(spec(MapType.PERF_EVENT_ARRAY, 4, 4, 0), { ncpus: 2, bufferSize: 64 }) as PerfEventArrayMap;
  assert.equal(p.maxEntries, 2);
  assert.equal(p.output(0, 0, [new Uint8Array(20)]), 0);
  assert.equal(p.output(1, 0, [new Uint8Array(4)]), -95);
  assert.equal(p.output(5, 0, [new Uint8Array(4)]), -7);
  assert.equal(p.output(0, 0, [new Uint8Array(40)]), -28, 'full: ENOSPC');
  const r = p.reader();
  assert.equal(r.read()!.data.length, 20);
  assert.equal(p.output(0, 0, [Uint8Array.of(1), Uint8Array.of(2)]), 0);
  const s = r.read()!;
  assert.deepEqual([...s.data], [1, 2]);
  assert.equal(r.stats.lost, 1);
  p.detach(1);
  assert.equal(p.output(1, 1, [new Uint8Array(1)]), -2);
});

test('stack trace map: same stack same id, EEXIST on a taken bucket unless REUSE_STACKID', () => {
  const m = createMap(spec(MapType.STACK_TRACE, 4, 8 * 4, 2)) as StackTraceMap;
  const a = m.getStackId([0xffffffff81000010n, 0xffffffff81000020n], 0);
  assert.ok(a >= 0);
  assert.equal(m.getStackId([0xffffffff81000010n, 0xffffffff81000020n], 0), a);
  assert.deepEqual(m.stack(a), [0xffffffff81000010n, 0xffffffff81000020n]);
  let clash = -1;
  for (let i = 0; i < 100 && clash < 0; i++) {
    const id = m.getStackId([BigInt(i)], 0);
    if (id === -17) clash = i;
  }
  assert.ok(clash >= 0, 'with 2 buckets a different stack eventually hits a taken one');
  assert.ok(m.getStackId([BigInt(clash)], Uapi.BPF_F_REUSE_STACKID) >= 0);
  assert.equal(m.lookup(u32Key(a))!.length, 32);
  assert.equal(m.getStackId([], 0), -14);
});

test('map-in-map: inner maps must match the inner spec; lookups return the inner map id', () => {
  const innerSpec = spec(MapType.ARRAY, 4, 8, 4);
  const outer = createMap({ ...spec(MapType.ARRAY_OF_MAPS, 4, 4, 2), inner: innerSpec }) as ArrayOfMaps;
  const good = createMap(innerSpec);
  const bad = createMap(spec(MapType.ARRAY, 4, 8, 5));
  outer.setMap(0, good);
  assert.equal(outer.innerMap(u32Key(0)), good);
  assert.equal(errno(() => outer.setMap(1, bad)), 'EINVAL');
  assert.equal(errno(() => outer.update(u32Key(1), u32Key(999999))), 'EBADF');
  assert.equal(errno(() => outer.update(u32Key(1), u32Key(1), Uapi.BPF_NOEXIST)), 'EINVAL');
});

test('local storage: created on demand with F_CREATE, NOEXIST/EXIST, ENOENT on delete', () => {
  const m = createMap(spec(MapType.TASK_STORAGE, 4, 8, 0 + 1, { flags: Uapi.BPF_F_NO_PREALLOC })) as LocalStorageMap;
  assert.equal(m.storageGet(42, false), undefined);
  const v = m.storageGet(42, true, u64(7))!;
  assert.equal(rd64(v), 7n);
  assert.equal(rd64(m.lookup(u32Key(42))), 7n);
  assert.equal(errno(() => m.update(u32Key(42), u64(1), Uapi.BPF_NOEXIST)), 'EEXIST');
  assert.equal(m.storageDelete(42), 0);
  assert.equal(m.storageDelete(42), -2);
});

test('createMap refuses what the kernel refuses', () => {
  assert.throws(() => createMap(spec(MapType.HASH, 0, 8, 1)), MapError);
  assert.throws(() => createMap(spec(MapType.HASH, 4, 8, 0)), MapError);
  assert.throws(() => createMap(spec(MapType.ARRAY, 8, 8, 1)), /key_size 4/);
  assert.throws(() => createMap(spec(MapType.STRUCT_OPS, 4, 8, 1)), /not supported/);
});
