/**
 * killsnoop: every kill(2): the sender's pid and comm, the target pid, the signal and the result.
 * Script (bpftrace's killsnoop): sys_enter_kill saves target and signal per thread, sys_exit_kill reports them
 * with the return value. Only kill(2) is traced (not tkill/tgkill/pidfd_send_signal), like bpftrace's tool.
 */
import { checkToolOptions, monoToDate, runToolScript, type ToolOptions } from './runner.js';
import { signalName } from './names.js';

/** One kill(2). */
export interface KillEvent {
  time: Date;
  /** The sender. */
  pid: number;
  comm: string;
  /** The target as passed: a pid, 0 (own group), -1 (all) or -pgid. */
  targetPid: number;
  signal: number;
  /** `SIGTERM`, or `0` for the null signal. */
  signalName: string;
  /** 0, or -errno (-3: ESRCH, -1: EPERM). */
  result: number;
}

/** The bpftrace-language script of killsnoop. */
export function killsnoopScript(pid?: number): string {
  const only = pid !== undefined ? `pid == ${pid} && ` : '';
  return [
    `tracepoint:syscalls:sys_enter_kill ${only ? `/pid == ${pid}/ ` : ''}{ @tpid[tid] = (int32)args->pid; @tsig[tid] = (int32)args->sig; @on[tid] = 1; }`,
    `tracepoint:syscalls:sys_exit_kill /${only}@on[tid]/ { printf("K\\t%llu\\t%d\\t%d\\t%d\\t%d\\t%s\\n", nsecs, pid, @tpid[tid], @tsig[tid], args->ret, comm); delete(@tpid[tid]); delete(@tsig[tid]); delete(@on[tid]); }`,
  ].join('\n');
}

/** Run killsnoop; each kill goes to `onEvent` as it happens. */
export async function killsnoop(o: ToolOptions & { onEvent: (e: KillEvent) => void }): Promise<void> {
  checkToolOptions(o, 'killsnoop');
  await runToolScript(killsnoopScript(o.pid), o, {
    onLine: (f) => {
      if (f[0] !== 'K' || f.length < 7) return;
      const signal = Number(f[4]);
      o.onEvent({ time: monoToDate(BigInt(f[1]!)), pid: Number(f[2]), targetPid: Number(f[3]), signal, signalName: signalName(signal), result: Number(f[5]), comm: f.slice(6).join('\t') });
    },
  }, 'killsnoop');
}
