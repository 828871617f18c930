/**
 * oomkill: out-of-memory kills, from oom:mark_victim (bcc's oomkill uses a kprobe on oom_kill_process, which
 * this tool avoids): the process that triggered the OOM (the task running when the victim is chosen — for a
 * memory-cgroup OOM, the allocating task), the victim's pid and comm, its memory in kB as the tracepoint gives it
 * (total_vm, anon/file/shmem rss, page tables), uid and oom_score_adj, and /proc/loadavg read when the event
 * arrives. Fields this kernel's tracepoint lacks (older kernels have only `pid`) are reported as undefined.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { tracepointFields, type TpField } from '../trace/tpformat.js';
import { checkToolOptions, monoToDate, runToolScript, type ToolOptions } from './runner.js';

/** One OOM kill. */
export interface OomEvent {
  time: Date;
  /** The task in whose context the victim was marked. */
  triggerPid: number;
  triggerComm: string;
  /** The victim (a thread-group id). */
  pid: number;
  comm?: string;
  totalVmKb?: number;
  anonRssKb?: number;
  fileRssKb?: number;
  shmemRssKb?: number;
  pgtablesKb?: number;
  uid?: number;
  oomScoreAdj?: number;
  /** The first three fields of /proc/loadavg when the event was read. */
  loadavg: string;
}

const NUMBERS: [keyof OomEvent, string, string][] = [
  ['totalVmKb', 'total_vm', '%llu'], ['anonRssKb', 'anon_rss', '%llu'], ['fileRssKb', 'file_rss', '%llu'], ['shmemRssKb', 'shmem_rss', '%llu'],
  ['pgtablesKb', 'pgtables', '%llu'], ['uid', 'uid', '%u'], ['oomScoreAdj', 'oom_score_adj', '%d'],
];

/** The bpftrace-language script of oomkill for a tracepoint with these fields (default: this kernel's; null: none). */
export function oomkillScript(fields: TpField[] | null = tracepointFields('oom', 'mark_victim') ?? null): string {
  if (!fields) throw new UsageError('oomkill: this kernel has no oom:mark_victim tracepoint');
  const has = (n: string) => fields.some((f) => f.name === n);
  const fmt = ['M', '%llu', '%d', '%d', ...NUMBERS.map(([, n, f]) => (has(n) ? f : '-')), '%s', '%s'];
  const args = ['nsecs', 'pid', 'args->pid', ...NUMBERS.filter(([, n]) => has(n)).map(([, n]) => `args->${n}`), 'comm', has('comm') ? 'args->comm' : '""'];
  return `tracepoint:oom:mark_victim { printf("${fmt.join('\\t')}\\n", ${args.join(', ')}); }`;
}

function loadavg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '';
  }
}

/** Run oomkill; each OOM kill goes to `onEvent`. `pid` keeps kills whose victim is that process. */
export async function oomkill(o: ToolOptions & { onEvent: (e: OomEvent) => void }): Promise<void> {
  checkToolOptions(o, 'oomkill');
  await runToolScript(oomkillScript(), o, {
    onLine: (f) => {
      if (f[0] !== 'M' || f.length < 6 + NUMBERS.length) return;
      const e: OomEvent = { time: monoToDate(BigInt(f[1]!)), triggerPid: Number(f[2]), pid: Number(f[3]), triggerComm: '', loadavg: loadavg() };
      NUMBERS.forEach(([k], i) => {
        const v = f[4 + i]!;
        if (v !== '-') (e as unknown as Record<string, number>)[k] = Number(v);
      });
      e.triggerComm = f[4 + NUMBERS.length]!;
      const victim = f.slice(5 + NUMBERS.length).join('\t');
      if (victim) e.comm = victim;
      if (o.pid === undefined || e.pid === o.pid) o.onEvent(e);
    },
  }, 'oomkill');
}

/** bcc-style line: `Triggered by PID 1 ("a"), OOM kill of PID 2 ("b"), 1234 kB total-vm, loadavg: 0.1 0.2 0.3`. */
export function oomkillLine(e: OomEvent): string {
  const t = e.time.toISOString().slice(11, 19);
  const mem = e.totalVmKb !== undefined ? `, ${e.totalVmKb} kB total-vm, ${e.anonRssKb ?? 0} kB anon-rss` : '';
  return `${t} Triggered by PID ${e.triggerPid} ("${e.triggerComm}"), OOM kill of PID ${e.pid} ("${e.comm ?? '?'}")${mem}, loadavg: ${e.loadavg}`;
}
