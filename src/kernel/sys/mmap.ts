/**
 * Shared memory mappings of kernel objects (ring buffers, perf buffers, mmapable arrays) as zero-copy
 * ArrayBuffers. A mapping is unmapped by `unmap()` (views must not be touched afterwards — the owner drops
 * them first) or, if forgotten, by a FinalizationRegistry once its ArrayBuffer is unreachable.
 */
import { kernelError } from './errno.js';
import { sys, viewOf } from './ffi.js';

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;
const MAP_FAILED = 0xffffffffffffffffn;

const registry = new FinalizationRegistry<{ addr: bigint; len: number }>((m) => {
  try {
    sys().munmap(m.addr, m.len);
  } catch {
    /* GC time */
  }
});

/** One mapping. */
export class Mapping {
  readonly addr: bigint;
  readonly length: number;
  #buffer: ArrayBuffer | undefined;
  private readonly token = {};

  private constructor(addr: bigint, length: number) {
    this.addr = addr;
    this.length = length;
    this.#buffer = viewOf(addr, length);
    registry.register(this.#buffer, { addr, len: length }, this.token);
  }

  /** mmap(fd, length, prot, MAP_SHARED, offset). Throws `KernelError('mmap', errno)`. */
  static map(fd: number, length: number, prot: number, offset = 0): Mapping {
    const s = sys();
    const addr = s.mmap(0n, length, prot, MAP_SHARED, fd, offset);
    if (addr === MAP_FAILED) throw kernelError('mmap', s.errno());
    return new Mapping(addr, length);
  }

  /** The mapped bytes (throws once unmapped). */
  get buffer(): ArrayBuffer {
    if (!this.#buffer) throw new Error('mapping used after unmap');
    return this.#buffer;
  }

  get mapped(): boolean {
    return this.#buffer !== undefined;
  }

  /** Unmap now. Views over `buffer` become invalid: the owner must drop them first. */
  unmap(): void {
    if (!this.#buffer) return;
    this.#buffer = undefined;
    registry.unregister(this.token);
    sys().munmap(this.addr, this.length);
  }
}

/** The system page size (from libc). */
export { systemPageSize as pageSize } from "./ffi.js";
