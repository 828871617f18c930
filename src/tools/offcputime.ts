/**
 * offcputime: time threads spend blocked (off-CPU), summed per (process, kernel stack, user stack), like bcc's
 * offcputime. At sched_switch (a raw tracepoint: see sched-switch.ts) the outgoing task is still `current`, so its pid, comm and both stacks are
 * recorded with a timestamp (keyed by thread id); when that thread is next switched in, the elapsed time is
 * added to its stack. Threads already blocked when tracing starts, and still blocked when it stops, are not
 * counted (as in bcc). The idle task (tid 0) is ignored. Output: stacks with their off-CPU microseconds, for
 * folded text and flame graphs (src/tools/flamegraph.ts) — the weight of a frame is microseconds, not samples.
 * Limits (partial, as with bpftrace): the per-thread maps and the stack maps hold 4096 entries, so on a machine with
 * more sleeping threads or distinct stacks some blocks are missed (a stack that did not fit has no frames).
 */
import { schedSwitchProbe } from './sched-switch.js';
import { UsageError } from '../errors.js';
import { STRLEN } from '../trace/types.js';
import { entryTotal, s64At, strAt, u64At } from './maps.js';
import type { ProfileStack } from './profile.js';
import { checkToolOptions, runToolScript, type ToolOptions } from './runner.js';
import { StackResolver } from './stacks.js';

/** One distinct (process, stack) and its off-CPU time. `count` is in microseconds (the flame-graph weight). */
export interface OffCpuStack extends ProfileStack {
  /** Total off-CPU nanoseconds of this stack. */
  ns: number;
}

/** What an offcputime run collected. */
export interface OffCpuResult {
  startTime: Date;
  durationNs: number;
  /** Sum of every stack's off-CPU time, in microseconds. */
  totalUs: number;
  /** Largest first. */
  stacks: OffCpuStack[];
}

/** Options of offcputime. */
export interface OffCpuOptions extends ToolOptions {
  /** Ignore blocks shorter than this many microseconds (default 1, as bcc). */
  minUs?: number;
  /** Ignore blocks longer than this many microseconds. */
  maxUs?: number;
}

/** The bpftrace-language script of offcputime. */
export function offcputimeScript(o: { pid?: number; minUs?: number; maxUs?: number } = {}): string {
  const who = `$prev->pid != 0${o.pid !== undefined ? ` && pid == ${o.pid}` : ''}`;
  const bound = [o.minUs !== undefined ? ` && $d >= ${Math.round(o.minUs * 1000)}` : '', o.maxUs !== undefined ? ` && $d <= ${Math.round(o.maxUs * 1000)}` : ''].join('');
  return schedSwitchProbe(
    [
      `  if (${who}) { $p = $prev->pid; @start[$p] = nsecs; @kst[$p] = kstack; @ust[$p] = ustack; @tg[$p] = pid; @cm[$p] = comm; }`,
      '  $n = $next->pid; $t = @start[$n];',
      `  if ($t != 0) { $d = nsecs - $t; if ($d > 0${bound}) { @off[@cm[$n], @tg[$n], @kst[$n], @ust[$n]] = sum($d); }`,
      '    delete(@start[$n]); delete(@kst[$n]); delete(@ust[$n]); delete(@tg[$n]); delete(@cm[$n]); }',
    ].join('\n'),
  );
}

/** Run offcputime; returns the off-CPU stacks (symbolised while their processes still run). */
export async function offcputime(o: OffCpuOptions = {}): Promise<OffCpuResult> {
  checkToolOptions(o, 'offcputime');
  const minUs = o.minUs ?? 1;
  if (!(minUs >= 0 && Number.isFinite(minUs))) throw new UsageError(`offcputime: minUs must be a non-negative number, not ${o.minUs}`);
  if (o.maxUs !== undefined && !(o.maxUs >= minUs && Number.isFinite(o.maxUs))) throw new UsageError(`offcputime: maxUs must be a number ≥ minUs, not ${o.maxUs}`);
  const startTime = new Date();
  const t0 = process.hrtime.bigint();
  let durationNs = 0;
  const stacks: OffCpuStack[] = [];
  await runToolScript(offcputimeScript({ pid: o.pid, minUs, maxUs: o.maxUs }), o, {
    onMap: (info, entries, frames) => {
      if (info.name !== 'off') return;
      durationNs = Number(process.hrtime.bigint() - t0);
      const r = new StackResolver(frames);
      for (const e of entries) {
        const ns = Number(entryTotal(e));
        if (!ns) continue;
        const pid = Number(u64At(e.key, STRLEN));
        const frames = r.resolve(pid, s64At(e.key, STRLEN + 8), s64At(e.key, STRLEN + 16));
        stacks.push({ comm: strAt(e.key, 0), pid, frames, ns, count: Math.round(ns / 1000) });
      }
    },
  }, 'offcputime');
  stacks.sort((a, b) => b.ns - a.ns);
  return { startTime, durationNs, totalUs: stacks.reduce((s, x) => s + x.count, 0), stacks };
}

/** bcc-style text: each stack innermost first, then `-  comm (pid)` and its microseconds; largest last. */
export function offcputimeText(r: OffCpuResult): string {
  let out = '';
  for (const s of [...r.stacks].reverse()) {
    s.frames.forEach((f, i) => {
      if (i > 0 && !f.kernel && s.frames[i - 1]!.kernel) out += '    --\n';
      out += `    ${f.name === '[unknown]' && f.module ? `[unknown] (${f.module})` : f.name}\n`;
    });
    out += `    -                ${s.comm} (${s.pid})\n        ${s.count}\n\n`;
  }
  return out;
}
