/**
 * BPF_MAP_TYPE_BLOOM_FILTER in userspace, with the kernel's algorithm (kernel/bpf/bloom_filter.c): a bit array of
 * max_entries × nr_hashes × 7/5 bits rounded up to a power of two (at least 64), `nr_hashes` = map_extra & 0xf
 * (default 5), bit i of value v = jhash(v, seed + i) & mask (jhash2 when the value size is a multiple of 4). The
 * seed is random unless BPF_F_ZERO_SEED, then 0 — so with BPF_F_ZERO_SEED the same values set the same bits
 * (and give the same false positives) as in the kernel.
 *
 * Operations: push (bpf_map_push_elem / update) adds; peek (bpf_map_peek_elem / lookup) answers 0 = maybe present,
 * ENOENT = surely absent. No keys: delete, pop and get_next_key are EOPNOTSUPP/EINVAL as in the kernel.
 */
import type { MapSpec } from '../../spec/map.js';
import { Uapi } from '../../isa/uapi.js';
import { Errno } from '../errno.js';
import { UserMap, type UserMapOptions } from './base.js';
import { jhash, jhash2 } from './jhash.js';

/** A bloom filter. */
export class BloomFilterMap extends UserMap {
  readonly nrHashes: number;
  readonly seed: number;
  readonly bitsetMask: number;
  private readonly bits: Uint8Array;
  private added = 0;

  constructor(spec: MapSpec, opts: UserMapOptions = {}) {
    super(spec, opts);
    const extra = Number((spec.mapExtra ?? 0n) & 0xfn);
    this.nrHashes = extra || 5;
    let nrBits = spec.maxEntries * this.nrHashes;
    nrBits = Math.floor(nrBits / 5) * 7;
    let bytes: number;
    if (nrBits > 2 ** 31) {
      this.bitsetMask = 0xffffffff;
      bytes = 2 ** 29;
    } else {
      nrBits = nrBits <= 64 ? 64 : 2 ** Math.ceil(Math.log2(nrBits));
      this.bitsetMask = nrBits - 1;
      bytes = nrBits / 8;
    }
    this.bits = new Uint8Array(bytes);
    this.seed = spec.flags & Uapi.BPF_F_ZERO_SEED ? 0 : globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
  }

  get size(): number {
    return this.added;
  }

  private bit(value: Uint8Array, i: number): number {
    const seed = (this.seed + i) >>> 0;
    const h = this.valueSize % 4 === 0 ? jhash2(value, 0, this.valueSize >> 2, seed) : jhash(value, 0, this.valueSize, seed);
    return (h & this.bitsetMask) >>> 0;
  }

  /** Add a value (0 or -errno). */
  pushElem(value: Uint8Array, flags: number): number {
    if (flags !== Uapi.BPF_ANY) return -Errno.EINVAL;
    for (let i = 0; i < this.nrHashes; i++) {
      const b = this.bit(value, i);
      this.bits[b >>> 3] |= 1 << (b & 7);
    }
    this.added++;
    return 0;
  }

  /** 0 when `value` may be present, -ENOENT when it is surely absent. */
  peekElem(value: Uint8Array): number {
    for (let i = 0; i < this.nrHashes; i++) {
      const b = this.bit(value, i);
      if (!(this.bits[b >>> 3] & (1 << (b & 7)))) return -Errno.ENOENT;
    }
    return 0;
  }

  findValue(): Uint8Array | undefined {
    return undefined;
  }
  updateElem(_key: Uint8Array, value: Uint8Array, flags: number): number {
    return this.pushElem(value, flags);
  }
  deleteElem(): number {
    return -Errno.EOPNOTSUPP;
  }
  nextKey(): Uint8Array | undefined {
    return undefined;
  }

  /** Add a value from userspace. */
  add(value: Uint8Array): void {
    if (value.length !== this.valueSize) this.fail('update', -Errno.EINVAL, `value is ${value.length} bytes`);
    const r = this.pushElem(value, 0);
    if (r) this.fail('update', r);
  }
  /** Whether `value` may be in the set (false: surely not). */
  has(value: Uint8Array): boolean {
    if (value.length !== this.valueSize) this.fail('lookup', -Errno.EINVAL, `value is ${value.length} bytes`);
    return this.peekElem(value) === 0;
  }
  /** Bloom filters have no keys: `lookup(value)` returns the value when it may be present. */
  override lookup(value: Uint8Array): Uint8Array | undefined {
    return this.has(value) ? value.slice() : undefined;
  }
  override update(_key: Uint8Array, value: Uint8Array, flags = 0): void {
    if (flags !== 0) this.fail('update', -Errno.EINVAL);
    this.add(value);
  }
  override delete(_key?: Uint8Array): boolean {
    this.fail('delete', -Errno.EOPNOTSUPP);
  }
}
