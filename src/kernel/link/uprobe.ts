/**
 * uprobes / uretprobes on a function of an ELF binary or shared library, through the `uprobe` perf PMU
 * (type from /sys/bus/event_source/devices/uprobe/type; config1 = path, config2 = file offset, retprobe bit
 * from its format). Symbol → offset via elf-symbols.ts, library names resolved like the dynamic loader.
 */
import { KernelError } from '../../errors.js';
import type { KernelProgram } from '../load/program.js';
import { PerfAttrFlag } from '../sys/attr.js';
import { perfEventOpen } from '../sys/perf.js';
import { symbolOffset } from './elf-symbols.js';
import { resolveLibrary } from './libpath.js';
import { attachPerfEventFd, type PerfEventLink } from './perf-event.js';
import { pmuType, retprobeBit } from './tracefs.js';

/** Where a uprobe goes. */
export interface UprobeOptions {
  /** Binary or library: a path, or a name found through ld.so.cache (`libc.so.6`). */
  binary: string;
  /** Function symbol (or give `offset`). */
  symbol?: string;
  /** File offset (added to the symbol's when both are given). */
  offset?: number;
  /** Only this process (default all). */
  pid?: number;
  retprobe?: boolean;
  cookie?: bigint;
}

/** Attach a KPROBE-type program as a uprobe/uretprobe. */
export function attachUprobe(prog: KernelProgram, o: UprobeOptions): PerfEventLink {
  const type = pmuType('uprobe');
  if (type === undefined) throw new KernelError('perf_event_open', 2, 'ENOENT', { hint: 'this kernel has no uprobe PMU (CONFIG_UPROBE_EVENTS off)' });
  const path = resolveLibrary(o.binary);
  const offset = (o.symbol ? symbolOffset(path, o.symbol) : 0) + (o.offset ?? 0);
  const fd = perfEventOpen({
    type,
    config: o.retprobe ? 1n << BigInt(retprobeBit('uprobe')) : 0n,
    config1: path,
    config2: offset,
    samplePeriod: 1,
    flags: PerfAttrFlag.disabled,
    pid: o.pid ?? -1,
    cpu: o.pid !== undefined && o.pid >= 0 ? -1 : 0,
  });
  const kind = o.retprobe ? 'uretprobe' : 'uprobe';
  return attachPerfEventFd(prog, fd, kind, `${path}:${o.symbol ?? ''}+0x${offset.toString(16)}`, { cookie: o.cookie });
}
