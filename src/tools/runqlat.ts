/**
 * runqlat: run-queue (scheduler) latency — time from a task's wakeup (sched_wakeup, sched_wakeup_new) or its
 * preemption while runnable (sched_switch with prev_state == TASK_RUNNING) until it next runs
 * (sched_switch next_pid), as a log2 histogram in microseconds. `pid` restricts to one task id.
 */
import { schedSwitchProbe, schedWakeupProbes } from './sched-switch.js';
import type { Histogram } from './histogram.js';
import { intervalProbe, runLatency, type LatencyOptions } from './latency.js';

/** The bpftrace-language script of runqlat. */
export function runqlatScript(pid?: number, interval?: number): string {
  const only = (f: string) => (pid !== undefined ? ` && ${f} == ${pid}` : '');
  // prev_state (raw arg3) is the outgoing task's state: 0 (TASK_RUNNING) when it was preempted or yielded while
  // runnable, so it is back in the run queue from now (as bcc/libbpf-tools runqlat; the perf tracepoint reports
  // preemption as TASK_REPORT_MAX instead).
  return (
    schedWakeupProbes(`  if (1${only('$task->pid')}) { @qt[$task->pid] = nsecs; }`) +
    '\n' +
    schedSwitchProbe(
      `  if (arg3 == 0${only('$prev->pid')}) { @qt[$prev->pid] = nsecs; }\n` +
        '  $t = @qt[$next->pid]; if ($t != 0) { $d = (nsecs - $t) / 1000; @usecs = hist($d); @sum = sum($d); delete(@qt[$next->pid]); }',
    ) +
    intervalProbe(interval)
  );
}

/** Run runqlat; returns the run-queue latency histogram (µs). */
export async function runqlat(o: LatencyOptions = {}): Promise<Histogram> {
  return runLatency('runqlat', runqlatScript(o.pid, o.interval), o);
}
