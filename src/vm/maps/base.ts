/**
 * The base of every userspace map: the `BpfMap` interface (raw bytes in and out, typed `MapError`s) built on a
 * small set of kernel-style operations that return errno values (what the helpers call), plus the bridge to the
 * VM's memory: a value looked up by a program is an address inside a `Memory` region over the live value bytes.
 */
import type { Memory } from '../api.js';
import { mapEntries, packPerCpu, perCpuStride, replicatePerCpu, type BpfMap, type MapSpec } from '../../spec/map.js';
import { Uapi } from '../../isa/uapi.js';
import { Errno } from '../errno.js';
import { MapError } from './errors.js';

/** `cpu` argument meaning "a userspace update: the value holds every CPU's value" (kernel layout). */
export const ALL_CPUS = -1;

/** Options shared by every userspace map. */
export interface UserMapOptions {
  /** Number of simulated CPUs for per-CPU maps and perf event arrays (default 1). */
  ncpus?: number;
}

/** Round up to a multiple of 8 (the kernel's per-CPU value stride and element alignment). */
export function round8(n: number): number {
  return (n + 7) & ~7;
}

/** Read a little-endian u32 from the start of a key. */
export function keyU32(key: Uint8Array): number {
  return (key[0] | (key[1] << 8) | (key[2] << 16) | (key[3] << 24)) >>> 0;
}

/** A 4-byte little-endian key. */
export function u32Key(n: number): Uint8Array {
  const k = new Uint8Array(4);
  new DataView(k.buffer).setUint32(0, n >>> 0, true);
  return k;
}

/**
 * get_next_key of an index-keyed map (array-like: keys 0..maxEntries-1, all present): the first key for a
 * missing or out-of-range key, undefined after the last.
 */
export function arrayNextKey(maxEntries: number, key: Uint8Array | undefined): Uint8Array | undefined {
  if (maxEntries === 0) return undefined;
  const i = key ? keyU32(key) : maxEntries;
  if (i >= maxEntries) return u32Key(0);
  if (i === maxEntries - 1) return undefined;
  return u32Key(i + 1);
}

