/**
 * Running a tool's tracing script: compile it with src/trace, run it for a duration (or until the signal),
 * hand tab-separated printf event lines and maps (raw, per print()/exit) to the tool. Nothing is printed.
 */
import { UsageError } from '../errors.js';
import { compileScript } from '../trace/compile.js';
import type { RawEntry } from '../trace/output.js';
import { runScript, type JoinResult, type StackFrames } from '../trace/runtime.js';
import type { MapInfo } from '../trace/types.js';

/** Options every tool takes. */
export interface ToolOptions {
  /** Stop after this many seconds (default: run until `signal`). */
  duration?: number;
  /** Stop now (maps are still collected). */
  signal?: AbortSignal;
  /** Only this process (tgid). */
  pid?: number;
  /** Called once every probe is attached (a BEGIN probe of the tool's script reports it). */
  onReady?: () => void;
}

/** What a tool's script produces, in order. */
export interface ScriptHandlers {
  /** One printf line of the script split on tabs (the tag first), without its newline. */
  onLine?: (fields: string[]) => void;
  /** A map printed with print() (`when: 'print'`) or left at exit (`'exit'`). */
  onMap?: (info: MapInfo, entries: RawEntry[], frames: StackFrames, when: 'print' | 'exit') => void;
  /** Every element of a join() of the script, with the thread that ran it (instead of a text line). */
  onJoin?: (j: JoinResult) => void;
}

/** Checks the shared options; throws UsageError on nonsense. */
export function checkToolOptions(o: ToolOptions, tool: string): void {
  if (o.duration !== undefined && !(o.duration > 0 && Number.isFinite(o.duration))) throw new UsageError(`${tool}: duration must be a positive number of seconds, not ${o.duration}`);
  if (o.pid !== undefined && !(Number.isInteger(o.pid) && o.pid > 0)) throw new UsageError(`${tool}: pid must be a positive integer, not ${o.pid}`);
}

/** A script predicate for `--pid` (`/pid == P/`) or the empty string. */
export const pidPredicate = (pid: number | undefined, field = 'pid'): string => (pid !== undefined ? `/${field} == ${pid}/ ` : '');

/** Compile and run `src` until the duration passes or the signal aborts; events go to the handlers. */
export async function runToolScript(src: string, o: ToolOptions, h: ScriptHandlers, file: string): Promise<void> {
  // BEGIN runs after every probe is attached: its tagged line tells the caller the tool is live.
  const compiled = compileScript(`BEGIN { printf("READY\\t\\n"); }\n${src}`, { file });
  const ac = new AbortController();
  const stop = () => ac.abort();
  let timer: NodeJS.Timeout | undefined;
  if (o.duration !== undefined) timer = setTimeout(stop, o.duration * 1000);
  if (o.signal) {
    if (o.signal.aborted) stop();
    else o.signal.addEventListener('abort', stop, { once: true });
  }
  let pending = '';
  try {
    await runScript(compiled, {
      signal: ac.signal,
      write: (text) => {
        pending += text;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          // Only the script's own tagged printf lines carry a tab; "Attaching N probes..." and blank lines do not.
          if (!line.includes('\t')) continue;
          const fields = line.split('\t');
          if (fields[0] === 'READY') o.onReady?.();
          else h.onLine?.(fields);
        }
      },
      mapSink: (info, entries, frames, when) => h.onMap?.(info, entries, frames, when),
      joinSink: (j) => h.onJoin?.(j),
    });
  } finally {
    if (timer) clearTimeout(timer);
    o.signal?.removeEventListener('abort', stop);
  }
}

/** Nanoseconds of CLOCK_MONOTONIC (bpf_ktime_get_ns) → a wall-clock Date. */
export function monoToDate(ns: bigint): Date {
  const now = process.hrtime.bigint();
  return new Date(Date.now() - Number((now - ns) / 1_000_000n));
}
