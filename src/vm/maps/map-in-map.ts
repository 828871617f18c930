/**
 * Maps of maps in userspace: BPF_MAP_TYPE_ARRAY_OF_MAPS and HASH_OF_MAPS. Values are inner maps, stored as their
 * pseudo fd (src/vm/objects.ts), which userspace lookups return like the kernel returns a map id. A program's
 * lookup yields the inner map's handle (the helpers resolve it through the run's handle table).
 *
 * Kernel semantics kept: the inner map must match the spec's inner map (type, key and value size, flags, and
 * max_entries unless the inner spec has BPF_F_INNER_MAP) or the update is EINVAL; an fd naming no map is EBADF.
 */
import type { MapSpec } from '../../spec/map.js';
import { Uapi } from '../../isa/uapi.js';
import { EBADF, Errno } from '../errno.js';
import { objectById, objectId } from '../objects.js';
import { UserMap, keyU32, u32Key, type UserMapOptions } from './base.js';
import { SparseArrayMap } from './sparse.js';
import { HashMap } from './hash.js';

function checkInner(meta: MapSpec | undefined, value: Uint8Array): number {
  const inner = objectById(keyU32(value));
  if (!(inner instanceof UserMap)) return -EBADF;
  if (!meta) return 0;
  if (
    inner.type !== meta.type ||
    inner.keySize !== meta.keySize ||
    inner.valueSize !== meta.valueSize ||
    (inner.flags & ~Uapi.BPF_F_INNER_MAP) !== (meta.flags & ~Uapi.BPF_F_INNER_MAP) ||
    (!(meta.flags & Uapi.BPF_F_INNER_MAP) && inner.maxEntries !== meta.maxEntries)
  ) {
    return -Errno.EINVAL;
  }
  return 0;
}

function resolve(v: Uint8Array | undefined): UserMap | undefined {
  if (!v) return undefined;
  const m = objectById(keyU32(v));
  return m instanceof UserMap ? m : undefined;
}

/** An array of maps. */
export class ArrayOfMaps extends SparseArrayMap {
  constructor(spec: MapSpec, opts: UserMapOptions = {}) {
    super(spec, opts);
  }
  protected override validate(value: Uint8Array): number {
    return checkInner(this.spec.inner, value);
  }
  /** The inner map stored under `key`. */
  innerMap(key: Uint8Array): UserMap | undefined {
    return resolve(this.findValue(key));
  }
  /** Store `inner` at `index`. */
  setMap(index: number, inner: UserMap): void {
    this.update(u32Key(index), u32Key(objectId(inner)));
  }
}

/** A hash of maps. */
export class HashOfMaps extends HashMap {
  constructor(spec: MapSpec, opts: UserMapOptions = {}) {
    super(spec, opts);
    this.progWritable = false;
  }
  override updateElem(key: Uint8Array, value: Uint8Array, flags: number, cpu: number): number {
    if (flags & Uapi.BPF_F_LOCK) return -Errno.EINVAL;
    const err = checkInner(this.spec.inner, value);
    return err || super.updateElem(key, value, flags, cpu);
  }
  /** The inner map stored under `key`. */
  innerMap(key: Uint8Array): UserMap | undefined {
    return resolve(this.findValue(key, 0, false));
  }
  /** Store `inner` under `key`. */
  setMap(key: Uint8Array, inner: UserMap): void {
    this.update(key, u32Key(objectId(inner)));
  }
}

/** Whether a map holds maps. */
export function isMapOfMaps(m: unknown): m is ArrayOfMaps | HashOfMaps {
  return m instanceof ArrayOfMaps || m instanceof HashOfMaps;
}
