/**
 * Kernel maps: creation from a `MapSpec`, element operations through pre-built attrs and per-map scratch
 * buffers (one koffi call per operation, no allocation but the returned copy), iteration, batches, per-CPU
 * values, queue/stack/bloom-filter operations, freezing, pinning. Implements the shared `BpfMap` interface.
 */
import { KernelError } from '../../errors.js';
import { BpfCmd, MapType, Uapi } from '../../isa/uapi.js';
import { mapEntries, packPerCpu, perCpuStride, replicatePerCpu, splitPerCpu, type BpfMap, type MapSpec } from '../../spec/map.js';
import { Attr, bpf, bpfAttr, bpfRaw, scratchAttr } from '../sys/bpf.js';
import { kernelError } from '../sys/errno.js';
import { LAYOUTS } from '../sys/attr.js';
import { FdRef } from '../sys/fd.js';
import { possibleCpus } from '../sys/fs.js';
import { mapInfo, type MapInfo } from '../info/info.js';
import { openById } from '../info/ids.js';
import { getPinned } from '../pin.js';
import { KernelObject } from '../object.js';
import { mapTypeName } from '../../isa/names.js';

const PERCPU_TYPES: ReadonlySet<number> = new Set([
  MapType.PERCPU_HASH,
  MapType.PERCPU_ARRAY,
  MapType.LRU_PERCPU_HASH,
  MapType.PERCPU_CGROUP_STORAGE,
]);
/** Map types whose elements have no key (push/pop/peek). */
const KEYLESS_TYPES: ReadonlySet<number> = new Set([MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER]);

/** True for per-CPU map types. */
export const isPerCpuMapType = (type: number): boolean => PERCPU_TYPES.has(type);

/** Extra creation options beyond the spec. */
export interface MapCreateOptions {
  /** For map-in-map: a map whose shape the inner maps share (or use `spec.inner`). */
  innerMap?: KernelMap;
  /** BTF object fd for `btfKeyTypeId` / `btfValueTypeId`. */
  btfFd?: number;
  btfVmlinuxValueTypeId?: number;
  ifindex?: number;
}

/** The element-op attr field positions, from the `MAP_ELEM` layout (src/kernel/sys/attr.ts). */
const ELEM_FIELDS = LAYOUTS.MAP_ELEM.fields;
const ELEM = { fd: ELEM_FIELDS.map_fd[0], key: ELEM_FIELDS.key[0], value: ELEM_FIELDS.value[0], flags: ELEM_FIELDS.flags[0] };

/** A live kernel map. */
export class KernelMap extends KernelObject implements BpfMap {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /** Bytes of one lookup/update value buffer: `valueSize`, or `roundup(valueSize, 8) × possible CPUs` per-CPU. */
  readonly valueBufferSize: number;
  /** Number of per-CPU slots (1 for ordinary maps). */
  readonly cpus: number;
  private readonly keyBuf: Buffer;
  private readonly nextBuf: Buffer;
  private readonly valBuf: Buffer;
  private readonly elem: Attr<'MAP_ELEM'>;
  private readonly next: Attr<'MAP_ELEM'>;
  /** DELETE_ELEM wants every field after `key` zero. */
  private readonly del: Attr<'MAP_ELEM'>;

  /** Wrap an owned map fd whose shape is known. Most code calls `create`, `fromFd`, `fromId` or `fromPin`. */
  constructor(fd: FdRef, shape: { name: string; type: number; keySize: number; valueSize: number; maxEntries: number; flags: number; id?: number }) {
    super(fd, shape.id);
    this.name = shape.name;
    this.type = shape.type;
    this.keySize = shape.keySize;
    this.valueSize = shape.valueSize;
    this.maxEntries = shape.maxEntries;
    this.flags = shape.flags;
    this.cpus = PERCPU_TYPES.has(this.type) ? possibleCpus().length : 1;
    this.valueBufferSize = this.cpus > 1 || PERCPU_TYPES.has(this.type) ? perCpuStride(this.valueSize) * this.cpus : this.valueSize;
    this.keyBuf = Buffer.alloc(Math.max(this.keySize, 8));
    this.nextBuf = Buffer.alloc(Math.max(this.keySize, 8));
    this.valBuf = Buffer.alloc(Math.max(this.valueBufferSize, 8));
    this.elem = new Attr('MAP_ELEM');
    this.elem.set('map_fd', fd.fd);
    if (this.keySize > 0) this.elem.set('key', this.keyBuf);
    this.elem.set('value', this.valBuf);
    this.next = new Attr('MAP_ELEM');
    this.next.set('map_fd', fd.fd).set('key', this.keyBuf).set('next_key', this.nextBuf);
    this.del = new Attr('MAP_ELEM');
    this.del.set('map_fd', fd.fd).set('key', this.keyBuf);
  }

