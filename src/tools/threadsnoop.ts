/**
 * threadsnoop: every pthread_create() (a uprobe on libc's pthread_create, like bpftrace's threadsnoop):
 * pid, comm and the thread's start routine, named from the process's ELF symbols (read from /proc/PID/maps
 * when the event arrives: a process that is already gone keeps the bare address). Programs that create
 * threads without libc's pthread_create (Go, raw clone) are not seen.
 */
import { resolveLibrary } from '../kernel/link/libpath.js';
import { checkToolOptions, monoToDate, runToolScript, type ToolOptions } from './runner.js';
import { readMappings, resolveUser, type UserMapping } from './usym.js';

/** One pthread_create call. */
export interface ThreadEvent {
  time: Date;
  pid: number;
  /** Thread that called pthread_create. */
  tid: number;
  comm: string;
  /** The start routine's address in the process. */
  address: bigint;
  /** Its symbol (`worker_main`), `0x…` when unknown. */
  func: string;
  /** The file it lives in, when known. */
  module?: string;
}

/** The bpftrace-language script of threadsnoop (`libc`: the path of the C library). */
export function threadsnoopScript(libc: string, pid?: number): string {
  const p = pid !== undefined ? `/pid == ${pid}/ ` : '';
  return `uprobe:${libc}:pthread_create ${p}{ printf("T\\t%llu\\t%d\\t%d\\t%llu\\t%s\\n", nsecs, pid, tid, arg2, comm); }`;
}

/** Run threadsnoop; each thread creation goes to `onEvent`. `libc` overrides the C library's path. */
export async function threadsnoop(o: ToolOptions & { libc?: string; onEvent: (e: ThreadEvent) => void }): Promise<void> {
  checkToolOptions(o, 'threadsnoop');
  const libc = o.libc ?? resolveLibrary('libc.so.6');
  // Mappings per pid, re-read when an address falls outside them (a library loaded since).
  const maps = new Map<number, UserMapping[]>();
  const resolve = (pid: number, address: bigint) => {
    let m = maps.get(pid);
    let f = m ? resolveUser([address], m)[0] : undefined;
    if (!f?.mapping) {
      m = readMappings(pid);
      if (m.length) maps.set(pid, m);
      f = resolveUser([address], m)[0];
    }
    if (maps.size > 1024) maps.delete(maps.keys().next().value!);
    return f!;
  };
  await runToolScript(threadsnoopScript(libc, o.pid), o, {
    onLine: (f) => {
      if (f[0] !== 'T' || f.length < 6) return;
      const pid = Number(f[2]);
      const address = BigInt(f[4]!);
      const r = resolve(pid, address);
      o.onEvent({ time: monoToDate(BigInt(f[1]!)), pid, tid: Number(f[3]), address, func: r.name ?? `0x${address.toString(16)}`, module: r.module, comm: f.slice(5).join('\t') });
    },
  }, 'threadsnoop');
}
