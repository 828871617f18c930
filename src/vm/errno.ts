/**
 * Linux errno values the userspace runtime returns from helpers (as negative numbers) and carries in map errors,
 * with their names. Only the ones eBPF maps and helpers use.
 */

/** errno numbers (x86-64 / generic Linux). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  E2BIG: 7,
  /** An fd naming no program or map in a prog array / map-in-map update. */
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENOSPC: 28,
  ERANGE: 34,
  ELOOP: 40,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  ENOTSUPP: 524,
} as const;

/** EBADF, kept as a named export for existing imports. */
export const EBADF = Errno.EBADF;

const NAMES = new Map<number, string>(Object.entries(Errno).map(([k, v]) => [v, k]));

/** The name of an errno (positive or negative), `E<n>` when unknown. */
export function errnoName(errno: number): string {
  return NAMES.get(Math.abs(errno)) ?? `E${Math.abs(errno)}`;
}
