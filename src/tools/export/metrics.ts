/**
 * The exporters' metric model (counters, gauges, histograms with label sets), shared by the Prometheus and
 * OTLP writers, and the conversion of the tools' results into it.
 */
import type { Histogram } from '../histogram.js';
import type { SyscallCount } from '../syscount.js';

/** Label name → value. */
export type Labels = Readonly<Record<string, string>>;

/** A metric family. */
export type Metric =
  | { kind: 'counter' | 'gauge'; name: string; help: string; unit?: string; points: { labels: Labels; value: number }[] }
  | { kind: 'histogram'; name: string; help: string; unit?: string; points: { labels: Labels; hist: Histogram }[] };

/** syscount's counts as a counter `bpfkit_syscalls_total{syscall="..."}`. */
export function syscountMetrics(counts: readonly SyscallCount[]): Metric[] {
  return [{ kind: 'counter', name: 'bpfkit_syscalls_total', help: 'System calls entered, per syscall', unit: '1', points: counts.map((c) => ({ labels: { syscall: c.name }, value: c.count })) }];
}

/** A latency histogram (µs) as `bpfkit_<tool>_latency_microseconds`. */
export function latencyMetrics(tool: 'biolatency' | 'runqlat', h: Histogram): Metric[] {
  const help = tool === 'biolatency' ? 'Block I/O latency, issue to completion, in microseconds' : 'Run-queue latency, wakeup to running, in microseconds';
  const name = tool === 'biolatency' ? 'bpfkit_block_io_latency_microseconds' : 'bpfkit_runqueue_latency_microseconds';
  return [{ kind: 'histogram', name, help, unit: 'us', points: [{ labels: {}, hist: h }] }];
}

/** Per-command event counts (execsnoop, opensnoop) as a counter. */
export function eventCountMetrics(name: string, help: string, counts: ReadonlyMap<string, number>, labelName = 'comm'): Metric[] {
  return [{ kind: 'counter', name, help, unit: '1', points: [...counts].map(([k, v]) => ({ labels: { [labelName]: k }, value: v })) }];
}