  /** Create a map from a spec (BPF_MAP_CREATE). Map-in-map specs need `spec.inner` or `opts.innerMap`. */
  static create(spec: MapSpec, opts: MapCreateOptions = {}): KernelMap {
    let inner = opts.innerMap;
    let ownInner: KernelMap | undefined;
    if ((spec.type === MapType.ARRAY_OF_MAPS || spec.type === MapType.HASH_OF_MAPS) && !inner) {
      if (!spec.inner) throw new KernelError('MAP_CREATE', 22, 'EINVAL', { detail: spec.name, hint: 'a map-in-map needs an inner map spec' });
      ownInner = inner = KernelMap.create({ ...spec.inner, name: spec.inner.name || `${spec.name}_in`.slice(0, 15) });
    }
    try {
      const { ret } = bpf(
        'MAP_CREATE',
        {
          map_type: spec.type,
          key_size: spec.keySize,
          value_size: spec.valueSize,
          max_entries: spec.maxEntries,
          map_flags: spec.flags | (spec.numaNode !== undefined ? Uapi.BPF_F_NUMA_NODE : 0),
          inner_map_fd: inner?.fd,
          numa_node: spec.numaNode,
          map_name: sanitizeName(spec.name),
          map_ifindex: opts.ifindex,
          btf_fd: opts.btfFd !== undefined && (spec.btfKeyTypeId || spec.btfValueTypeId || opts.btfVmlinuxValueTypeId) ? opts.btfFd : undefined,
          btf_key_type_id: opts.btfFd !== undefined ? spec.btfKeyTypeId : undefined,
          btf_value_type_id: opts.btfFd !== undefined ? spec.btfValueTypeId : undefined,
          btf_vmlinux_value_type_id: opts.btfVmlinuxValueTypeId,
          map_extra: spec.mapExtra,
        },
        { detail: `${mapTypeName(spec.type)} map ${spec.name}` },
      );
      return new KernelMap(new FdRef(ret, `map ${spec.name}`), {
        name: spec.name,
        type: spec.type,
        keySize: spec.keySize,
        valueSize: spec.valueSize,
        maxEntries: spec.maxEntries,
        flags: spec.flags,
      });
    } finally {
      ownInner?.close();
    }
  }

  /** Take ownership of a map fd (shape read from the kernel). */
  static fromFd(fd: number | FdRef): KernelMap {
    const ref = typeof fd === 'number' ? new FdRef(fd, 'map') : fd;
    const i = mapInfo(ref.fd);
    return new KernelMap(ref, { name: i.name, type: i.type, keySize: i.keySize, valueSize: i.valueSize, maxEntries: i.maxEntries, flags: i.flags, id: i.id });
  }

  /** Open a map by kernel id. */
  static fromId(id: number): KernelMap {
    return KernelMap.fromFd(openById('map', id));
  }

  /** Open a pinned map. Throws `KernelError('OBJ_GET', ENOENT)` when the pin is missing. */
  static fromPin(path: string, opts: { readOnly?: boolean } = {}): KernelMap {
    const m = KernelMap.fromFd(getPinned(path, opts));
    m.pinnedAt = path;
    return m;
  }

  /** What the kernel says about this map. */
  info(): MapInfo {
    return mapInfo(this.fd);
  }

  private err(command: string, errno: number, detail?: string): KernelError {
    return kernelError(command, errno, { detail: detail ?? `map ${this.name}` });
  }

