/**
 * runqlat: run-queue (scheduler) latency — time from a task's wakeup (sched_wakeup, sched_wakeup_new) or its
 * preemption while runnable (sched_switch with prev_state == TASK_RUNNING) until it next runs
 * (sched_switch next_pid), as a log2 histogram in microseconds. `pid` restricts to one task id.
 */
import type { Histogram } from './histogram.js';
import { intervalProbe, runLatency, type LatencyOptions } from './latency.js';

/** The bpftrace-language script of runqlat. */
export function runqlatScript(pid?: number, interval?: number): string {
  const only = (f: string) => (pid !== undefined ? ` && ${f} == ${pid}` : '');
  const whenPid = (f: string) => (pid !== undefined ? `/${f} == ${pid}/ ` : '');
  return (
    `tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new ${whenPid('args->pid')}{ @qt[args->pid] = nsecs; }\n` +
    'tracepoint:sched:sched_switch { ' +
    `if (args->prev_state == 0${only('args->prev_pid')}) { @qt[args->prev_pid] = nsecs; } ` +
    '$t = @qt[args->next_pid]; if ($t != 0) { $d = (nsecs - $t) / 1000; @usecs = hist($d); @sum = sum($d); delete(@qt[args->next_pid]); } }' +
    intervalProbe(interval)
  );
}

/** Run runqlat; returns the run-queue latency histogram (µs). */
export async function runqlat(o: LatencyOptions = {}): Promise<Histogram> {
  return runLatency('runqlat', runqlatScript(o.pid, o.interval), o);
}
