/**
 * Pin the calling thread to one CPU (sched_setaffinity, through the kernel backend's sys layer) so
 * BPF_PROG_TEST_RUN, which runs on the caller's CPU, always uses the CPU the userspace runtime simulates —
 * per-CPU map values then compare exactly.
 */
import { cpuMask, getCpuAffinity, setCpuAffinity } from '../../src/kernel/sys/index.js';

/** Run `fn` with the current thread pinned to `cpu`, restoring the previous affinity afterwards. */
export function withCpu<T>(cpu: number, fn: () => T): T {
  const saved = getCpuAffinity();
  setCpuAffinity(cpuMask(cpu));
  try {
    return fn();
  } finally {
    setCpuAffinity(saved);
  }
}
