/**
 * Offsets in the running kernel's `struct task_struct` (from /sys/kernel/btf/vmlinux), for builtins that walk
 * the current task with bpf_probe_read_kernel (`ppid`: current->real_parent->tgid).
 */
import { Btf } from '../btf/btf.js';

/** Byte offsets of `real_parent` and `tgid` in task_struct. */
export interface TaskOffsets {
  realParent: number;
  tgid: number;
}

let cached: TaskOffsets | string | undefined;

/** task_struct offsets of the running kernel (cached), or why they are not known (no kernel BTF, no such field). */
export function taskOffsets(): TaskOffsets | string {
  if (cached) return cached;
  try {
    const t = Btf.loadKernel().findByName('task_struct', 'struct');
    if (!t || t.kind !== 'struct') return (cached = 'kernel BTF has no struct task_struct');
    const off = (name: string) => {
      const m = t.members.find((x) => x.name === name);
      if (!m || m.bitOffset % 8) throw new Error(`struct task_struct has no byte-aligned member ${name}`);
      return m.bitOffset / 8;
    };
    cached = { realParent: off('real_parent'), tgid: off('tgid') };
  } catch (err) {
    cached = `needs kernel BTF (/sys/kernel/btf/vmlinux): ${(err as Error).message}`;
  }
  return cached;
}
