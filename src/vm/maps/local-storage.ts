/**
 * Local storage maps in userspace: BPF_MAP_TYPE_TASK_STORAGE, SK_STORAGE and INODE_STORAGE — one value per owner
 * object (a task, a socket, an inode), created on demand by bpf_*_storage_get with BPF_LOCAL_STORAGE_GET_F_CREATE.
 * Owners are identified by a number: the runtime's simulated task id (tid), socket cookie or inode number. From
 * userspace the key (4 bytes, an fd in the kernel) is that number.
 *
 * Kernel semantics kept: get without F_CREATE on a missing owner → NULL; with F_CREATE the value is initialised
 * from the given value pointer, or zeroed; NOEXIST / EXIST on update; delete of a missing owner → ENOENT.
 * Old-style cgroup storage (BPF_MAP_TYPE_CGROUP_STORAGE, bpf_get_local_storage) is not implemented.
 */
import type { Memory } from '../api.js';
import type { MapSpec } from '../../spec/map.js';
import { Uapi } from '../../isa/uapi.js';
import { Errno } from '../errno.js';
import { UserMap, badUpdateFlags, keyU32, u32Key, type UserMapOptions } from './base.js';

/** A local storage map. */
export class LocalStorageMap extends UserMap {
  private readonly owners = new Map<number, Uint8Array>();

  constructor(spec: MapSpec, opts: UserMapOptions = {}) {
    super(spec, opts);
  }

  get size(): number {
    return this.owners.size;
  }

  /** The owner's value, created (from `init` or zeros) when `create`; undefined when absent and not created. */
  storageGet(owner: number, create: boolean, init?: Uint8Array): Uint8Array | undefined {
    let v = this.owners.get(owner);
    if (!v && create) {
      v = new Uint8Array(this.valueSize);
      if (init) v.set(init.subarray(0, this.valueSize));
      this.owners.set(owner, v);
    }
    return v;
  }

  /** Address of the owner's value in `mem` (0n when absent and not created): what bpf_*_storage_get returns. */
  storageAddress(mem: Memory, owner: number, create: boolean, init?: Uint8Array): bigint {
    const v = this.storageGet(owner, create, init);
    return v ? this.addressOf(mem, v) : 0n;
  }

  /** Remove the owner's value: 0 or -ENOENT. */
  storageDelete(owner: number): number {
    return this.owners.delete(owner) ? 0 : -Errno.ENOENT;
  }

  findValue(key: Uint8Array): Uint8Array | undefined {
    return this.owners.get(keyU32(key));
  }
  updateElem(key: Uint8Array, value: Uint8Array, flags: number): number {
    if (badUpdateFlags(flags, true)) return -Errno.EINVAL;
    const owner = keyU32(key);
    const old = this.owners.get(owner);
    const mode = flags & ~Uapi.BPF_F_LOCK;
    if (old && mode === Uapi.BPF_NOEXIST) return -Errno.EEXIST;
    if (!old && mode === Uapi.BPF_EXIST) return -Errno.ENOENT;
    if (old) old.set(value.subarray(0, this.valueSize));
    else this.storageGet(owner, true, value);
    return 0;
  }
  deleteElem(key: Uint8Array): number {
    return this.storageDelete(keyU32(key));
  }
  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    const ks = [...this.owners.keys()];
    if (!key) return ks.length ? u32Key(ks[0]) : undefined;
    const i = ks.indexOf(keyU32(key));
    if (i < 0) return ks.length ? u32Key(ks[0]) : undefined;
    return i + 1 < ks.length ? u32Key(ks[i + 1]) : undefined;
  }
}
