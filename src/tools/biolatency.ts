/**
 * biolatency: block I/O latency, block:block_rq_issue → block:block_rq_complete (keyed by device and
 * sector), as a log2 histogram in microseconds. `--pid` is not supported (completions run in interrupt
 * context, not in the issuing process).
 */
import { UsageError } from '../errors.js';
import type { Histogram } from './histogram.js';
import { intervalProbe, runLatency, type LatencyOptions } from './latency.js';

/** The bpftrace-language script of biolatency. */
export function biolatencyScript(interval?: number): string {
  return (
    'tracepoint:block:block_rq_issue { @start[args->dev, args->sector] = nsecs; }\n' +
    'tracepoint:block:block_rq_complete { $t = @start[args->dev, args->sector]; if ($t != 0) { $d = (nsecs - $t) / 1000; @usecs = hist($d); @sum = sum($d); delete(@start[args->dev, args->sector]); } }' +
    intervalProbe(interval)
  );
}

/** Run biolatency; returns the latency histogram (µs). */
export async function biolatency(o: LatencyOptions = {}): Promise<Histogram> {
  if (o.pid !== undefined) throw new UsageError('biolatency: --pid is not supported (I/O completes outside the process)');
  return runLatency('biolatency', biolatencyScript(o.interval), o);
}
