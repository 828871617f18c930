/**
 * Array maps in userspace: BPF_MAP_TYPE_ARRAY and PERCPU_ARRAY (also what global data sections .data / .rodata /
 * .bss / .kconfig become). Values live in one buffer per CPU with the kernel's stride (value size rounded up to 8);
 * a program sees that buffer as one `map_value` region, so a lookup is `base + index * stride` and a direct value
 * load (lddw MAP_VALUE) is `base + offset`.
 *
 * Kernel semantics kept: index >= max_entries: lookup NULL, update E2BIG; NOEXIST → EEXIST (every element exists);
 * delete → EINVAL; get_next_key of an out-of-range key restarts at 0, of the last index ends (ENOENT).
 */
import type { Memory } from '../api.js';
import type { MapSpec } from '../../spec/map.js';
import { MapType, Uapi } from '../../isa/uapi.js';
import { Errno } from '../errno.js';
import { ALL_CPUS, UserMap, arrayNextKey, badUpdateFlags, keyU32, round8, type UserMapOptions } from './base.js';

/** An array map (per-CPU when the spec's type is PERCPU_ARRAY). */
export class ArrayMap extends UserMap {
  override readonly percpu: boolean;
  /** Bytes between consecutive elements (value size rounded up to 8). */
  readonly stride: number;
  /** The value storage, one buffer per CPU (a single one for plain arrays). */
  readonly storage: Uint8Array[];
  private readonly bases = new WeakMap<Memory, bigint[]>();

  constructor(spec: MapSpec, opts: UserMapOptions = {}) {
    super(spec, opts);
    this.percpu = spec.type === MapType.PERCPU_ARRAY;
    this.stride = round8(spec.valueSize);
    const n = this.percpu ? this.ncpus : 1;
    this.storage = [];
    for (let i = 0; i < n; i++) this.storage.push(new Uint8Array(spec.maxEntries * this.stride));
  }

  get size(): number {
    return this.maxEntries;
  }

  findValue(key: Uint8Array, cpu: number): Uint8Array | undefined {
    const i = keyU32(key);
    if (i >= this.maxEntries) return undefined;
    const s = this.storage[this.percpu ? cpu : 0];
    return s.subarray(i * this.stride, i * this.stride + this.valueSize);
  }

  /** Base address of CPU `cpu`'s value storage in `mem` (mapped on first use). */
  baseAddress(mem: Memory, cpu = 0): bigint {
    let b = this.bases.get(mem);
    if (!b) {
      b = [];
      this.bases.set(mem, b);
    }
    const c = this.percpu ? cpu : 0;
    let addr = b[c];
    if (addr === undefined) {
      addr = mem.map(this.storage[c], { writable: this.progWritable, kind: 'map_value', name: `map ${this.name}` });
      b[c] = addr;
    }
    return addr;
  }

  override valueAddress(mem: Memory, key: Uint8Array, cpu: number): bigint {
    const i = keyU32(key);
    if (i >= this.maxEntries) return 0n;
    return this.baseAddress(mem, cpu) + BigInt(i * this.stride);
  }

  updateElem(key: Uint8Array, value: Uint8Array, flags: number, cpu: number): number {
    if (badUpdateFlags(flags, !this.percpu)) return -Errno.EINVAL;
    const i = keyU32(key);
    if (i >= this.maxEntries) return -Errno.E2BIG;
    if ((flags & ~Uapi.BPF_F_LOCK) === Uapi.BPF_NOEXIST) return -Errno.EEXIST;
    const off = i * this.stride;
    if (this.percpu && cpu === ALL_CPUS) {
      for (let c = 0; c < this.ncpus; c++) this.storage[c].set(value.subarray(c * this.stride, c * this.stride + this.valueSize), off);
    } else {
      this.storage[this.percpu ? cpu : 0].set(value.subarray(0, this.valueSize), off);
    }
    return 0;
  }

  deleteElem(): number {
    return -Errno.EINVAL;
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    return arrayNextKey(this.maxEntries, key);
  }
}
