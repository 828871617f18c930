/**
 * Kernel pseudo file systems bpfkit depends on: bpffs (pins) and tracefs (tracepoint ids), found or mounted
 * when privileged, plus CPU lists and what /proc says a process is doing.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { SYSCALLS_AARCH64 } from '../../isa/syscalls-aarch64.js';
import { SYSCALLS_X86_64 } from '../../isa/syscalls-x86_64.js';
import { kernelError } from './errno.js';
import { addressOf, sys } from './ffi.js';

/** statfs magic numbers. */
export const FsMagic = { BPF: 0xcafe4a11, TRACEFS: 0x74726163, DEBUGFS: 0x64626720 } as const;

/** The file-system magic of a path, or undefined if it cannot be read. */
export function fsMagic(path: string): number | undefined {
  const buf = Buffer.alloc(128);
  const r = sys().statfs(path, addressOf(buf));
  if (r !== 0) return undefined;
  return Number(buf.readBigInt64LE(0) & 0xffffffffn);
}

/** mount(2); throws `KernelError('mount', errno)`. */
export function mount(source: string, target: string, fstype: string): void {
  if (!existsSync(target)) mkdirSync(target, { recursive: true });
  const s = sys();
  if (s.mount(source, target, fstype, 0, 0n) !== 0) throw kernelError('mount', s.errno(), { detail: `${fstype} on ${target}` });
}

/** Make sure bpffs is mounted at `path` (default /sys/fs/bpf): mount it when absent (needs privilege). */
export function ensureBpffs(path = '/sys/fs/bpf'): string {
  if (fsMagic(path) === FsMagic.BPF) return path;
  mount('bpf', path, 'bpf');
  return path;
}

/** The tracefs root (events/<cat>/<name>/id under it), mounting it at /sys/kernel/tracing when absent. */
export function tracefsRoot(): string {
  for (const p of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
    if (existsSync(`${p}/events`)) return p;
  }
  mount('tracefs', '/sys/kernel/tracing', 'tracefs');
  return '/sys/kernel/tracing';
}

/** Parse a kernel CPU list (`0-3,5,7-8`). */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map((x) => parseInt(x, 10));
    for (let c = a!; c <= (b ?? a!); c++) out.push(c);
  }
  return out;
}

let possible: number[] | undefined;
/** The possible CPUs (per-CPU map values have one slot per possible CPU). */
export function possibleCpus(): number[] {
  return (possible ??= parseCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8')));
}

/** The online CPUs. */
export function onlineCpus(): number[] {
  return parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
}

/**
 * Resolves once process `pid` sits blocked in read(2) on descriptor `fd` (from /proc/PID/syscall), or after
 * `timeoutMs`, or at once when it is gone or the file is missing. Used to attach probes to a held child only
 * after its shell has started (dash calls getpid, openat... while it initialises).
 */
export async function waitBlockedInRead(pid: number, fd: number, timeoutMs: number): Promise<void> {
  const readNr = process.arch === 'arm64' ? SYSCALLS_AARCH64.read : SYSCALLS_X86_64.read;
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    let s: string;
    try {
      s = readFileSync(`/proc/${pid}/syscall`, 'utf8');
    } catch {
      return;
    }
    const [nr, arg0] = s.trim().split(/\s+/);
    if (Number(nr) === readNr && Number(arg0) === fd) return;
    await new Promise((r) => setTimeout(r, 3));
  }
}
