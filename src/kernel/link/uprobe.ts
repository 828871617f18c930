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
import { pmuType, refCtrOffsetShift, retprobeBit } from './tracefs.js';

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
  const path = resolveLibrary(o.binary);
  const offset = (o.symbol ? symbolOffset(path, o.symbol) : 0) + (o.offset ?? 0);
  return attachUprobeAt(prog, { path, offset, pid: o.pid, retprobe: o.retprobe, cookie: o.cookie, target: `${path}:${o.symbol ?? ''}+0x${offset.toString(16)}` });
}

/** One uprobe perf event at a resolved file offset (what `attachUprobe` and the USDT attachers open per site). */
export interface UprobeSite {
  /** Resolved path of the binary or library. */
  path: string;
  /** File offset of the probed instruction. */
  offset: number;
  /** File offset of a USDT semaphore the kernel counts up while attached (0 / undefined: none). */
  refCtrOffset?: number;
  retprobe?: boolean;
  /** Only this process (-1 / undefined: all). */
  pid?: number;
  cookie?: bigint;
  /** Link kind (default `uprobe` / `uretprobe`). */
  kind?: string;
  /** Human description of the target (default `path+0xOFFSET`). */
  target?: string;
}

/**
 * Open the uprobe PMU event of `s` and attach `prog` to it. Throws `KernelError` (ENOENT without a uprobe PMU,
 * EOPNOTSUPP for a semaphore on a kernel without `ref_ctr_offset`).
 */
export function attachUprobeAt(prog: KernelProgram, s: UprobeSite): PerfEventLink {
  const type = pmuType('uprobe');
  if (type === undefined) throw new KernelError('perf_event_open', 2, 'ENOENT', { hint: 'this kernel has no uprobe PMU (CONFIG_UPROBE_EVENTS off)' });
  let config = s.retprobe ? 1n << BigInt(retprobeBit('uprobe')) : 0n;
  if (s.refCtrOffset) {
    const shift = refCtrOffsetShift();
    if (shift === undefined) {
      throw new KernelError('perf_event_open', 95, 'EOPNOTSUPP', { detail: s.target ?? s.path, hint: 'the probe has a semaphore but this kernel cannot count uprobe reference counters (no ref_ctr_offset in the uprobe PMU)' });
    }
    config |= BigInt(s.refCtrOffset) << BigInt(shift);
  }
  const pid = s.pid !== undefined && s.pid >= 0 ? s.pid : -1;
  const fd = perfEventOpen({ type, config, config1: s.path, config2: s.offset, samplePeriod: 1, flags: PerfAttrFlag.disabled, pid, cpu: pid >= 0 ? -1 : 0 });
  const kind = s.kind ?? (s.retprobe ? 'uretprobe' : 'uprobe');
  return attachPerfEventFd(prog, fd, kind, s.target ?? `${s.path}+0x${s.offset.toString(16)}`, { cookie: s.cookie });
}
