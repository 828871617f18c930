/**
 * File-descriptor ownership: every kernel object (map, program, link, perf event, BTF) owns one `FdRef` (maps,
 * programs and BPF links through their common base `KernelObject`, src/kernel/object.ts).
 * `close()` closes it once; a FinalizationRegistry closes descriptors of objects dropped without `close()`
 * (a safety net, not a substitute: descriptors pin kernel memory until closed).
 */
import { KernelError } from '../../errors.js';
import { sys } from './ffi.js';

const registry = new FinalizationRegistry<number>((fd) => {
  try {
    sys().close(fd);
  } catch {
    /* nothing to do at GC time */
  }
});

/** An owned file descriptor. */
export class FdRef {
  #fd: number;
  /** What this descriptor is (for error messages). */
  readonly what: string;

  constructor(fd: number, what = 'fd') {
    if (!Number.isInteger(fd) || fd < 0) throw new Error(`internal: bad fd ${fd} for ${what}`);
    this.#fd = fd;
    this.what = what;
    registry.register(this, fd, this);
  }

  /** The descriptor number; throws `KernelError(EBADF)` once closed. */
  get fd(): number {
    if (this.#fd < 0) throw new KernelError(this.what, 9, 'EBADF', { hint: `${this.what} is closed` });
    return this.#fd;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Close the descriptor (idempotent). */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    registry.unregister(this);
    sys().close(fd);
  }

  /** Close on a worker thread (idempotent); resolves when the kernel is done. */
  async closeAsync(): Promise<void> {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    registry.unregister(this);
    await sys().closeAsync(fd);
  }

  /** Give up ownership without closing (the caller now owns the number). */
  release(): number {
    const fd = this.fd;
    this.#fd = -1;
    registry.unregister(this);
    return fd;
  }
}
