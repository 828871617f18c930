/**
 * runqlen: CPU run-queue length, sampled `hz` times a second on every CPU by a software cpu-clock perf event
 * (like bcc's and bpftrace's runqlen). The length is read from the sampled CPU's `struct rq` through the current
 * task (`curtask->se.cfs_rq->rq->nr_running`, every scheduling class) minus the running task, so 0 means idle
 * or one task running. Which path exists is decided from the kernel's BTF: without group scheduling
 * (no `cfs_rq.rq`) the task's CFS queue count is used (`nr_running`, named `nr_queued` since 6.14).
 * Idle CPUs may be sampled less than `hz` (the perf timer is deferred while idle), so the histograms are
 * biased towards busy time, as with bcc. `--pid` is meaningless for a per-CPU quantity and is refused.
 */
import { BtfError, UsageError } from '../errors.js';
import { loadKernelBtf } from '../btf/kernel.js';
import { fromLinear, type Histogram } from './histogram.js';
import { entryTotal, u64At } from './maps.js';
import { checkToolOptions, runToolScript, type ToolOptions } from './runner.js';

/** Options of runqlen. */
export interface RunqlenOptions extends ToolOptions {
  /** Samples per second per CPU (default 99). */
  hz?: number;
}

/** What runqlen sampled. */
export interface RunqlenResult {
  hz: number;
  /** Run-queue length histogram (linear, one bucket per length 0..99) over all CPUs. */
  all: Histogram;
  /** The same per CPU. */
  perCpu: Map<number, Histogram>;
  /** Fraction of samples (0..1) with at least one task waiting (length ≥ 1), bcc's "runqocc". */
  occupancy: number;
}

const LAYOUT = { min: 0, max: 100, step: 1 };

/** The expression of the sampled CPU's runnable-task count, chosen from the kernel's BTF. */
export function runqueueExpr(): string {
  const btf = loadKernelBtf();
  const t = btf.findByName('cfs_rq', 'struct');
  if (!t || t.kind !== 'struct') throw new BtfError('runqlen: the kernel BTF has no struct cfs_rq');
  const has = (m: string) => t.members.some((x) => x.name === m);
  if (has('rq')) return 'curtask->se.cfs_rq->rq->nr_running';
  if (has('nr_running')) return 'curtask->se.cfs_rq->nr_running';
  if (has('nr_queued')) return 'curtask->se.cfs_rq->nr_queued';
  throw new BtfError('runqlen: struct cfs_rq has none of rq, nr_running, nr_queued');
}

/** The bpftrace-language script of runqlen. */
export function runqlenScript(hz: number, expr = runqueueExpr()): string {
  return `profile:hz:${hz} { $n = (int64)${expr}; if ($n > 0) { $n = $n - 1; } @len[cpu] = lhist($n, ${LAYOUT.min}, ${LAYOUT.max}, ${LAYOUT.step}); }`;
}

/** Run runqlen; returns the sampled run-queue lengths. */
export async function runqlen(o: RunqlenOptions = {}): Promise<RunqlenResult> {
  checkToolOptions(o, 'runqlen');
  if (o.pid !== undefined) throw new UsageError('runqlen: --pid is not supported (run-queue length is per CPU)');
  const hz = o.hz ?? 99;
  if (!Number.isInteger(hz) || hz <= 0 || hz > 10000) throw new UsageError(`runqlen: hz must be an integer in 1..10000, not ${hz}`);
  const perCpuBuckets = new Map<number, bigint[]>();
  await runToolScript(runqlenScript(hz), o, {
    onMap: (info, entries) => {
      if (info.name !== 'len') return;
      perCpuBuckets.clear();
      for (const e of entries) {
        const cpu = Number(u64At(e.key, 0));
        const i = Number(u64At(e.key, e.key.length - 8));
        let b = perCpuBuckets.get(cpu);
        if (!b) perCpuBuckets.set(cpu, (b = []));
        b[i] = (b[i] ?? 0n) + entryTotal(e);
      }
    },
  }, 'runqlen');
  const dense = (b: bigint[]) => Array.from({ length: b.length }, (_, i) => b[i] ?? 0n);
  const total: bigint[] = [];
  const perCpu = new Map<number, Histogram>();
  for (const [cpu, b] of [...perCpuBuckets].sort((x, y) => x[0] - y[0])) {
    perCpu.set(cpu, fromLinear(dense(b), LAYOUT, 'tasks'));
    b.forEach((v, i) => (total[i] = (total[i] ?? 0n) + (v ?? 0n)));
  }
  const all = fromLinear(dense(total), LAYOUT, 'tasks');
  // Bucket 1 is length 0 (bucket 0 is below the minimum and stays empty).
  const occupancy = all.count ? (all.count - all.counts[1]!) / all.count : 0;
  return { hz, all, perCpu, occupancy };
}
