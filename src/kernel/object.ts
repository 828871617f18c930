/**
 * The base of kernel objects that own one descriptor — maps, programs, BPF links: `fd`, `closed`, `close()` /
 * `closeAsync()`, pinning in bpffs (`pin`, `unpin`, `pinPath`) and the kernel id (read once from `info()`).
 * The descriptor is an `FdRef`, whose FinalizationRegistry closes it when an object is dropped unclosed.
 */
import type { FdRef } from './sys/fd.js';
import { pinFd, unpin } from './pin.js';

/** A kernel object behind one owned file descriptor. */
export abstract class KernelObject {
  /** The owned descriptor. */
  readonly fdRef: FdRef;
  /** Where bpfkit pinned this object (by `pin`) or opened it from (a `fromPin` constructor). */
  protected pinnedAt?: string;
  #id?: number;

  /** `id`: the kernel id when already known (saves an info query). */
  protected constructor(fd: FdRef, id?: number) {
    this.fdRef = fd;
    this.#id = id;
  }

  /** What the kernel says about this object (BPF_OBJ_GET_INFO_BY_FD). */
  abstract info(): { id: number };

  /** The descriptor; throws `KernelError(EBADF)` once closed. */
  get fd(): number {
    return this.fdRef.fd;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.fdRef.closed;
  }

  /** The kernel's id of this object (asked once, then remembered). */
  get id(): number {
    return (this.#id ??= this.info().id);
  }

  /** Where this object is pinned by bpfkit, if it is. */
  get pinPath(): string | undefined {
    return this.pinnedAt;
  }

  /** Pin at a bpffs path (parent directories created; the object then outlives this process). */
  pin(path: string): void {
    pinFd(this.fd, path);
    this.pinnedAt = path;
  }

  /** Remove the pin this object was pinned at (by `pin` or `fromPin`); nothing when it has none. */
  unpin(): void {
    if (this.pinnedAt) unpin(this.pinnedAt);
    this.pinnedAt = undefined;
  }

  /** Close the descriptor (idempotent); the kernel frees the object once nothing else references it. */
  close(): void {
    this.fdRef.close();
  }

  /** Close on a worker thread (idempotent); resolves when the kernel is done. */
  closeAsync(): Promise<void> {
    return this.fdRef.closeAsync();
  }
}
