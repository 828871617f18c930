/**
 * The byte layout of one security event as the generated programs build it (on the stack, then copied into a
 * ring buffer record), the syscall tracepoints each event family is attached to and how each one's arguments
 * fill the record, and the layout of the counters map.
 */
import type { SecurityEventName } from './rules.js';

/** Field offsets in a record (little-endian on x86-64; host order in general). */
export const OFF = {
  /** u64 CLOCK_MONOTONIC ns (bpf_ktime_get_ns). */
  ts: 0,
  /** u64 bitmask of the rules that matched. */
  mask: 8,
  /** u32 event kind (1-based index in SECURITY_EVENTS). */
  kind: 16,
  /** u32 flags: FLAG_KILLED. */
  flags: 20,
  pid: 24,
  tid: 28,
  ppid: 32,
  uid: 36,
  gid: 40,
  /** u32 index in VARIANTS (which syscall). */
  variant: 44,
  /** char[16]. */
  comm: 48,
  /** Event-specific u64 slots (see `Variant`). */
  a0: 64,
  a1: 72,
  a2: 80,
  /** exec: number of argv strings captured. */
  a3: 88,
  /** char[PATH_MAX_CAPTURE]: the binary or file path. */
  str: 96,
  /** connect: fd (u32), then the sockaddr (28 bytes, as much as addrlen gave). */
  connFd: 64,
  family: 68,
  port: 70,
  addr4: 72,
  addr6: 76,
} as const;

/** Size of the record header plus path: what every program builds on its stack. */
export const BASE_SIZE = 352;
/** exec records carry argv strings after the base. */
export const ARGV_MAX = 6;
export const ARG_LEN = 64;
export const EXEC_SIZE = BASE_SIZE + ARGV_MAX * ARG_LEN;
/** Record flag: bpf_send_signal(SIGKILL) succeeded. */
export const FLAG_KILLED = 1;

/** Counters map (ARRAY of u64, updated atomically) slots; per-rule hits start at STAT_RULES. */
export const STAT = { emitted: 0, dropped: 1, kills: 2, killFailed: 3 } as const;
export const STAT_RULES = 8;

/** Where an event-specific slot's value comes from. */
export type ArgSource = { arg: number } | { const: number } | { userU64: number };

/** One syscall tracepoint of an event family and how its arguments fill the record. */
export interface Variant {
  event: SecurityEventName;
  syscall: string;
  /** Argument holding the user pointer to the path (read with bpf_probe_read_user_str into `str`). */
  str?: number;
  /** exec: argument holding argv. */
  argv?: number;
  /** connect: arguments holding the sockaddr pointer and its length. */
  sockaddr?: { ptr: number; len: number; fd: number };
  /** a0/a1 sources. */
  a0?: ArgSource;
  a1?: ArgSource;
  /** Missing on some architectures (open, creat are x86-64 only): skipped when absent. */
  optional?: boolean;
}

// O_WRONLY|O_CREAT|O_TRUNC, creat(2)'s flags.
const CREAT_FLAGS = 0x241;

/**
 * The syscall tracepoints (syscalls:sys_enter_<syscall>) per event. a0/a1 meaning per event:
 * exec a1 = dirfd (execveat); open a0 = flags, a1 = dirfd; ptrace a0 = target pid, a1 = request;
 * setuid a0 = uid asked for (euid), a1 = first argument; kill a0 = target pid (tgkill: tgid), a1 = signal.
 */
export const VARIANTS: readonly Variant[] = [
  { event: 'exec', syscall: 'execve', str: 0, argv: 1, a1: { const: -100 } },
  { event: 'exec', syscall: 'execveat', str: 1, argv: 2, a1: { arg: 0 } },
  { event: 'open', syscall: 'open', str: 0, a0: { arg: 1 }, a1: { const: -100 }, optional: true },
  { event: 'open', syscall: 'openat', str: 1, a0: { arg: 2 }, a1: { arg: 0 } },
  { event: 'open', syscall: 'openat2', str: 1, a0: { userU64: 2 }, a1: { arg: 0 } },
  { event: 'open', syscall: 'creat', str: 0, a0: { const: CREAT_FLAGS }, a1: { const: -100 }, optional: true },
  { event: 'connect', syscall: 'connect', sockaddr: { ptr: 1, len: 2, fd: 0 } },
  { event: 'ptrace', syscall: 'ptrace', a0: { arg: 1 }, a1: { arg: 0 } },
  { event: 'setuid', syscall: 'setuid', a0: { arg: 0 }, a1: { arg: 0 } },
  { event: 'setuid', syscall: 'setreuid', a0: { arg: 1 }, a1: { arg: 0 } },
  { event: 'setuid', syscall: 'setresuid', a0: { arg: 1 }, a1: { arg: 0 } },
  { event: 'kill', syscall: 'kill', a0: { arg: 0 }, a1: { arg: 1 } },
  { event: 'kill', syscall: 'tkill', a0: { arg: 0 }, a1: { arg: 1 } },
  { event: 'kill', syscall: 'tgkill', a0: { arg: 0 }, a1: { arg: 2 } },
];

/** Flags bits counted as a write by `access` (O_ACCMODE | O_CREAT | O_TRUNC). */
export const WRITE_FLAGS = 0x3 | 0x40 | 0x200;
