/**
 * Userspace maps: one class per map family, all implementing `BpfMap` with the kernel's semantics, and
 * `createMap(spec)` choosing the class from the spec's type.
 */
import type { MapSpec } from '../../spec/map.js';
import { MapType } from '../../isa/uapi.js';
import { Errno } from '../errno.js';
import { UserMap, type UserMapOptions } from './base.js';
import { ArrayMap } from './array.js';
import { HashMap } from './hash.js';
import { LpmTrieMap } from './lpm-trie.js';
import { ProgArrayMap } from './prog-array.js';
import { ArrayOfMaps, HashOfMaps } from './map-in-map.js';
import { RingBufMap } from './ringbuf.js';
import { PerfEventArrayMap, type PerfEventArrayOptions } from './perf-event-array.js';
import { StackTraceMap } from './stack-trace.js';
import { QueueStackMap } from './queue-stack.js';
import { BloomFilterMap } from './bloom-filter.js';
import { LocalStorageMap } from './local-storage.js';
import { SparseArrayMap } from './sparse.js';
import { MapError } from './errors.js';

export * from './errors.js';
export * from './base.js';
export * from './array.js';
export * from './hash.js';
export * from './lpm-trie.js';
export * from './prog-array.js';
export * from './map-in-map.js';
export * from './ringbuf.js';
export * from './perf-event-array.js';
export * from './stack-trace.js';
export * from './queue-stack.js';
export * from './bloom-filter.js';
export * from './local-storage.js';
export * from './sparse.js';
export { jhash, jhash2 } from './jhash.js';

/** Options of `createMap`. */
export type CreateMapOptions = UserMapOptions & PerfEventArrayOptions;

const KEYLESS: ReadonlySet<number> = new Set([MapType.QUEUE, MapType.STACK, MapType.RINGBUF, MapType.BLOOM_FILTER]);

/**
 * Create a userspace map from its spec (type, sizes, flags), filled with the spec's initial `contents`. Throws a
 * `MapError` (EINVAL) for sizes the kernel would refuse and for map types the runtime does not implement.
 */
export function createMap(spec: MapSpec, opts: CreateMapOptions = {}): UserMap {
  const bad = (why: string): never => {
    throw new MapError(spec.name, 'create', -Errno.EINVAL, why);
  };
  if (spec.maxEntries <= 0 && spec.type !== MapType.PERF_EVENT_ARRAY) bad('max_entries must be > 0');
  if (!KEYLESS.has(spec.type) && spec.keySize <= 0) bad('key_size must be > 0');
  if (spec.type !== MapType.RINGBUF && spec.valueSize <= 0) bad('value_size must be > 0');
  let m: UserMap;
  switch (spec.type) {
    case MapType.HASH:
    case MapType.PERCPU_HASH:
    case MapType.LRU_HASH:
    case MapType.LRU_PERCPU_HASH:
    case MapType.DEVMAP_HASH:
    case MapType.SOCKHASH:
      m = new HashMap(spec, opts);
      break;
    case MapType.ARRAY:
    case MapType.PERCPU_ARRAY:
      if (spec.keySize !== 4) bad('array maps need key_size 4');
      m = new ArrayMap(spec, opts);
      break;
    case MapType.PROG_ARRAY:
      m = new ProgArrayMap(spec, opts);
      break;
    case MapType.ARRAY_OF_MAPS:
      m = new ArrayOfMaps(spec, opts);
      break;
    case MapType.HASH_OF_MAPS:
      m = new HashOfMaps(spec, opts);
      break;
    case MapType.DEVMAP:
    case MapType.CPUMAP:
    case MapType.XSKMAP:
    case MapType.SOCKMAP:
    case MapType.CGROUP_ARRAY:
      m = new SparseArrayMap(spec, opts);
      break;
    case MapType.LPM_TRIE:
      m = new LpmTrieMap(spec, opts);
      break;
    case MapType.RINGBUF:
      m = new RingBufMap(spec, opts);
      break;
    case MapType.PERF_EVENT_ARRAY:
      m = new PerfEventArrayMap(spec, opts);
      break;
    case MapType.STACK_TRACE:
      m = new StackTraceMap(spec, opts);
      break;
    case MapType.QUEUE:
    case MapType.STACK:
      if (spec.keySize !== 0) bad('queue/stack maps need key_size 0');
      m = new QueueStackMap(spec, opts);
      break;
    case MapType.BLOOM_FILTER:
      if (spec.keySize !== 0) bad('bloom filters need key_size 0');
      m = new BloomFilterMap(spec, opts);
      break;
    case MapType.TASK_STORAGE:
    case MapType.SK_STORAGE:
    case MapType.INODE_STORAGE:
      m = new LocalStorageMap(spec, opts);
      break;
    default:
      throw new MapError(spec.name, 'create', -Errno.EINVAL, `map type ${spec.type} is not supported by the userspace runtime`);
  }
  for (const c of spec.contents ?? []) {
    if (typeof c.value === 'string') continue; // symbolic (program / map name): resolved by the collection
    m.update(c.key, c.value);
  }
  return m;
}
