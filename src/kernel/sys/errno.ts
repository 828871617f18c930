/**
 * errno numbers → names, and the hints bpfkit attaches to kernel failures so a user knows what to do
 * (missing privilege, verifier rejection, feature absent in this kernel, log too small...).
 */
import { readFileSync } from 'node:fs';
import { KernelError } from '../../errors.js';
import { LINUX_ERRNO } from '../../isa/errno.js';

let names: Map<number, string> | undefined;

/** Kernel-internal errno values (include/linux/errno.h) that bpf(2) can still return. */
const EXTRA: Record<number, string> = { 524: 'ENOTSUPP', 512: 'ERESTARTSYS' };

/** The symbolic name of an errno value (`2` → `ENOENT`), or `E<n>` when unknown. */
export function errnoName(errno: number): string {
  if (!names) {
    names = new Map();
    for (const [name, n] of Object.entries(LINUX_ERRNO)) {
      // Prefer the canonical spelling when aliases share a number (EWOULDBLOCK/EAGAIN, EDEADLOCK/EDEADLK...).
      if (!names.has(n) || name === 'EAGAIN' || name === 'EDEADLK' || name === 'EOPNOTSUPP') names.set(n, name);
    }
    for (const [n, name] of Object.entries(EXTRA)) if (!names.has(Number(n))) names.set(Number(n), name);
  }
  return names.get(errno) ?? `E${errno}`;
}

/** The errno value of a name (`ENOENT` → 2). */
export function errnoValue(name: string): number | undefined {
  if (Object.hasOwn(LINUX_ERRNO, name)) return LINUX_ERRNO[name];
  for (const [n, nm] of Object.entries(EXTRA)) if (nm === name) return Number(n);
  return undefined;
}

/** Capability numbers (linux/capability.h) the kernel checks for BPF, tracing and networking. */
const CAP = { NET_ADMIN: 12, SYS_ADMIN: 21, PERFMON: 38, BPF: 39 } as const;

/** This process's effective capabilities (CapEff of /proc/self/status), or undefined when unreadable. */
export function effectiveCapabilities(): bigint | undefined {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt(`0x${m[1]}`) : undefined;
  } catch {
    return undefined;
  }
}

function sysctl(name: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The kernel lockdown mode in force (`integrity`, `confidentiality`), or undefined when none or unknown. */
function readLockdown(): string | undefined {
  try {
    const m = /\[(\w+)\]/.exec(readFileSync('/sys/kernel/security/lockdown', 'utf8'));
    return m && m[1] !== 'none' ? m[1] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What an EPERM means for `command`, from this process's capabilities and the kernel's sysctls: names the
 * missing capability (CAP_BPF / CAP_SYS_ADMIN, CAP_PERFMON, CAP_NET_ADMIN) and `kernel.unprivileged_bpf_disabled`.
 */
export function privilegeHint(command: string): string {
  const caps = effectiveCapabilities();
  const has = (c: number) => caps === undefined || (caps & (1n << BigInt(c))) !== 0n;
  if (command.startsWith('RTM_') || command === 'netlink') {
    return has(CAP.NET_ADMIN) ? 'not permitted: tc/netlink changes need CAP_NET_ADMIN in the interface\'s network namespace' : 'not permitted: this process lacks CAP_NET_ADMIN (tc/netlink changes need it: run as root or grant CAP_NET_ADMIN)';
  }
  if (command === 'perf_event_open') {
    const paranoid = sysctl('kernel.perf_event_paranoid');
    const lacks = !has(CAP.PERFMON) && !has(CAP.SYS_ADMIN);
    return `not permitted: ${lacks ? 'this process lacks CAP_PERFMON (and CAP_SYS_ADMIN)' : 'perf events refused'}${paranoid !== undefined ? ` with kernel.perf_event_paranoid=${paranoid}` : ''}`;
  }
  const lacksBpf = !has(CAP.BPF) && !has(CAP.SYS_ADMIN);
  const unpriv = sysctl('kernel.unprivileged_bpf_disabled');
  if (lacksBpf) {
    const off = unpriv !== undefined && unpriv !== '0' ? `; unprivileged BPF is disabled (kernel.unprivileged_bpf_disabled=${unpriv})` : '';
    return `not permitted: this process lacks CAP_BPF (and CAP_SYS_ADMIN) — run as root or grant CAP_BPF (plus CAP_PERFMON for tracing, CAP_NET_ADMIN for networking programs)${off}`;
  }
  // Say only what is really missing: with every capability, the refusal is the kernel's (lockdown, config, LSM).
  const missing = [has(CAP.PERFMON) ? '' : 'CAP_PERFMON (tracing)', has(CAP.NET_ADMIN) ? '' : 'CAP_NET_ADMIN (networking)'].filter(Boolean);
  const lockdown = readLockdown();
  const why = missing.length
    ? `this object may need ${missing.join(' or ')} too, or`
    : 'the process has CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN, so';
  const kernel = `the kernel refuses it${lockdown ? ` (lockdown: ${lockdown})` : ''}: its configuration, lockdown or an LSM policy does not allow this ${command === 'PROG_LOAD' ? 'program type' : 'operation'}`;
  return `not permitted despite CAP_BPF/CAP_SYS_ADMIN: ${why} ${kernel}`;
}

/** Why a command failed, in words a user can act on. */
export function hintFor(command: string, errno: string): string | undefined {
  switch (errno) {
    case 'EPERM':
      return privilegeHint(command);
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
