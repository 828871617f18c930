/**
 * execsnoop: every execve(2) system-wide (or of one pid): time, pid, ppid, comm, filename, arguments and the
 * return value. Script: sys_enter_execve sends the filename (first 63 bytes) and reads argv in the kernel with
 * join(args->argv) (up to 16 arguments of up to 1023 bytes each, like bpftrace's execsnoop), both tagged with
 * the thread; sys_exit_execve sends the result, and this module pairs them by thread (a thread's records arrive
 * in order). ppid is current->real_parent->tgid (the `ppid` builtin). The arguments reach this module
 * structured (not as a space-joined line), so arguments holding spaces or empty ones are reported exactly.
 * A probe cannot fault pages in: strings in memory the program never touched (a literal in a .rodata page not
 * yet read) cannot be read at syscall entry; the arguments then come from /proc/PID/cmdline when the exec
 * succeeded and the process still runs (`argsFrom: 'proc'`), else just the filename (`argsFrom: 'filename'`).
 */
import { readFileSync } from 'node:fs';
import type { JoinResult } from '../trace/runtime.js';
import { checkToolOptions, monoToDate, pidPredicate, runToolScript, type ToolOptions } from './runner.js';

/** One exec. */
export interface ExecEvent {
  time: Date;
  pid: number;
  ppid: number;
  /** Command name after the exec (before it, when the exec failed). */
  comm: string;
  filename: string;
  /** argv as read in the kernel at syscall entry (just [filename] when it could not be read). */
  args: string[];
  /** Whether `args` is cut: more than 16 arguments, one longer than 1023 bytes, or unreadable memory. */
  argsTruncated: boolean;
  /** Where `args` comes from: the kernel at syscall entry, /proc/PID/cmdline, or only the filename. */
  argsFrom: 'kernel' | 'proc' | 'filename';
  /** execve's return value: 0, or -errno. */
  ret: number;
}

/** The bpftrace-language script of execsnoop. */
export function execsnoopScript(pid?: number): string {
  const p = pidPredicate(pid);
  return [
    `tracepoint:syscalls:sys_enter_execve ${p}{ printf("E\\t%d\\t%d\\t%s\\n", pid, tid, str(args->filename)); join(args->argv); }`,
    `tracepoint:syscalls:sys_exit_execve ${p}{ printf("X\\t%llu\\t%d\\t%d\\t%d\\t%d\\t%s\\n", nsecs, pid, tid, ppid, args->ret, comm); }`,
  ].join('\n');
}

/** What sys_enter_execve sent for one thread. */
interface Pending {
  pid: number;
  filename?: string;
  join?: JoinResult;
}

/** argv of a running process from /proc/PID/cmdline (undefined when it is gone). */
function cmdline(pid: number): string[] | undefined {
  try {
    const a = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
    if (a[a.length - 1] === '') a.pop();
    return a.length ? a : undefined;
  } catch {
    return undefined;
  }
}

/** Run execsnoop; each exec goes to `onEvent` as it happens. */
export async function execsnoop(o: ToolOptions & { onEvent: (e: ExecEvent) => void }): Promise<void> {
  checkToolOptions(o, 'execsnoop');
  const pending = new Map<number, Pending>();
  const entry = (tid: number, pid: number): Pending => {
    let e = pending.get(tid);
    if (!e) {
      pending.set(tid, (e = { pid }));
      // Entries whose exit never came (a thread killed inside execve): keep the map small.
      if (pending.size > 4096) pending.delete(pending.keys().next().value!);
    }
    return e;
  };
  const take = (tid: number, pid: number): Pending | undefined => {
    let key: number | undefined = pending.has(tid) ? tid : undefined;
    // A successful exec in a multi-threaded process continues as the thread-group leader (tid becomes pid).
    if (key === undefined) for (const [t, x] of pending) if (x.pid === pid) key = t;
    if (key === undefined) return undefined;
    const e = pending.get(key);
    pending.delete(key);
    return e;
  };
  await runToolScript(execsnoopScript(o.pid), o, {
    onJoin: (j) => {
      entry(j.tid, j.pid).join = j;
    },
    onLine: (f) => {
      if (f[0] === 'E' && f.length >= 4) {
        entry(Number(f[2]), Number(f[1])).filename = f.slice(3).join('\t');
        return;
      }
      if (f[0] !== 'X' || f.length < 7) return;
      const pid = Number(f[2]);
      const ret = Number(f[5]);
      const p = take(Number(f[3]), pid);
      const filename = p?.filename ?? '';
      const j = p?.join;
      let args = [filename];
      let argsFrom: ExecEvent['argsFrom'] = 'filename';
      let argsTruncated = true;
      if (j && !j.fault) [args, argsFrom, argsTruncated] = [j.args, 'kernel', j.more || j.truncated];
      else {
        const c = ret === 0 ? cmdline(pid) : undefined;
        if (c) [args, argsFrom, argsTruncated] = [c, 'proc', false];
      }
      o.onEvent({ time: monoToDate(BigInt(f[1]!)), pid, ppid: Number(f[4]), ret, comm: f.slice(6).join('\t'), filename, args, argsTruncated, argsFrom });
    },
  }, 'execsnoop');
}
