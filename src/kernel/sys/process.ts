/**
 * Process-level system calls: no_new_privs and seccomp filter installation (for `bpfkit seccomp run`), execve
 * with the standard descriptors made inheritable, and CPU affinity (to pin BPF_PROG_TEST_RUN to one CPU).
 */
import { SeccompConst } from '../../isa/uapi.js';
import { kernelError } from './errno.js';
import { addressOf, sys } from './ffi.js';
import { sockFprog } from './packet.js';

/** prctl(2) option (linux/prctl.h). */
const PR_SET_NO_NEW_PRIVS = 38;
/** fcntl(2) commands and descriptor flag (asm-generic/fcntl.h). */
const F_GETFD = 1;
const F_SETFD = 2;
const F_DUPFD_CLOEXEC = 1030;
const FD_CLOEXEC = 1;
/** Bytes of the CPU masks passed to sched_{get,set}affinity (1024 CPUs, glibc's cpu_set_t). */
export const CPU_MASK_BYTES = 128;

/**
 * prctl(PR_SET_NO_NEW_PRIVS, 1) then seccomp(SECCOMP_SET_MODE_FILTER, flags, prog) on the calling thread, with
 * `filter` an encoded classic program. Every FFI function is bound before the filter is installed, so a later
 * `execve` needs no system call but its own (and the fcntl calls of `execve`).
 */
export function installSeccompFilter(filter: Uint8Array, flags = 0): void {
  const s = sys();
  if (s.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) !== 0) throw kernelError('prctl(PR_SET_NO_NEW_PRIVS)', s.errno());
  const fprog = sockFprog(filter);
  if (s.seccomp(SeccompConst.SECCOMP_SET_MODE_FILTER, flags, addressOf(fprog.buf)) < 0) {
    throw kernelError('seccomp(SECCOMP_SET_MODE_FILTER)', s.errno());
  }
}

/** A close-on-exec duplicate of `fd` (fcntl F_DUPFD_CLOEXEC). */
export function dupFd(fd: number, what = 'dup'): number {
  const s = sys();
  const r = s.fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (r < 0) throw kernelError(`fcntl(F_DUPFD_CLOEXEC) ${what}`, s.errno());
  return r;
}

/** Clear FD_CLOEXEC on a descriptor (ignored when `fd` is not open). */
export function clearCloexec(fd: number): void {
  const s = sys();
  const flags = s.fcntl(fd, F_GETFD, 0);
  if (flags >= 0) s.fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
}

/**
 * execve(2): replaces the process; returns only by throwing `KernelError('execve')`. Node marks its stdio
 * descriptors close-on-exec, so 0, 1 and 2 are made inheritable first.
 */
export function execve(path: string, argv: readonly string[], env: readonly string[]): never {
  const s = sys();
  for (let fd = 0; fd <= 2; fd++) clearCloexec(fd);
  s.execve(path, [...argv, null], [...env, null]);
  throw kernelError('execve', s.errno(), { detail: path });
}

/** The calling thread's CPU affinity mask (CPU_MASK_BYTES bytes, bit n = CPU n). */
export function getCpuAffinity(): Uint8Array {
  const mask = Buffer.alloc(CPU_MASK_BYTES);
  const s = sys();
  if (s.schedGetaffinity(0, mask.length, addressOf(mask)) !== 0) throw kernelError('sched_getaffinity', s.errno());
  return new Uint8Array(mask);
}

/** Set the calling thread's CPU affinity mask (from `getCpuAffinity` or `cpuMask`). */
export function setCpuAffinity(mask: Uint8Array): void {
  const b = Buffer.from(mask);
  const s = sys();
  if (s.schedSetaffinity(0, b.length, addressOf(b)) !== 0) throw kernelError('sched_setaffinity', s.errno(), { detail: `mask ${b.toString('hex')}` });
}

/** A mask holding one CPU. */
export function cpuMask(cpu: number): Uint8Array {
  const m = new Uint8Array(CPU_MASK_BYTES);
  m[cpu >> 3]! |= 1 << (cpu & 7);
  return m;
}
