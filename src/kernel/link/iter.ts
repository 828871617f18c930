/**
 * BPF iterators (`iter/task`, `iter/bpf_map_elem`, ...): BPF_LINK_CREATE (BPF_TRACE_ITER, optional map target),
 * then each BPF_ITER_CREATE gives a fresh fd whose read(2) runs the program over the objects: read as a whole
 * or as a stream of chunks.
 */
import { readSync } from 'node:fs';
import { AttachType } from '../../isa/uapi.js';
import type { KernelProgram } from '../load/program.js';
import { bpf } from '../sys/bpf.js';
import { FdRef } from '../sys/fd.js';
import { BpfLink, linkCreate } from './link.js';

/** An iterator link; `read()` runs one pass. */
export class IterLink extends BpfLink {
  /** Open one pass (BPF_ITER_CREATE): an owned fd to read from. */
  open(): FdRef {
    const { ret } = bpf('ITER_CREATE', { link_fd: this.fd }, { detail: this.target });
    return new FdRef(ret, `iter ${this.target}`);
  }

  /** One pass as chunks (synchronous reads; iterators never block). */
  *chunks(chunkSize = 64 * 1024): Generator<Buffer> {
    const fd = this.open();
    try {
      const buf = Buffer.alloc(chunkSize);
      for (;;) {
        const n = readSync(fd.fd, buf, 0, buf.length, null);
        if (n <= 0) return;
        yield Buffer.from(buf.subarray(0, n));
      }
    } finally {
      fd.close();
    }
  }

  /** One pass, read whole. */
  read(): Buffer {
    return Buffer.concat([...this.chunks()]);
  }

  /** One pass as text. */
  readText(): string {
    return this.read().toString();
  }

  /** One pass as an async stream of chunks (yields to the event loop between chunks). */
  async *stream(chunkSize = 64 * 1024): AsyncGenerator<Buffer> {
    for (const c of this.chunks(chunkSize)) {
      yield c;
      await new Promise((r) => setImmediate(r));
    }
  }
}

/** Attach an iterator program (`SEC("iter/task")`); `mapFd` for map-element iterators. */
export function attachIter(prog: KernelProgram, opts: { mapFd?: number } = {}): IterLink {
  let info: Buffer | undefined;
  if (opts.mapFd !== undefined) {
    // union bpf_iter_link_info { struct { __u32 map_fd; } map; ... }
    info = Buffer.alloc(16);
    info.writeUInt32LE(opts.mapFd, 0);
  }
  const target = prog.spec?.attachTo ?? prog.name;
  const fd = linkCreate({ prog_fd: prog.fd, attach_type: AttachType.TRACE_ITER, iter_info: info, iter_info_len: info?.length }, `iter ${target}`);
  return new IterLink(fd, 'iter', target);
}