  private setKey(key: Uint8Array | null | undefined, command: string): void {
    if (this.keySize === 0) {
      if (key && key.length) throw new KernelError(command, 22, 'EINVAL', { detail: `map ${this.name}`, hint: `${mapTypeName(this.type)} maps take no key` });
      return;
    }
    if (!key || key.length !== this.keySize) {
      throw new KernelError(command, 22, 'EINVAL', { detail: `map ${this.name}`, hint: `key is ${key ? key.length : 0} bytes, this map's keys are ${this.keySize} bytes` });
    }
    this.keyBuf.set(key);
  }

  private setValue(value: Uint8Array, command: string): void {
    const n = this.valueBufferSize;
    if (value.length === n) {
      this.valBuf.set(value);
      return;
    }
    if (this.cpus > 1 || PERCPU_TYPES.has(this.type)) {
      if (value.length === this.valueSize) {
        replicatePerCpu(value, this.cpus, this.valBuf); // one value for every CPU
        return;
      }
    }
    throw new KernelError(command, 22, 'EINVAL', {
      detail: `map ${this.name}`,
      hint: `value is ${value.length} bytes, this map's values are ${this.valueSize} bytes${n !== this.valueSize ? ` (${n} for all CPUs)` : ''}`,
    });
  }

  private lastFlags = 0;

  private elemCall(cmd: number, flags: number, withKey: boolean): number {
    const b = this.elem.buf;
    this.fdRef.fd; // throws EBADF once closed (the attr keeps the old number)
    if (!withKey) b.writeBigUInt64LE(0n, ELEM.key);
    if (flags !== this.lastFlags) {
      b.writeBigUInt64LE(BigInt(flags), ELEM.flags);
      this.lastFlags = flags;
    }
    const r = bpfRaw(cmd, this.elem.addr, this.elem.size);
    if (!withKey && this.keySize > 0) this.elem.set('key', this.keyBuf);
    return r;
  }

  /** The value (a copy), or undefined when the key is absent. Per-CPU maps: all CPUs' slots concatenated. */
  lookup(key: Uint8Array, flags = 0): Uint8Array | undefined {
    this.setKey(key, 'MAP_LOOKUP_ELEM');
    const r = this.elemCall(BpfCmd.MAP_LOOKUP_ELEM, flags, this.keySize > 0);
    if (r < 0) {
      if (r === -2) return undefined;
      throw this.err('MAP_LOOKUP_ELEM', -r);
    }
    return Uint8Array.prototype.slice.call(this.valBuf, 0, this.valueBufferSize);
  }

  /** Per-CPU maps: one value per possible CPU (each `valueSize` bytes), or undefined when absent. */
  lookupPerCpu(key: Uint8Array): Uint8Array[] | undefined {
    const raw = this.lookup(key);
    if (!raw) return undefined;
    return splitPerCpu(raw, this.valueSize, this.cpus);
  }

  /** Insert or replace (`flags`: UpdateFlags.ANY / NOEXIST / EXIST / LOCK). Per-CPU: one value for all, or all slots. */
  update(key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.setKey(key, 'MAP_UPDATE_ELEM');
    this.setValue(value, 'MAP_UPDATE_ELEM');
    const r = this.elemCall(BpfCmd.MAP_UPDATE_ELEM, flags, this.keySize > 0);
    if (r < 0) throw this.err('MAP_UPDATE_ELEM', -r);
  }

  /** Per-CPU maps: set each CPU's value. */
  updatePerCpu(key: Uint8Array, values: Uint8Array[], flags = 0): void {
    if (values.length !== this.cpus) {
      throw new KernelError('MAP_UPDATE_ELEM', 22, 'EINVAL', { detail: `map ${this.name}`, hint: `${values.length} values given, ${this.cpus} possible CPUs` });
    }
    this.update(key, packPerCpu(values, this.valueSize), flags);
  }

  /** Delete; false when the key was absent. */
  delete(key: Uint8Array): boolean {
    this.setKey(key, 'MAP_DELETE_ELEM');
    this.del.buf.writeUInt32LE(this.fdRef.fd, ELEM.fd);
    const r = bpfRaw(BpfCmd.MAP_DELETE_ELEM, this.del.addr, this.del.size);
    if (r < 0) {
      if (r === -2) return false;
      throw this.err('MAP_DELETE_ELEM', -r);
    }
    return true;
  }

