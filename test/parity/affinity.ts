/**
 * Pin the calling thread to one CPU (sched_setaffinity through koffi) so BPF_PROG_TEST_RUN, which runs on the
 * caller's CPU, always uses the CPU the userspace runtime simulates — per-CPU map values then compare exactly.
 */
import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';

type Fn = (pid: number, size: number, mask: Buffer) => number;
let fns: { get: Fn; set: Fn } | undefined;

function load(): { get: Fn; set: Fn } {
  if (!fns) {
    const koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
    const libc = koffi.load(null as unknown as string);
    fns = {
      get: libc.func('int sched_getaffinity(int pid, size_t size, void *mask)') as unknown as Fn,
      set: libc.func('int sched_setaffinity(int pid, size_t size, void *mask)') as unknown as Fn,
    };
  }
  return fns;
}

/** Run `fn` with the current thread pinned to `cpu`, restoring the previous affinity afterwards. */
export function withCpu<T>(cpu: number, fn: () => T): T {
  const { get, set } = load();
  const saved = Buffer.alloc(128);
  if (get(0, saved.length, saved) !== 0) throw new Error('sched_getaffinity failed');
  const mask = Buffer.alloc(128);
  mask[cpu >> 3] |= 1 << (cpu & 7);
  if (set(0, mask.length, mask) !== 0) throw new Error(`sched_setaffinity(cpu ${cpu}) failed`);
  try {
    return fn();
  } finally {
    set(0, saved.length, saved);
  }
}