/** A string usable as a JS Map key for the bytes (one char per byte). */
export function bytesKey(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** Per Memory, the address each value buffer was mapped at (buffers are reused, so regions stay bounded). */
const regionCache = new WeakMap<Memory, WeakMap<Uint8Array, bigint>>();

/**
 * The common part of every userspace map. Subclasses implement the errno-returning kernel operations; the
 * `BpfMap` methods (what user code calls) check sizes, copy bytes and turn errno values into `MapError`s.
 */
export abstract class UserMap implements BpfMap {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly spec: MapSpec;
  /** Number of simulated CPUs. */
  readonly ncpus: number;
  /** True for per-CPU maps: one value per CPU. */
  readonly percpu: boolean = false;
  /** Whether programs may write through value pointers (false with BPF_F_RDONLY_PROG). */
  progWritable: boolean;
  protected closed = false;

  constructor(spec: MapSpec, opts: UserMapOptions = {}) {
    this.spec = spec;
    this.name = spec.name;
    this.type = spec.type;
    this.keySize = spec.keySize;
    this.valueSize = spec.valueSize;
    this.maxEntries = spec.maxEntries;
    this.flags = spec.flags;
    this.ncpus = Math.max(1, opts.ncpus ?? 1);
    this.progWritable = (spec.flags & Uapi.BPF_F_RDONLY_PROG) === 0;
  }

  // ---- kernel-level operations: errno results, used by helpers ----

  /**
   * The live value bytes for `key` (this CPU's for per-CPU maps), or undefined. `fromProg` marks lookups made by a
   * program (they refresh LRU order; userspace lookups do not, as in the kernel).
   */
  abstract findValue(key: Uint8Array, cpu: number, fromProg: boolean): Uint8Array | undefined;
  /**
   * Insert or replace. `cpu` is the CPU of the calling program; `ALL_CPUS` for a userspace update of a per-CPU
   * map, where `value` holds `ncpus` values of `round8(valueSize)` bytes each. Returns 0 or a negative errno.
   */
  abstract updateElem(key: Uint8Array, value: Uint8Array, flags: number, cpu: number): number;
  /** Returns 0 or a negative errno. */
  abstract deleteElem(key: Uint8Array): number;
  /** The key after `key` (the first key when `key` is undefined or absent, as the kernel), or undefined at the end. */
  abstract nextKey(key: Uint8Array | undefined): Uint8Array | undefined;
  /** Number of elements present. */
  abstract get size(): number;

  /** Address of `key`'s value for a program running on `cpu` (0n when absent). */
  valueAddress(mem: Memory, key: Uint8Array, cpu: number): bigint {
    const v = this.findValue(key, cpu, true);
    return v ? this.addressOf(mem, v) : 0n;
  }

  /** The address of a live value buffer in `mem`, mapping it as a region the first time. */
  protected addressOf(mem: Memory, bytes: Uint8Array): bigint {
    let cache = regionCache.get(mem);
    if (!cache) {
      cache = new WeakMap();
      regionCache.set(mem, cache);
    }
    let addr = cache.get(bytes);
    if (addr === undefined) {
      addr = mem.map(bytes, { writable: this.progWritable, kind: 'map_value', name: `map ${this.name}` });
      cache.set(bytes, addr);
    }
    return addr;
  }

  /** Iterate elements for bpf_for_each_map_elem: calls `fn(key, value)` until it returns true (stop). */
  forEachElem(cpu: number, fn: (key: Uint8Array, value: Uint8Array) => boolean): number {
    let n = 0;
    let k = this.nextKey(undefined);
    while (k) {
      const v = this.findValue(k, cpu, false);
      const next = this.nextKey(k);
      if (v) {
        n++;
        if (fn(k, v)) break;
      }
      k = next;
    }
    return n;
  }

  // ---- BpfMap: userspace API ----

  protected fail(op: string, errno: number, detail?: string): never {
    throw new MapError(this.name, op, errno, detail);
  }

  protected checkKey(op: string, key: Uint8Array): void {
    if (this.closed) this.fail(op, -Errno.EINVAL, 'map is closed');
    if (key.length !== this.keySize) this.fail(op, -Errno.EINVAL, `key is ${key.length} bytes, map has ${this.keySize}`);
  }

  /** Size of a userspace value: `valueSize`, or `ncpus × round8(valueSize)` for per-CPU maps. */
  get userValueSize(): number {
    return this.percpu ? this.ncpus * perCpuStride(this.valueSize) : this.valueSize;
  }

  /**
   * The value, or undefined when the key is absent. For per-CPU maps: every CPU's value in the kernel's layout
   * (`ncpus` slots of `round8(valueSize)` bytes); see `lookupPerCpu` for one array per CPU.
   */
  lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey('lookup', key);
    if (!this.percpu) {
      const v = this.findValue(key, 0, false);
      return v ? v.slice(0, this.valueSize) : undefined;
    }
    const per = this.lookupPerCpu(key);
    return per ? packPerCpu(per, this.valueSize) : undefined;
  }

  /** One copy of the value per CPU (a single-element array for maps that are not per-CPU). */
  lookupPerCpu(key: Uint8Array): Uint8Array[] | undefined {
    this.checkKey('lookup', key);
    if (!this.percpu) {
      const v = this.lookup(key);
      return v ? [v] : undefined;
    }
    const out: Uint8Array[] = [];
    for (let cpu = 0; cpu < this.ncpus; cpu++) {
      const v = this.findValue(key, cpu, false);
      if (!v) return undefined;
      out.push(v.slice(0, this.valueSize));
    }
    return out;
  }

  /**
   * Insert or replace (`flags`: BPF_ANY / BPF_NOEXIST / BPF_EXIST, optionally BPF_F_LOCK). For per-CPU maps the
   * value is either one value (stored on every CPU) or every CPU's value in the kernel's layout.
   */
  update(key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.checkKey('update', key);
    let v = value;
    if (this.percpu) {
      const all = this.userValueSize;
      if (value.length === this.valueSize && value.length !== all) v = replicatePerCpu(value, this.ncpus);
      else if (value.length !== all) this.fail('update', -Errno.EINVAL, `value is ${value.length} bytes, expected ${this.valueSize} or ${all}`);
      const r = this.updateElem(key, v, flags, ALL_CPUS);
      if (r < 0) this.fail('update', r);
      return;
    }
    if (value.length !== this.valueSize) this.fail('update', -Errno.EINVAL, `value is ${value.length} bytes, map has ${this.valueSize}`);
    const r = this.updateElem(key, v, flags, ALL_CPUS);
    if (r < 0) this.fail('update', r);
  }

  /** Per-CPU update from one array per CPU. */
  updatePerCpu(key: Uint8Array, values: Uint8Array[], flags = 0): void {
    if (!this.percpu) {
      if (values.length !== 1) this.fail('update', -Errno.EINVAL, 'not a per-CPU map');
      this.update(key, values[0], flags);
      return;
    }
    if (values.length !== this.ncpus) this.fail('update', -Errno.EINVAL, `${values.length} values for ${this.ncpus} CPUs`);
    for (const x of values) if (x.length !== this.valueSize) this.fail('update', -Errno.EINVAL, `value is ${x.length} bytes, map has ${this.valueSize}`);
    this.update(key, packPerCpu(values, this.valueSize), flags);
  }

  /** Remove `key`. Returns false when it was absent; other failures (array maps: EINVAL) throw. */
  delete(key: Uint8Array): boolean {
    this.checkKey('delete', key);
    const r = this.deleteElem(key);
    if (r === -Errno.ENOENT) return false;
    if (r < 0) this.fail('delete', r);
    return true;
  }

  /** The next key after `key` (BPF_MAP_GET_NEXT_KEY), or undefined at the end. */
  getNextKey(key?: Uint8Array): Uint8Array | undefined {
    if (key) this.checkKey('get_next_key', key);
    const k = this.nextKey(key);
    return k ? k.slice() : undefined;
  }

  /** Look up and remove (BPF_MAP_LOOKUP_AND_DELETE_ELEM). */
  lookupAndDelete(key: Uint8Array): Uint8Array | undefined {
    const v = this.lookup(key);
    if (v) this.deleteElem(key);
    return v;
  }

  *keys(): IterableIterator<Uint8Array> {
    let k = this.nextKey(undefined);
    while (k) {
      const next = this.nextKey(k);
      yield k.slice();
      k = next;
    }
  }

  entries(): IterableIterator<[Uint8Array, Uint8Array]> {
    return mapEntries(this);
  }

  close(): void {
    this.closed = true;
  }

  /** Whether `close()` was called. */
  get isClosed(): boolean {
    return this.closed;
  }
}

/** Check update flags the way most maps do: only ANY/NOEXIST/EXIST, plus BPF_F_LOCK when `allowLock`. */
export function badUpdateFlags(flags: number, allowLock: boolean): boolean {
  const f = allowLock ? flags & ~Uapi.BPF_F_LOCK : flags;
  return f < 0 || f > Uapi.BPF_EXIST;
}
