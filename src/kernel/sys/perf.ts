/**
 * perf_event_open(2) and the perf ioctls: the attr is encoded from the PERF_EVENT_ATTR layout (attr.ts).
 */
import { Attr } from './bpf.js';
import { PerfAttrFlag } from './attr.js';
import { kernelError } from './errno.js';
import { FdRef } from './fd.js';
import { sys } from './ffi.js';

/** `perf_type_id`. */
export const PerfType = { HARDWARE: 0, SOFTWARE: 1, TRACEPOINT: 2, HW_CACHE: 3, RAW: 4, BREAKPOINT: 5 } as const;
/** `perf_hw_id`. */
export const PerfHwConfig = {
  CPU_CYCLES: 0,
  INSTRUCTIONS: 1,
  CACHE_REFERENCES: 2,
  CACHE_MISSES: 3,
  BRANCH_INSTRUCTIONS: 4,
  BRANCH_MISSES: 5,
  BUS_CYCLES: 6,
  STALLED_CYCLES_FRONTEND: 7,
  STALLED_CYCLES_BACKEND: 8,
  REF_CPU_CYCLES: 9,
} as const;
/** `perf_sw_ids`. */
export const PerfSwConfig = {
  CPU_CLOCK: 0,
  TASK_CLOCK: 1,
  PAGE_FAULTS: 2,
  CONTEXT_SWITCHES: 3,
  CPU_MIGRATIONS: 4,
  PAGE_FAULTS_MIN: 5,
  PAGE_FAULTS_MAJ: 6,
  ALIGNMENT_FAULTS: 7,
  EMULATION_FAULTS: 8,
  DUMMY: 9,
  BPF_OUTPUT: 10,
} as const;
/** `perf_event_sample_format` bits used here. */
export const PerfSample = { IP: 1 << 0, TID: 1 << 1, TIME: 1 << 2, CALLCHAIN: 1 << 5, CPU: 1 << 7, PERIOD: 1 << 8, RAW: 1 << 10 } as const;
/** Record types in a perf ring. */
export const PerfRecord = { LOST: 2, SAMPLE: 9 } as const;
/** ioctl requests on perf event fds. */
export const PerfIoctl = {
  ENABLE: 0x2400,
  DISABLE: 0x2401,
  /** _IOW('$', 8, __u32) */
  SET_BPF: 0x40042408,
} as const;
export const PERF_FLAG_FD_CLOEXEC = 8;

/** What to open. */
export interface PerfEventOptions {
  type: number;
  config?: bigint | number;
  /** Sample every N events (mutually exclusive with `sampleFreq`). */
  samplePeriod?: bigint | number;
  /** Sample N times a second (sets the `freq` flag). */
  sampleFreq?: number;
  sampleType?: number;
  /** Extra `PerfAttrFlag` bits (besides `freq`). */
  flags?: bigint;
  wakeupEvents?: number;
  /** config1: kprobe function / uprobe path (a string becomes a pointer to a C string). */
  config1?: bigint | number | string;
  /** config2: probe offset. */
  config2?: bigint | number;
  pid?: number;
  cpu?: number;
  groupFd?: number;
}

/** perf_event_open(2). Returns the owned fd; throws `KernelError('perf_event_open', errno)`. */
export function perfEventOpen(o: PerfEventOptions): FdRef {
  const a = new Attr('PERF_EVENT_ATTR');
  let flags = o.flags ?? 0n;
  a.set('type', o.type);
  a.set('size', a.size);
  a.set('config', BigInt(o.config ?? 0));
  if (o.sampleFreq !== undefined) {
    a.set('sample_freq', o.sampleFreq);
    flags |= PerfAttrFlag.freq;
  } else if (o.samplePeriod !== undefined) a.set('sample_period', BigInt(o.samplePeriod));
  a.set('sample_type', o.sampleType ?? 0);
  a.set('flags', flags);
  a.set('wakeup_events', o.wakeupEvents ?? 0);
  if (o.config1 !== undefined) a.set('config1', typeof o.config1 === 'string' ? o.config1 : BigInt(o.config1));
  if (o.config2 !== undefined) a.set('config2', BigInt(o.config2));
  const s = sys();
  const fd = s.perfEventOpen(a.addr, o.pid ?? -1, o.cpu ?? -1, o.groupFd ?? -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) {
    const e = s.errno();
    throw kernelError('perf_event_open', e, {
      hint: e === 2 ? 'no such PMU or event on this machine (no hardware counters in a VM? use a software event)' : undefined,
    });
  }
  return new FdRef(fd, 'perf event');
}

/** ioctl(2) on a descriptor; throws `KernelError('ioctl <name>', errno)`. */
export function ioctl(fd: number, request: number, arg: bigint | number = 0, name = `0x${request.toString(16)}`): number {
  const s = sys();
  const r = s.ioctl(fd, request, arg);
  if (r < 0) throw kernelError(`ioctl ${name}`, s.errno());
  return r;
}
