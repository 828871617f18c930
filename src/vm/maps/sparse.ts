/**
 * Sparse array maps: arrays whose slots can be empty. The base of the fd arrays (prog array, array of maps,
 * perf event array, cgroup array: slots hold the pseudo fd of an object) and of the redirect maps (DEVMAP,
 * CPUMAP, XSKMAP, SOCKMAP: slots hold raw values such as `struct bpf_devmap_val`, read-only to programs).
 *
 * Kernel semantics kept: get_next_key walks every index like an array map (empty slots included); fd arrays take
 * only BPF_ANY updates, index >= max_entries → E2BIG, deleting an empty slot → ENOENT; redirect maps refuse NOEXIST
 * with EEXIST and delete silently.
 */
import type { MapSpec } from '../../spec/map.js';
import { MapType, Uapi } from '../../isa/uapi.js';
import { Errno } from '../errno.js';
import { UserMap, arrayNextKey, keyU32, type UserMapOptions } from './base.js';

const FD_ARRAYS: ReadonlySet<number> = new Set([MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS, MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY]);

/** An array of optional slots. */
export class SparseArrayMap extends UserMap {
  protected readonly slots: (Uint8Array | undefined)[];
  protected readonly fdArray: boolean;
  private count = 0;

  constructor(spec: MapSpec, opts: UserMapOptions = {}) {
    super(spec, opts);
    this.slots = new Array(spec.maxEntries);
    this.fdArray = FD_ARRAYS.has(spec.type);
    this.progWritable = false;
  }

  get size(): number {
    return this.count;
  }

  findValue(key: Uint8Array): Uint8Array | undefined {
    const i = keyU32(key);
    return i < this.maxEntries ? this.slots[i] : undefined;
  }

  /** Check a value before it is stored (subclasses: does the fd name a compatible object?). 0 or -errno. */
  protected validate(_value: Uint8Array): number {
    return 0;
  }

  updateElem(key: Uint8Array, value: Uint8Array, flags: number): number {
    const i = keyU32(key);
    if (this.fdArray) {
      if (flags !== Uapi.BPF_ANY) return -Errno.EINVAL;
      if (i >= this.maxEntries) return -Errno.E2BIG;
    } else {
      if (flags < 0 || flags > Uapi.BPF_EXIST) return -Errno.EINVAL;
      if (i >= this.maxEntries) return -Errno.E2BIG;
      if (flags === Uapi.BPF_NOEXIST) return -Errno.EEXIST;
    }
    const err = this.validate(value);
    if (err) return err;
    if (!this.slots[i]) this.count++;
    this.slots[i] = value.slice(0, this.valueSize);
    return 0;
  }

  deleteElem(key: Uint8Array): number {
    const i = keyU32(key);
    if (i >= this.maxEntries) return this.fdArray ? -Errno.E2BIG : -Errno.EINVAL;
    if (!this.slots[i]) return this.fdArray ? -Errno.ENOENT : 0;
    this.slots[i] = undefined;
    this.count--;
    return 0;
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    return arrayNextKey(this.maxEntries, key);
  }

  /** The u32 stored in slot `index` (an fd / id / ifindex), or undefined when empty. */
  slotU32(index: number): number | undefined {
    const v = index >>> 0 < this.maxEntries ? this.slots[index >>> 0] : undefined;
    return v ? keyU32(v) : undefined;
  }
}
