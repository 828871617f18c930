/**
 * errno numbers → names, and the hints bpfkit attaches to kernel failures so a user knows what to do
 * (missing privilege, verifier rejection, feature absent in this kernel, log too small...).
 */
import { KernelError } from '../../errors.js';
import { errnoTable } from './ffi.js';

let names: Map<number, string> | undefined;

/** Linux errno values bpfkit cares about even if koffi's table lacks them. */
const EXTRA: Record<number, string> = { 95: 'EOPNOTSUPP', 524: 'ENOTSUPP', 512: 'ERESTARTSYS', 4: 'EINTR' };

/** The symbolic name of an errno value (`2` → `ENOENT`), or `E<n>` when unknown. */
export function errnoName(errno: number): string {
  if (!names) {
    names = new Map();
    for (const [name, n] of Object.entries(errnoTable())) {
      // Prefer the canonical spelling when aliases share a number (EWOULDBLOCK/EAGAIN, EDEADLOCK/EDEADLK...).
      if (!names.has(n) || name === 'EAGAIN' || name === 'EDEADLK' || name === 'EOPNOTSUPP') names.set(n, name);
    }
    for (const [n, name] of Object.entries(EXTRA)) if (!names.has(Number(n))) names.set(Number(n), name);
  }
  return names.get(errno) ?? `E${errno}`;
}

/** The errno value of a name (`ENOENT` → 2). */
export function errnoValue(name: string): number | undefined {
  const t = errnoTable();
  if (name in t) return t[name];
  for (const [n, nm] of Object.entries(EXTRA)) if (nm === name) return Number(n);
  return undefined;
}

/** Why a command failed, in words a user can act on. */
export function hintFor(command: string, errno: string): string | undefined {
  switch (errno) {
    case 'EPERM':
      if (command === 'PROG_LOAD') {
        return 'not permitted: missing CAP_BPF/CAP_SYS_ADMIN, kernel lockdown, or this program type is refused by the kernel configuration';
      }
      return 'not permitted: missing CAP_BPF/CAP_SYS_ADMIN (or CAP_PERFMON/CAP_NET_ADMIN), or the kernel is locked down';
    case 'EACCES':
      if (command === 'PROG_LOAD') return 'the verifier rejected the program — see the log';
      return 'permission denied';
    case 'E2BIG':
      if (command.startsWith('MAP_UPDATE')) return 'the map is full';
      return 'too big: attr larger than this kernel knows, program too large, or map full';
    case 'EINVAL':
      return 'invalid argument: a feature this kernel lacks, or a bad attribute (sizes, flags, types)';
    case 'ENOENT':
      return 'no such entry (key, id, pin path or attach target)';
    case 'ENOSPC':
      if (command === 'PROG_LOAD' || command === 'BTF_LOAD') return 'the verifier log buffer is too small: retry with a bigger log';
      return 'no space left';
    case 'EEXIST':
      return 'already exists';
    case 'EBADF':
      return 'bad file descriptor (closed object?)';
    case 'ENOTSUPP':
    case 'EOPNOTSUPP':
      return 'operation not supported for this object or by this kernel';
    case 'EBUSY':
      return 'busy: something is already attached here';
    case 'EFAULT':
      return 'bad address passed to the kernel';
    case 'ENOMEM':
      return 'out of memory (or RLIMIT_MEMLOCK on old kernels)';
    case 'ESRCH':
      return 'no such process or object';
  }
  return undefined;
}

/** Build the typed error for a failed call. `command` is the bpf command or syscall name. */
export function kernelError(command: string, errno: number, opts: { log?: string; detail?: string; hint?: string } = {}): KernelError {
  const name = errnoName(errno);
  return new KernelError(command, errno, name, { hint: opts.hint ?? hintFor(command, name), log: opts.log, detail: opts.detail });
}
