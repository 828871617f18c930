/**
 * opensnoop: every openat(2): time, pid, comm, the returned fd (or -errno) and the path. Script:
 * sys_enter_openat saves the path per thread, sys_exit_openat reports it with the result.
 * (open(2) and openat2(2) are not traced: on x86-64 glibc and most programs open through openat.)
 */
import { checkToolOptions, monoToDate, pidPredicate, runToolScript, type ToolOptions } from './runner.js';

/** One openat. */
export interface OpenEvent {
  time: Date;
  pid: number;
  comm: string;
  /** The new fd, or -1 when it failed (then `errno` is set). */
  fd: number;
  errno: number;
  path: string;
}

/** The bpftrace-language script of opensnoop. */
export function opensnoopScript(pid?: number): string {
  const p = pidPredicate(pid);
  return [
    `tracepoint:syscalls:sys_enter_openat ${p}{ @fn[tid] = str(args->filename); }`,
    `tracepoint:syscalls:sys_exit_openat ${p}{ printf("O\\t%llu\\t%d\\t%d\\t%s\\t%s\\n", nsecs, pid, args->ret, comm, @fn[tid]); delete(@fn[tid]); }`,
  ].join('\n');
}

/** Run opensnoop; each open goes to `onEvent` as it happens. */
export async function opensnoop(o: ToolOptions & { onEvent: (e: OpenEvent) => void }): Promise<void> {
  checkToolOptions(o, 'opensnoop');
  await runToolScript(opensnoopScript(o.pid), o, {
    onLine: (f) => {
      if (f[0] !== 'O' || f.length < 6) return;
      const ret = Number(f[3]);
      o.onEvent({ time: monoToDate(BigInt(f[1]!)), pid: Number(f[2]), fd: ret < 0 ? -1 : ret, errno: ret < 0 ? -ret : 0, comm: f[4]!, path: f.slice(5).join('\t') });
    },
  }, 'opensnoop');
}
