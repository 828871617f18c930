/**
 * syscount: system calls counted per syscall (raw_syscalls:sys_enter, keyed by number), names from
 * src/isa's syscall tables for this machine's architecture. With `interval`, a snapshot every N seconds.
 */
import { SYSCALLS_AARCH64 } from '../isa/syscalls-aarch64.js';
import { SYSCALLS_X86_64 } from '../isa/syscalls-x86_64.js';
import type { RawEntry } from '../trace/output.js';
import { entryTotal, u64At } from './maps.js';
import { checkToolOptions, pidPredicate, runToolScript, type ToolOptions } from './runner.js';

/** One syscall's count. */
export interface SyscallCount {
  nr: number;
  /** Name (`syscall_N` when the table does not know the number). */
  name: string;
  count: number;
}

let names: Map<number, string> | undefined;
/** The syscall name of number `nr` on this architecture. */
export function syscallName(nr: number): string {
  if (!names) {
    const table = process.arch === 'arm64' ? SYSCALLS_AARCH64 : SYSCALLS_X86_64;
    names = new Map(Object.entries(table).map(([n, v]) => [v, n]));
  }
  return names.get(nr) ?? `syscall_${nr}`;
}

/** The bpftrace-language script of syscount. */
export function syscountScript(pid?: number, interval?: number): string {
  let s = `tracepoint:raw_syscalls:sys_enter ${pidPredicate(pid)}{ @calls[args->id] = count(); }`;
  if (interval !== undefined) s += `\ninterval:ms:${Math.round(interval * 1000)} { print(@calls); clear(@calls); }`;
  return s;
}

function counts(entries: RawEntry[]): SyscallCount[] {
  return entries
    .map((e) => {
      const nr = Number(BigInt.asIntN(64, u64At(e.key)));
      return { nr, name: syscallName(nr), count: Number(entryTotal(e)) };
    })
    .filter((c) => c.count > 0)
    .sort((a, b) => b.count - a.count || a.nr - b.nr);
}

/** Run syscount; returns the counts of the whole run (or of the last interval when `interval` is set). */
export async function syscount(o: ToolOptions & { interval?: number; onInterval?: (c: SyscallCount[]) => void } = {}): Promise<SyscallCount[]> {
  checkToolOptions(o, 'syscount');
  let result: SyscallCount[] = [];
  await runToolScript(syscountScript(o.pid, o.interval), o, {
    onMap: (info, entries, _f, when) => {
      if (info.name !== 'calls') return;
      result = counts(entries);
      if (when === 'print') o.onInterval?.(result);
    },
  }, 'syscount');
  return result;
}
