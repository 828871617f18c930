/**
 * Hash maps in userspace: BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH (and DEVMAP_HASH, which is a
 * hash of u32 → struct bpf_devmap_val that programs may only read).
 *
 * Kernel semantics kept: E2BIG when a new key does not fit, EEXIST / ENOENT for NOEXIST / EXIST, EINVAL for
 * unknown flags; get_next_key of an absent key restarts at the first key; a program-side update of an existing key
 * of a (non-per-CPU) hash or LRU map stores the new value in a fresh element and recycles the old one, so a pointer
 * looked up before the update sees the old value (as with the kernel's extra/free-list elements), while per-CPU maps
 * and BPF_F_LOCK updates write in place; a new per-CPU element written by a program is zero on the other CPUs.
 *
 * Differences (documented): iteration order is insertion order, not the kernel's hash-bucket order. LRU maps keep a
 * true least-recently-used order (program lookups and every update refresh an element; userspace lookups do not,
 * as in the kernel) and evict exactly the least recently used element only when a new key does not fit. The
 * kernel's LRU is approximate (per-CPU free lists, active/inactive lists with reference bits) and can evict earlier
 * or evict a different element — and it may even evict when an existing key of a full map is updated.
 */
import type { MapSpec } from '../../spec/map.js';
import { MapType, Uapi } from '../../isa/uapi.js';
import { Errno } from '../errno.js';
import { ALL_CPUS, UserMap, badUpdateFlags, bytesKey, round8, type UserMapOptions } from './base.js';

interface Entry {
  key: Uint8Array;
  ks: string;
  /** One buffer (or one per CPU) of `valueSize` bytes. */
  values: Uint8Array[];
  prev: Entry | null;
  next: Entry | null;
}

/** A hash map (plain, per-CPU, LRU or LRU per-CPU according to the spec's type). */
export class HashMap extends UserMap {
  override readonly percpu: boolean;
  readonly lru: boolean;
  private readonly table = new Map<string, Entry>();
  /** LRU order: least recently used first (JS Map iteration order, refreshed by delete + set). */
  private readonly recent = new Map<string, Entry>();
  private head: Entry | null = null;
  private tail: Entry | null = null;
  /** Recycled value buffers (LIFO, like the kernel's free list). */
  private readonly free: Uint8Array[][] = [];
  /** Elements evicted from an LRU map so far. */
  evictions = 0;

  constructor(spec: MapSpec, opts: UserMapOptions = {}) {
    super(spec, opts);
    this.percpu = spec.type === MapType.PERCPU_HASH || spec.type === MapType.LRU_PERCPU_HASH;
    this.lru = spec.type === MapType.LRU_HASH || spec.type === MapType.LRU_PERCPU_HASH;
    if (spec.type === MapType.DEVMAP_HASH) this.progWritable = false;
  }

  get size(): number {
    return this.table.size;
  }

  private allocValues(): Uint8Array[] {
    const f = this.free.pop();
    if (f) {
      for (const b of f) b.fill(0);
      return f;
    }
    const n = this.percpu ? this.ncpus : 1;
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) out.push(new Uint8Array(this.valueSize));
    return out;
  }

  private touch(e: Entry): void {
    this.recent.delete(e.ks);
    this.recent.set(e.ks, e);
  }

  findValue(key: Uint8Array, cpu: number, fromProg: boolean): Uint8Array | undefined {
    const e = this.table.get(bytesKey(key.length === this.keySize ? key : key.subarray(0, this.keySize)));
    if (!e) return undefined;
    if (fromProg && this.lru) this.touch(e);
    return this.percpu ? e.values[cpu] : e.values[0];
  }

  /** Write `value` (one value or every CPU's) into `values`. */
  private fill(values: Uint8Array[], value: Uint8Array, cpu: number, isNew: boolean): void {
    if (!this.percpu) {
      values[0].set(value.subarray(0, this.valueSize));
      return;
    }
    if (cpu === ALL_CPUS) {
      const stride = round8(this.valueSize);
      for (let c = 0; c < this.ncpus; c++) values[c].set(value.subarray(c * stride, c * stride + this.valueSize));
      return;
    }
    if (isNew) for (const v of values) v.fill(0);
    values[cpu].set(value.subarray(0, this.valueSize));
  }

  updateElem(key: Uint8Array, value: Uint8Array, flags: number, cpu: number): number {
    const allowLock = !this.percpu && !this.lru;
    if (badUpdateFlags(flags, allowLock)) return -Errno.EINVAL;
    const mode = flags & ~Uapi.BPF_F_LOCK;
    const k = key.length === this.keySize ? key : key.subarray(0, this.keySize);
    const ks = bytesKey(k);
    const old = this.table.get(ks);
    if (old) {
      if (mode === Uapi.BPF_NOEXIST) return -Errno.EEXIST;
      if (this.percpu || flags & Uapi.BPF_F_LOCK) {
        this.fill(old.values, value, cpu, false);
      } else {
        // Fresh element for the new value; the old one goes back to the free list.
        const fresh = this.allocValues();
        this.fill(fresh, value, cpu, true);
        this.free.push(old.values);
        old.values = fresh;
      }
      if (this.lru) this.touch(old);
      return 0;
    }
    if (mode === Uapi.BPF_EXIST) return -Errno.ENOENT;
    if (this.table.size >= this.maxEntries) {
      if (!this.lru) return -Errno.E2BIG;
      const victim = this.recent.values().next().value;
      if (!victim) return -Errno.E2BIG;
      this.remove(victim);
      this.evictions++;
    }
    const e: Entry = { key: k.slice(), ks, values: this.allocValues(), prev: this.tail, next: null };
    this.fill(e.values, value, cpu, true);
    if (this.tail) this.tail.next = e;
    else this.head = e;
    this.tail = e;
    this.table.set(ks, e);
    if (this.lru) this.recent.set(ks, e);
    return 0;
  }

  private remove(e: Entry): void {
    this.table.delete(e.ks);
    this.recent.delete(e.ks);
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
    this.free.push(e.values);
  }

  deleteElem(key: Uint8Array): number {
    const e = this.table.get(bytesKey(key.subarray(0, this.keySize)));
    if (!e) return -Errno.ENOENT;
    this.remove(e);
    return 0;
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    if (!key) return this.head?.key;
    const e = this.table.get(bytesKey(key.subarray(0, this.keySize)));
    if (!e) return this.head?.key;
    return e.next?.key;
  }

  /** Keys from least to most recently used (LRU maps; insertion order otherwise). */
  lruOrder(): Uint8Array[] {
    const src = this.lru ? this.recent.values() : this.table.values();
    return [...src].map((e) => e.key.slice());
  }
}