  /** Look up and delete in one step (hash maps since 5.14; queue/stack pop). Undefined when absent. */
  lookupAndDelete(key: Uint8Array | null, flags = 0): Uint8Array | undefined {
    this.setKey(key, 'MAP_LOOKUP_AND_DELETE_ELEM');
    const r = this.elemCall(BpfCmd.MAP_LOOKUP_AND_DELETE_ELEM, flags, this.keySize > 0);
    if (r < 0) {
      if (r === -2) return undefined;
      throw this.err('MAP_LOOKUP_AND_DELETE_ELEM', -r);
    }
    return new Uint8Array(this.valBuf.subarray(0, this.valueBufferSize));
  }

  /** Queue/stack: add a value (`flags` BPF_EXIST overwrites the oldest when full). Bloom filter: add. */
  push(value: Uint8Array, flags = 0): void {
    this.setValue(value, 'MAP_UPDATE_ELEM');
    const r = this.elemCall(BpfCmd.MAP_UPDATE_ELEM, flags, false);
    if (r < 0) throw this.err('MAP_UPDATE_ELEM', -r);
  }

  /** Queue/stack: remove and return the next value, undefined when empty. */
  pop(): Uint8Array | undefined {
    const r = this.elemCall(BpfCmd.MAP_LOOKUP_AND_DELETE_ELEM, 0, false);
    if (r < 0) {
      if (r === -2) return undefined;
      throw this.err('MAP_LOOKUP_AND_DELETE_ELEM', -r);
    }
    return new Uint8Array(this.valBuf.subarray(0, this.valueSize));
  }

  /** Queue/stack: the next value without removing it. */
  peek(): Uint8Array | undefined {
    const r = this.elemCall(BpfCmd.MAP_LOOKUP_ELEM, 0, false);
    if (r < 0) {
      if (r === -2) return undefined;
      throw this.err('MAP_LOOKUP_ELEM', -r);
    }
    return new Uint8Array(this.valBuf.subarray(0, this.valueSize));
  }

  /** Bloom filter: true when the value may be present, false when it certainly is not. */
  contains(value: Uint8Array): boolean {
    this.setValue(value, 'MAP_LOOKUP_ELEM');
    const r = this.elemCall(BpfCmd.MAP_LOOKUP_ELEM, 0, false);
    if (r === -2) return false;
    if (r < 0) throw this.err('MAP_LOOKUP_ELEM', -r);
    return true;
  }

  /** Keys in the kernel's iteration order (BPF_MAP_GET_NEXT_KEY). */
  *keys(): IterableIterator<Uint8Array> {
    if (KEYLESS_TYPES.has(this.type) || this.keySize === 0) return;
    const b = this.next.buf;
    let first = true;
    for (;;) {
      b.writeUInt32LE(this.fdRef.fd, ELEM.fd);
      if (first) b.writeBigUInt64LE(0n, ELEM.key);
      const r = bpfRaw(BpfCmd.MAP_GET_NEXT_KEY, this.next.addr, this.next.size);
      if (first) this.next.set('key', this.keyBuf);
      if (r < 0) {
        if (r === -2) return;
        throw this.err('MAP_GET_NEXT_KEY', -r);
      }
      first = false;
      const k = new Uint8Array(this.nextBuf.subarray(0, this.keySize));
      this.keyBuf.set(k);
      yield k;
      this.keyBuf.set(k); // the consumer may have used lookup() meanwhile (shared key buffer)
    }
  }

  /** [key, value] pairs; entries deleted during the walk are skipped. */
  entries(): IterableIterator<[Uint8Array, Uint8Array]> {
    return mapEntries(this);
  }

  [Symbol.iterator](): IterableIterator<[Uint8Array, Uint8Array]> {
    return this.entries();
  }

