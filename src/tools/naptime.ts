/**
 * naptime: every voluntary sleep through nanosleep(2) or clock_nanosleep(2) (glibc's sleep/usleep/nanosleep use
 * the latter): the parent's pid and comm, the sleeper's pid and comm, and the requested duration, like
 * bpftrace's naptime (which traces nanosleep only). The timespec is read from the caller's memory at syscall
 * entry; zero-length sleeps are skipped, and absolute (TIMER_ABSTIME) clock_nanosleep deadlines are reported
 * with `absolute: true` (their "seconds" are a clock reading, not a duration).
 */
import { checkToolOptions, monoToDate, pidPredicate, runToolScript, type ToolOptions } from './runner.js';

/** One sleep. */
export interface NapEvent {
  time: Date;
  ppid: number;
  pcomm: string;
  pid: number;
  comm: string;
  /** Requested seconds (tv_sec + tv_nsec / 1e9). */
  seconds: number;
  /** tv_sec and tv_nsec as given. */
  sec: number;
  nsec: number;
  syscall: 'nanosleep' | 'clock_nanosleep';
  /** clock_nanosleep with TIMER_ABSTIME: `seconds` is a deadline on `clock`. */
  absolute: boolean;
  /** The clock id of clock_nanosleep (0 REALTIME, 1 MONOTONIC...); 1 for nanosleep. */
  clock: number;
}

/** The bpftrace-language script of naptime. */
export function naptimeScript(pid?: number): string {
  const p = pidPredicate(pid).trim();
  const probe = (sc: string, clock: string, flags: string) =>
    `tracepoint:syscalls:sys_enter_${sc} ${p ? p.slice(0, -1) + ' && ' : '/'}args->rqtp->tv_sec + args->rqtp->tv_nsec/ { $t = curtask; ` +
    `printf("N\\t%llu\\t${sc}\\t%d\\t%d\\t%d\\t%lld\\t%lld\\t%d\\t%s\\t%s\\n", nsecs, ${clock}, ${flags}, $t->real_parent->tgid, args->rqtp->tv_sec, args->rqtp->tv_nsec, pid, $t->real_parent->comm, comm); }`;
  return [probe('nanosleep', '1', '0'), probe('clock_nanosleep', '(int32)args->which_clock', '(int32)args->flags')].join('\n');
}

/** Run naptime; each sleep goes to `onEvent` as it starts. */
export async function naptime(o: ToolOptions & { onEvent: (e: NapEvent) => void }): Promise<void> {
  checkToolOptions(o, 'naptime');
  await runToolScript(naptimeScript(o.pid), o, {
    onLine: (f) => {
      if (f[0] !== 'N' || f.length < 11) return;
      const sec = Number(f[6]);
      const nsec = Number(f[7]);
      o.onEvent({
        time: monoToDate(BigInt(f[1]!)),
        syscall: f[2] as NapEvent['syscall'],
        clock: Number(f[3]),
        absolute: (Number(f[4]) & 1) !== 0,
        ppid: Number(f[5]),
        sec,
        nsec,
        seconds: sec + nsec / 1e9,
        pid: Number(f[8]),
        pcomm: f[9]!,
        comm: f.slice(10).join('\t'),
      });
    },
  }, 'naptime');
}
