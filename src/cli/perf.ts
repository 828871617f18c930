/**
 * `bpfkit perf list`: BPF programs attached through perf events and raw tracepoints (tracepoints, kprobes,
 * uprobes) by the processes holding them, found with BPF_TASK_FD_QUERY over /proc/PID/fd (like `bpftool perf`).
 * Attachments held only by a pinned or fd-less BPF link are not seen here (see `bpfkit link list`).
 */
import { readdirSync, readlinkSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { taskFdQuery, type TaskFdInfo } from '../kernel/info/query.js';
import { printJson, printTable } from './prog.js';

/** Every (pid, fd) holding a perf event or BPF link with a program, optionally of one process. */
export function perfAttachments(onlyPid?: number): TaskFdInfo[] {
  const pids = onlyPid !== undefined ? [onlyPid] : readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).sort((a, b) => a - b);
  const out: TaskFdInfo[] = [];
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      if (onlyPid !== undefined) throw new UsageError(`pid ${pid}: no such process (or its fds are not readable)`);
      continue; // exited meanwhile
    }
    for (const f of fds.map(Number).sort((a, b) => a - b)) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${f}`);
      } catch {
        continue;
      }
      // Only descriptors that can carry a program: perf events and BPF links (raw tracepoints).
      if (!target.startsWith('anon_inode:') || !/perf_event|bpf[-_]link|bpf-raw/.test(target)) continue;
      const q = taskFdQuery(pid, f);
      if (q && q.progId) out.push(q);
    }
  }
  return out;
}

/** Register `perf`. */
export function register(program: Command): void {
  const perf = program.command('perf').description('BPF programs attached to perf events (tracepoints, kprobes, uprobes) per process');
  perf
    .command('list')
    .alias('show')
    .description('list them (BPF_TASK_FD_QUERY over /proc/*/fd)')
    .option('--pid <pid>', 'only this process')
    .option('--json', 'JSON output')
    .action((opts: { pid?: string; json?: boolean }) => {
      if (opts.pid !== undefined && !/^\d+$/.test(opts.pid)) throw new UsageError(`--pid: '${opts.pid}' is not a process id`);
      const rows = perfAttachments(opts.pid === undefined ? undefined : Number(opts.pid));
      if (opts.json) printJson(rows.map((r) => ({ pid: r.pid, fd: r.fd, prog_id: r.progId, fd_type: r.fdTypeName, name: r.name, offset: r.probeOffset, addr: r.probeAddr })));
      else printTable(['PID', 'FD', 'PROG', 'TYPE', 'NAME', 'OFFSET'], rows.map((r) => [r.pid, r.fd, r.progId, r.fdTypeName, r.name || '-', r.probeOffset || r.probeAddr ? `0x${(r.probeOffset || r.probeAddr).toString(16)}` : '-']));
    });
}
