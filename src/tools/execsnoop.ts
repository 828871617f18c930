/**
 * execsnoop: every execve(2) system-wide (or of one pid): time, pid, ppid, comm, filename, arguments and the
 * return value. Script: sys_enter_execve saves the filename per thread, sys_exit_execve reports it with
 * the result; ppid is current->real_parent->tgid (the `ppid` builtin). Arguments are read from
 * /proc/PID/cmdline when the event arrives (partial: a process that already exited shows only its filename,
 * and arguments are not captured in the kernel).
 */
import { readFileSync } from 'node:fs';
import { checkToolOptions, monoToDate, pidPredicate, runToolScript, type ToolOptions } from './runner.js';

/** One exec. */
export interface ExecEvent {
  time: Date;
  pid: number;
  ppid: number;
  /** Command name after the exec (before it, when the exec failed). */
  comm: string;
  filename: string;
  /** argv, from /proc/PID/cmdline (or just [filename] when it could not be read). */
  args: string[];
  /** execve's return value: 0, or -errno. */
  ret: number;
}

/** The bpftrace-language script of execsnoop. */
export function execsnoopScript(pid?: number): string {
  const p = pidPredicate(pid);
  return [
    `tracepoint:syscalls:sys_enter_execve ${p}{ @fn[tid] = str(args->filename); }`,
    `tracepoint:syscalls:sys_exit_execve ${p}{ printf("X\\t%llu\\t%d\\t%d\\t%d\\t%s\\t%s\\n", nsecs, pid, ppid, args->ret, comm, @fn[tid]); delete(@fn[tid]); }`,
  ].join('\n');
}

function cmdline(pid: number): string[] | undefined {
  try {
    const t = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    const a = t.split('\0');
    if (a[a.length - 1] === '') a.pop();
    return a.length ? a : undefined;
  } catch {
    return undefined;
  }
}

/** Run execsnoop; each exec goes to `onEvent` as it happens. */
export async function execsnoop(o: ToolOptions & { onEvent: (e: ExecEvent) => void }): Promise<void> {
  checkToolOptions(o, 'execsnoop');
  await runToolScript(execsnoopScript(o.pid), o, {
    onLine: (f) => {
      if (f[0] !== 'X' || f.length < 7) return;
      const pid = Number(f[2]);
      const ret = Number(f[4]);
      const filename = f.slice(6).join('\t');
      o.onEvent({ time: monoToDate(BigInt(f[1]!)), pid, ppid: Number(f[3]), ret, comm: f[5]!, filename, args: (ret === 0 ? cmdline(pid) : undefined) ?? [filename] });
    },
  }, 'execsnoop');
}
