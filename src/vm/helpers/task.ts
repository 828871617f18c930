/**
 * Helpers about "where and when": clocks, random numbers, CPU and NUMA node, and the current task (pid/tgid,
 * uid/gid, comm, task pointer, cgroup ids) — all from the run's simulated environment.
 */
import type { HelperImpl } from '../api.js';
import { envOf } from './env.js';
import { s32, u32 } from './util.js';

/** Task, clock and CPU helper implementations by name. */
export const taskHelpers: Record<string, HelperImpl> = {
  ktime_get_ns: (c) => envOf(c).clock.monotonicNs(),
  ktime_get_boot_ns: (c) => envOf(c).clock.bootNs(),
  ktime_get_coarse_ns: (c) => envOf(c).clock.coarseNs(),
  ktime_get_tai_ns: (c) => envOf(c).clock.taiNs(),
  jiffies64: (c) => envOf(c).clock.jiffies(),
  get_prandom_u32: (c) => envOf(c).random() >>> 0,
  get_smp_processor_id: (c) => envOf(c).cpu,
  get_numa_node_id: (c) => envOf(c).numaNode,
  get_current_pid_tgid(c) {
    const t = envOf(c).task;
    return (BigInt(t.tgid >>> 0) << 32n) | BigInt(t.pid >>> 0);
  },
  get_current_uid_gid(c) {
    const t = envOf(c).task;
    return (BigInt(t.gid >>> 0) << 32n) | BigInt(t.uid >>> 0);
  },
  get_current_comm(c, r1, r2) {
    const size = u32(r2);
    const out = c.mem.view(r1, size, true);
    out.fill(0);
    const comm = new TextEncoder().encode(envOf(c).task.comm).subarray(0, Math.min(15, Math.max(0, size - 1)));
    out.set(comm);
    return 0;
  },
  get_current_task: (c) => envOf(c).taskAddr,
  get_current_task_btf: (c) => envOf(c).taskAddr,
  get_current_cgroup_id: (c) => envOf(c).task.cgroupId,
  get_current_ancestor_cgroup_id(c, r1) {
    const t = envOf(c).task;
    const chain = t.cgroupAncestors ?? [1n, t.cgroupId];
    const level = s32(r1);
    return level >= 0 && level < chain.length ? chain[level] : 0n;
  },
};
