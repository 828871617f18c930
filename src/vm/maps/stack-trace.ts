/**
 * BPF_MAP_TYPE_STACK_TRACE in userspace: key u32 stack id, value = up to value_size / 8 u64 instruction pointers
 * (zero-padded). bpf_get_stackid stores a stack the way kernel/bpf/stackmap.c does: id = jhash2(ips, 0) &
 * (roundup_pow_of_two(max_entries) - 1), the same stack gives the same id, a different stack on a taken bucket is
 * EEXIST unless BPF_F_REUSE_STACKID, BPF_F_FAST_STACK_CMP compares hashes only. Stack ids therefore equal the
 * kernel's for the same addresses. Build-id stacks (BPF_F_STACK_BUILD_ID) are not supported.
 */
import type { MapSpec } from '../../spec/map.js';
import { Uapi } from '../../isa/uapi.js';
import { Errno } from '../errno.js';
import { UserMap, keyU32, u32Key, type UserMapOptions } from './base.js';
import { MapError } from './errors.js';
import { jhash2 } from './jhash.js';

interface Bucket {
  hash: number;
  nr: number;
  /** value_size bytes: the ips then zeros. */
  data: Uint8Array;
}

/** A stack trace map. */
export class StackTraceMap extends UserMap {
  readonly nBuckets: number;
  /** Maximum frames a stack keeps. */
  readonly depth: number;
  private readonly buckets: (Bucket | undefined)[];
  private count = 0;

  constructor(spec: MapSpec, opts: UserMapOptions = {}) {
    super(spec, opts);
    if (spec.flags & Uapi.BPF_F_STACK_BUILD_ID) throw new MapError(spec.name, 'create', -Errno.EOPNOTSUPP, 'build-id stack maps are not supported by the userspace runtime');
    if (spec.keySize !== 4 || spec.valueSize < 8 || spec.valueSize % 8) throw new MapError(spec.name, 'create', -Errno.EINVAL, 'stack trace map needs key_size 4, value_size a multiple of 8');
    this.nBuckets = 2 ** Math.ceil(Math.log2(Math.max(1, spec.maxEntries)));
    this.depth = spec.valueSize / 8;
    this.buckets = new Array(this.nBuckets);
    this.progWritable = false;
  }

  get size(): number {
    return this.count;
  }

  /**
   * bpf_get_stackid: store `ips` (already without skipped frames; truncated to the map's depth) and return its id,
   * or a negative errno.
   */
  getStackId(ips: readonly bigint[], flags: number): number {
    const nr = Math.min(ips.length, this.depth);
    if (nr === 0) return -Errno.EFAULT;
    const raw = new Uint8Array(nr * 8);
    const dv = new DataView(raw.buffer);
    for (let i = 0; i < nr; i++) dv.setBigUint64(i * 8, BigInt.asUintN(64, ips[i]), true);
    const hash = jhash2(raw, 0, nr * 2, 0);
    const id = hash & (this.nBuckets - 1);
    const b = this.buckets[id];
    const hashMatches = !!b && b.hash === hash;
    if (hashMatches && flags & Uapi.BPF_F_FAST_STACK_CMP) return id;
    if (hashMatches && b!.nr === nr && raw.every((x, i) => b!.data[i] === x)) return id;
    if (b && !(flags & Uapi.BPF_F_REUSE_STACKID)) return -Errno.EEXIST;
    const data = new Uint8Array(this.valueSize);
    data.set(raw);
    if (!b) this.count++;
    this.buckets[id] = { hash, nr, data };
    return id;
  }

  findValue(key: Uint8Array): Uint8Array | undefined {
    const id = keyU32(key);
    return id < this.nBuckets ? this.buckets[id]?.data : undefined;
  }
  updateElem(): number {
    return -Errno.EINVAL;
  }
  deleteElem(key: Uint8Array): number {
    const id = keyU32(key);
    if (id >= this.nBuckets) return -Errno.E2BIG;
    if (!this.buckets[id]) return -Errno.ENOENT;
    this.buckets[id] = undefined;
    this.count--;
    return 0;
  }
  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    let id = 0;
    if (key) {
      const k = keyU32(key);
      id = k >= this.nBuckets || !this.buckets[k] ? 0 : k + 1;
    }
    for (; id < this.nBuckets; id++) if (this.buckets[id]) return u32Key(id);
    return undefined;
  }
  /** The frames stored under a stack id (without the zero padding). */
  stack(id: number): bigint[] | undefined {
    const b = id >>> 0 < this.nBuckets ? this.buckets[id >>> 0] : undefined;
    if (!b) return undefined;
    const dv = new DataView(b.data.buffer, b.data.byteOffset);
    return Array.from({ length: b.nr }, (_, i) => dv.getBigUint64(i * 8, true));
  }
}
