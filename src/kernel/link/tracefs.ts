/** tracefs lookups: the id of a tracepoint (events/<category>/<name>/id) and the kernel's event lists. */
import { existsSync, readFileSync } from 'node:fs';
import { KernelError } from '../../errors.js';
import { tracefsRoot } from '../sys/fs.js';

/** The perf tracepoint id of `category:name`. Throws `KernelError('tracefs', ENOENT)` when there is none. */
export function tracepointId(category: string, name: string): number {
  if (!/^[\w.-]+$/.test(category) || !/^[\w.-]+$/.test(name)) {
    throw new KernelError('tracefs', 22, 'EINVAL', { detail: `${category}/${name}`, hint: 'tracepoint category and name must be plain identifiers' });
  }
  const root = tracefsRoot();
  const p = `${root}/events/${category}/${name}/id`;
  if (!existsSync(p)) throw new KernelError('tracefs', 2, 'ENOENT', { detail: `${category}/${name}`, hint: `no tracepoint ${category}:${name} (see ${root}/available_events)` });
  return parseInt(readFileSync(p, 'utf8'), 10);
}

/** The PMU type number of a dynamic perf PMU (`kprobe`, `uprobe`), or undefined when the kernel lacks it. */
export function pmuType(name: string): number | undefined {
  try {
    return parseInt(readFileSync(`/sys/bus/event_source/devices/${name}/type`, 'utf8'), 10);
  } catch {
    return undefined;
  }
}

/** The config bit a PMU uses for its `retprobe` format (e.g. `config:0` → 0). */
export function retprobeBit(pmu: string): number {
  try {
    const m = /config:(\d+)/.exec(readFileSync(`/sys/bus/event_source/devices/${pmu}/format/retprobe`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The first config bit of the uprobe PMU's `ref_ctr_offset` format (`config:32-63` → 32), or undefined without it. */
export function refCtrOffsetShift(): number | undefined {
  try {
    const m = /config:(\d+)-\d+/.exec(readFileSync('/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
