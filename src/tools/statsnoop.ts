/**
 * statsnoop: stat-family system calls with their path and result, like bcc's statsnoop: statx, newfstatat
 * (glibc's stat/lstat/fstatat), newstat, newlstat and statfs, each where this kernel has the syscall tracepoint.
 * The path is copied at syscall entry, the result taken at exit; calls already under way when tracing starts are
 * not reported.
 */
import { tracepointFields } from '../trace/tpformat.js';
import { checkToolOptions, monoToDate, runToolScript, type ToolOptions } from './runner.js';

/** One stat call. */
export interface StatEvent {
  time: Date;
  pid: number;
  /** Thread id. */
  tid: number;
  comm: string;
  /** The syscall's tracepoint name: statx, newfstatat, newstat, newlstat or statfs. */
  syscall: string;
  /** 0, or -errno. */
  ret: number;
  /** errno when it failed, else 0. */
  errno: number;
  path: string;
}

/** The traced syscalls and the name of their path argument. */
const CALLS: [string, string][] = [['statx', 'filename'], ['newfstatat', 'filename'], ['newstat', 'filename'], ['newlstat', 'filename'], ['statfs', 'pathname']];

/** The bpftrace-language script of statsnoop (syscalls this kernel lacks are left out). */
export function statsnoopScript(pid?: number, has: (sc: string) => boolean = (sc) => tracepointFields('syscalls', `sys_enter_${sc}`) !== undefined): string {
  const only = pid !== undefined ? `pid == ${pid}` : '';
  return CALLS.filter(([sc]) => has(sc))
    .map(([sc, arg]) =>
      `tracepoint:syscalls:sys_enter_${sc} ${only ? `/${only}/ ` : ''}{ @path[tid] = str(args->${arg}); @on[tid] = 1; }\n` +
      `tracepoint:syscalls:sys_exit_${sc} /${only ? `${only} && ` : ''}@on[tid]/ { printf("S\\t%llu\\t%d\\t%d\\t${sc}\\t%d\\t%s\\t%s\\n", nsecs, pid, tid, args->ret, comm, @path[tid]); delete(@path[tid]); delete(@on[tid]); }`)
    .join('\n');
}

/** Run statsnoop; each completed stat call goes to `onEvent`. */
export async function statsnoop(o: ToolOptions & { onEvent: (e: StatEvent) => void }): Promise<void> {
  checkToolOptions(o, 'statsnoop');
  await runToolScript(statsnoopScript(o.pid), o, {
    onLine: (f) => {
      if (f[0] !== 'S' || f.length < 8) return;
      const ret = Number(f[5]);
      o.onEvent({ time: monoToDate(BigInt(f[1]!)), pid: Number(f[2]), tid: Number(f[3]), syscall: f[4]!, ret, errno: ret < 0 ? -ret : 0, comm: f[6]!, path: f.slice(7).join('\t') });
    },
  }, 'statsnoop');
}
