/**
 * cpudist: how long threads run each time they are on a CPU (switch-in to switch-out at sched:sched_switch), as
 * a log2 histogram in microseconds, like bcc's cpudist; with `offcpu`, how long they stay off the CPU instead
 * (switch-out to next switch-in). The idle task is ignored. `pid` keeps threads of that process: the filter is
 * applied when the thread is `current` (at switch-out), since the tracepoint names only thread ids.
 */
import { schedSwitchProbe } from './sched-switch.js';
import type { Histogram } from './histogram.js';
import { intervalProbe, runLatency, type LatencyOptions } from './latency.js';

/** Options of cpudist. */
export interface CpudistOptions extends LatencyOptions {
  /** Measure off-CPU (blocked or waiting) time per switch instead of on-CPU time. */
  offcpu?: boolean;
}

const record = '$d = (nsecs - $t) / 1000; @usecs = hist($d); @sum = sum($d);';

/** The bpftrace-language script of cpudist. */
export function cpudistScript(o: { pid?: number; interval?: number; offcpu?: boolean } = {}): string {
  const mine = o.pid !== undefined ? ` && pid == ${o.pid}` : '';
  const body = o.offcpu
    ? `  if ($prev->pid != 0${mine}) { @start[$prev->pid] = nsecs; }\n` +
      `  $t = @start[$next->pid]; if ($t != 0) { ${record} delete(@start[$next->pid]); }`
    : `  $t = @start[$prev->pid]; if ($t != 0) { if (1${mine}) { ${record} } delete(@start[$prev->pid]); }\n` +
      '  if ($next->pid != 0) { @start[$next->pid] = nsecs; }';
  return schedSwitchProbe(body) + intervalProbe(o.interval);
}

/** Run cpudist; returns the histogram (µs) of on-CPU (or, with `offcpu`, off-CPU) times per switch. */
export async function cpudist(o: CpudistOptions = {}): Promise<Histogram> {
  return runLatency('cpudist', cpudistScript(o), o);
}