  /**
   * Batched lookup (BPF_MAP_LOOKUP_BATCH, or LOOKUP_AND_DELETE_BATCH with `andDelete`): yields pages of up to
   * `batchSize` entries. Throws `KernelError(EINVAL/ENOTSUPP)` on map types or kernels without batch ops.
   */
  *lookupBatch(opts: { batchSize?: number; andDelete?: boolean } = {}): IterableIterator<[Uint8Array, Uint8Array][]> {
    const n = Math.max(1, opts.batchSize ?? 256);
    const cmd = opts.andDelete ? 'MAP_LOOKUP_AND_DELETE_BATCH' : 'MAP_LOOKUP_BATCH';
    const keys = Buffer.alloc(n * this.keySize);
    const vals = Buffer.alloc(n * this.valueBufferSize);
    const tokA = Buffer.alloc(Math.max(this.keySize, 8));
    const tokB = Buffer.alloc(Math.max(this.keySize, 8));
    let inBatch: Buffer | undefined;
    for (;;) {
      const a = new Attr('MAP_BATCH');
      a.setAll({ map_fd: this.fd, in_batch: inBatch, out_batch: inBatch === tokA ? tokB : tokA, keys, values: vals, count: n });
      const r = bpfRaw(BpfCmd[cmd], a.addr, a.size);
      const got = a.get('count');
      const page: [Uint8Array, Uint8Array][] = [];
      for (let i = 0; i < got; i++) {
        page.push([
          new Uint8Array(keys.subarray(i * this.keySize, (i + 1) * this.keySize)),
          new Uint8Array(vals.subarray(i * this.valueBufferSize, (i + 1) * this.valueBufferSize)),
        ]);
      }
      if (r < 0 && r !== -2) throw this.err(cmd, -r);
      if (page.length) yield page;
      if (r === -2) return;
      const out = inBatch === tokA ? tokB : tokA;
      inBatch = out;
    }
  }

  /** Batched update; returns how many were written. */
  updateBatch(keys: Uint8Array[], values: Uint8Array[], flags = 0): number {
    if (keys.length !== values.length) throw new KernelError('MAP_UPDATE_BATCH', 22, 'EINVAL', { hint: 'keys and values differ in count' });
    const kb = Buffer.alloc(keys.length * this.keySize);
    const vb = Buffer.alloc(values.length * this.valueBufferSize);
    keys.forEach((k, i) => {
      if (k.length !== this.keySize) throw new KernelError('MAP_UPDATE_BATCH', 22, 'EINVAL', { hint: `key ${i} is ${k.length} bytes, not ${this.keySize}` });
      kb.set(k, i * this.keySize);
    });
    values.forEach((v, i) => {
      if (v.length !== this.valueBufferSize) throw new KernelError('MAP_UPDATE_BATCH', 22, 'EINVAL', { hint: `value ${i} is ${v.length} bytes, not ${this.valueBufferSize}` });
      vb.set(v, i * this.valueBufferSize);
    });
    const a = new Attr('MAP_BATCH').setAll({ map_fd: this.fd, keys: kb, values: vb, count: keys.length, elem_flags: flags });
    const r = bpfRaw(BpfCmd.MAP_UPDATE_BATCH, a.addr, a.size);
    if (r < 0) throw this.err('MAP_UPDATE_BATCH', -r);
    return a.get('count');
  }

  /** Batched delete; returns how many were deleted (stops at the first absent key with ENOENT). */
  deleteBatch(keys: Uint8Array[]): number {
    const kb = Buffer.alloc(keys.length * this.keySize);
    keys.forEach((k, i) => {
      // A short key would be zero-padded and a long one cut: either deletes some other entry.
      if (k.length !== this.keySize) throw new KernelError('MAP_DELETE_BATCH', 22, 'EINVAL', { hint: `key ${i} is ${k.length} bytes, not ${this.keySize}` });
      kb.set(k, i * this.keySize);
    });
    const a = new Attr('MAP_BATCH').setAll({ map_fd: this.fd, keys: kb, count: keys.length });
    const r = bpfRaw(BpfCmd.MAP_DELETE_BATCH, a.addr, a.size);
    if (r < 0 && r !== -2) throw this.err('MAP_DELETE_BATCH', -r);
    return a.get('count');
  }

  /** Make the map read-only for user space (BPF_MAP_FREEZE); programs may still write unless RDONLY_PROG. */
  freeze(): void {
    const a = scratchAttr('MAP_ELEM').set('map_fd', this.fd);
    bpfAttr('MAP_FREEZE', a, { detail: `map ${this.name}` });
  }

  override toString(): string {
    return `KernelMap(${mapTypeName(this.type)} ${this.name}, key ${this.keySize}, value ${this.valueSize}, max ${this.maxEntries})`;
  }
}

/** Kernel object names: up to 15 characters of [A-Za-z0-9_.]. */
export function sanitizeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 15);
}

export { MapType };
