/**
 * Classic tracepoints: perf_event_open on the tracepoint id from tracefs (mounted at /sys/kernel/tracing when
 * absent), then the program is attached to that perf event.
 */
import type { KernelProgram } from '../load/program.js';
import { PerfAttrFlag } from '../sys/attr.js';
import { perfEventOpen, PerfType } from '../sys/perf.js';
import { attachPerfEventFd, type PerfEventLink } from './perf-event.js';
import { tracepointId } from './tracefs.js';

/** Attach a TRACEPOINT program to `category:name` (e.g. `syscalls`, `sys_enter_getpid`). */
export function attachTracepoint(prog: KernelProgram, category: string, name: string, opts: { cookie?: bigint; pid?: number; cpu?: number } = {}): PerfEventLink {
  const id = tracepointId(category, name);
  const fd = perfEventOpen({
    type: PerfType.TRACEPOINT,
    config: id,
    samplePeriod: 1,
    wakeupEvents: 1,
    flags: PerfAttrFlag.disabled,
    pid: opts.pid ?? -1,
    cpu: opts.cpu ?? (opts.pid !== undefined && opts.pid >= 0 ? -1 : 0),
  });
  return attachPerfEventFd(prog, fd, 'tracepoint', `${category}:${name}`, opts);
}
