/**
 * Map helpers: lookup / update / delete, push / pop / peek (queues, stacks, bloom filters), per-CPU lookup,
 * for_each_map_elem, local storage (task / sk / inode) and spin locks.
 */
import type { HelperCallContext, HelperImpl } from '../api.js';
import { Uapi } from '../../isa/uapi.js';
import { Errno } from '../errno.js';
import { UserMap } from '../maps/base.js';
import { isMapOfMaps } from '../maps/map-in-map.js';
import { QueueStackMap } from '../maps/queue-stack.js';
import { BloomFilterMap } from '../maps/bloom-filter.js';
import { LocalStorageMap } from '../maps/local-storage.js';
import { RingBufMap } from '../maps/ringbuf.js';
import { PerfEventArrayMap } from '../maps/perf-event-array.js';
import { envOf, type RuntimeEnv } from './env.js';
import { flagsArg, mapArg, readBytes, u32, writeBytes } from './util.js';

function key(c: HelperCallContext, m: UserMap, addr: bigint): Uint8Array {
  return c.mem.view(addr, m.keySize);
}

function lookup(c: HelperCallContext, env: RuntimeEnv, m: UserMap, k: Uint8Array, cpu: number): bigint {
  if (isMapOfMaps(m)) {
    const inner = m.innerMap(k);
    return inner ? env.handles.addressOf(inner) : 0n;
  }
  if (m instanceof QueueStackMap || m instanceof BloomFilterMap || m instanceof RingBufMap || m instanceof PerfEventArrayMap) return 0n;
  return m.valueAddress(c.mem, k, cpu);
}

/** Owner id of a local-storage owner pointer: the current task's tid, the socket cookie, else the low 32 bits. */
function ownerOf(env: RuntimeEnv, _m: LocalStorageMap, ptr: bigint): number {
  if (ptr === env.taskAddr) return env.task.pid;
  if (ptr === env.sockAddr) return Number(env.socketCookie & 0xffffffffn);
  return Number(ptr & 0xffffffffn);
}

function storageGet(c: HelperCallContext, r1: bigint, owner: bigint, value: bigint, flags: bigint): bigint {
  const env = envOf(c);
  const m = mapArg(c, r1, env);
  if (!(m instanceof LocalStorageMap) || flags & ~BigInt(Uapi.BPF_LOCAL_STORAGE_GET_F_CREATE) || owner === 0n) return 0n;
  const create = (flags & BigInt(Uapi.BPF_LOCAL_STORAGE_GET_F_CREATE)) !== 0n;
  const init = create && value !== 0n ? readBytes(c, value, m.valueSize) : undefined;
  return m.storageAddress(c.mem, ownerOf(env, m, owner), create, init);
}

function storageDelete(c: HelperCallContext, r1: bigint, owner: bigint): number {
  const env = envOf(c);
  const m = mapArg(c, r1, env);
  if (!(m instanceof LocalStorageMap)) return -Errno.EINVAL;
  return m.storageDelete(ownerOf(env, m, owner));
}

/** Map helper implementations by helper name. */
export const mapHelpers: Record<string, HelperImpl> = {
  map_lookup_elem(c, r1, r2) {
    const env = envOf(c);
    const m = mapArg(c, r1, env);
    return lookup(c, env, m, key(c, m, r2), env.cpu);
  },
  map_lookup_percpu_elem(c, r1, r2, r3) {
    const env = envOf(c);
    const m = mapArg(c, r1, env);
    const cpu = u32(r3);
    if (!m.percpu || cpu >= m.ncpus) return 0n;
    return m.valueAddress(c.mem, key(c, m, r2), cpu);
  },
  map_update_elem(c, r1, r2, r3, r4) {
    const env = envOf(c);
    const m = mapArg(c, r1, env);
    if (isMapOfMaps(m) || m instanceof RingBufMap) return -Errno.EINVAL;
    if (m.flags & Uapi.BPF_F_RDONLY_PROG) return -Errno.EPERM;
    const k = key(c, m, r2).slice();
    const v = readBytes(c, r3, m.valueSize);
    return m.updateElem(k, v, flagsArg(r4), env.cpu);
  },
  map_delete_elem(c, r1, r2) {
    const m = mapArg(c, r1);
    return m.deleteElem(key(c, m, r2).slice());
  },
  map_push_elem(c, r1, r2, r3) {
    const m = mapArg(c, r1);
    const v = readBytes(c, r2, m.valueSize);
    const flags = flagsArg(r3);
    if (m instanceof QueueStackMap || m instanceof BloomFilterMap) return m.pushElem(v, flags);
    return -Errno.EINVAL;
  },
  map_pop_elem(c, r1, r2) {
    const m = mapArg(c, r1);
    if (!(m instanceof QueueStackMap)) return -Errno.EINVAL;
    const v = m.popElem(false);
    if (!v) return -Errno.ENOENT;
    writeBytes(c, r2, v);
    return 0;
  },
  map_peek_elem(c, r1, r2) {
    const m = mapArg(c, r1);
    if (m instanceof BloomFilterMap) return m.peekElem(c.mem.view(r2, m.valueSize));
    if (!(m instanceof QueueStackMap)) return -Errno.EINVAL;
    const v = m.popElem(true);
    if (!v) return -Errno.ENOENT;
    writeBytes(c, r2, v);
    return 0;
  },
  for_each_map_elem(c, r1, r2, r3, r4) {
    const env = envOf(c);
    const m = mapArg(c, r1, env);
    if (r4 !== 0n) return -Errno.EINVAL;
    const keyBuf = new Uint8Array(Math.max(1, m.keySize));
    const keyAddr = c.mem.map(keyBuf, { writable: false, kind: 'helper', name: `for_each key of ${m.name}` });
    try {
      return m.forEachElem(env.cpu, (k) => {
        keyBuf.set(k);
        const vaddr = m.valueAddress(c.mem, k, env.cpu);
        const ret = c.callSubprogram(r2, r1, keyAddr, vaddr, r3);
        return ret !== 0n;
      });
    } finally {
      c.mem.unmap(keyAddr);
    }
  },
  task_storage_get(c, r1, r2, r3, r4) {
    return storageGet(c, r1, r2, r3, r4);
  },
  task_storage_delete(c, r1, r2) {
    return storageDelete(c, r1, r2);
  },
  sk_storage_get(c, r1, r2, r3, r4) {
    return storageGet(c, r1, r2, r3, r4);
  },
  sk_storage_delete(c, r1, r2) {
    return storageDelete(c, r1, r2);
  },
  inode_storage_get(c, r1, r2, r3, r4) {
    return storageGet(c, r1, r2, r3, r4);
  },
  inode_storage_delete(c, r1, r2) {
    return storageDelete(c, r1, r2);
  },
  spin_lock(c, r1) {
    envOf(c).locks.add(r1);
    return 0;
  },
  spin_unlock(c, r1) {
    envOf(c).locks.delete(r1);
    return 0;
  },
};
