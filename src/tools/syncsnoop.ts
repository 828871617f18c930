/**
 * syncsnoop: calls that flush data to storage — sync, syncfs, fsync, fdatasync, sync_file_range, msync — at
 * syscall entry, like bpftrace's syncsnoop (bcc's traces sync only), with the fd argument of syncfs, fsync,
 * fdatasync and sync_file_range (-1 for sync and msync, which take none).
 */
import { tracepointFields } from '../trace/tpformat.js';
import { checkToolOptions, monoToDate, pidPredicate, runToolScript, type ToolOptions } from './runner.js';

/** One sync call. */
export interface SyncEvent {
  time: Date;
  pid: number;
  comm: string;
  /** sync, syncfs, fsync, fdatasync, sync_file_range or msync. */
  syscall: string;
  /** The file descriptor argument (syncfs, fsync, fdatasync, sync_file_range), else -1. */
  fd: number;
}

const CALLS: [string, string][] = [['sync', '-1'], ['syncfs', '(int32)args->fd'], ['fsync', '(int32)args->fd'], ['fdatasync', '(int32)args->fd'], ['sync_file_range', '(int32)args->fd'], ['msync', '-1']];

/** The bpftrace-language script of syncsnoop (syscalls this kernel lacks are left out). */
export function syncsnoopScript(pid?: number, has: (sc: string) => boolean = (sc) => tracepointFields('syscalls', `sys_enter_${sc}`) !== undefined): string {
  return CALLS.filter(([sc]) => has(sc))
    .map(([sc, fd]) => `tracepoint:syscalls:sys_enter_${sc} ${pidPredicate(pid)}{ printf("Y\\t%llu\\t%d\\t${sc}\\t%d\\t%s\\n", nsecs, pid, ${fd}, comm); }`)
    .join('\n');
}

/** Run syncsnoop; each call goes to `onEvent` as it starts. */
export async function syncsnoop(o: ToolOptions & { onEvent: (e: SyncEvent) => void }): Promise<void> {
  checkToolOptions(o, 'syncsnoop');
  await runToolScript(syncsnoopScript(o.pid), o, {
    onLine: (f) => {
      if (f[0] !== 'Y' || f.length < 6) return;
      o.onEvent({ time: monoToDate(BigInt(f[1]!)), pid: Number(f[2]), syscall: f[3]!, fd: Number(f[4]), comm: f.slice(5).join('\t') });
    },
  }, 'syncsnoop');
}
