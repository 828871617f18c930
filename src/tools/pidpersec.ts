/**
 * pidpersec: new processes (and threads) per interval, counted at sched:sched_process_fork, like bpftrace's
 * pidpersec. `pid` counts only the children of that parent (the forking thread's pid).
 */
import { UsageError } from '../errors.js';
import { entryTotal } from './maps.js';
import { checkToolOptions, runToolScript, type ToolOptions } from './runner.js';

/** The bpftrace-language script of pidpersec. */
export function pidpersecScript(interval = 1, pid?: number): string {
  const p = pid !== undefined ? `/args->parent_pid == ${pid}/ ` : '';
  return `tracepoint:sched:sched_process_fork ${p}{ @forks = count(); }\ninterval:ms:${Math.round(interval * 1000)} { print(@forks); clear(@forks); }`;
}

/**
 * Run pidpersec; `onInterval` gets the forks of each interval (default 1 s) and the rate per second.
 * Returns the total over the run.
 */
export async function pidpersec(o: ToolOptions & { interval?: number; onInterval?: (forks: number, perSecond: number) => void } = {}): Promise<number> {
  checkToolOptions(o, 'pidpersec');
  const interval = o.interval ?? 1;
  if (!(interval > 0 && Number.isFinite(interval))) throw new UsageError('pidpersec: interval must be positive');
  let total = 0;
  await runToolScript(pidpersecScript(interval, o.pid), o, {
    onMap: (info, entries, _f, when) => {
      if (info.name !== 'forks') return;
      const n = entries.reduce((s, e) => s + Number(entryTotal(e)), 0);
      total += n;
      if (when === 'print') o.onInterval?.(n, n / interval);
    },
  }, 'pidpersec');
  return total;
}
