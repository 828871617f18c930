/** Value types of the tracing language and the layouts of maps, as the semantic pass infers them. */
import type { Loc } from './ast.js';
import { ctypeName, type CType } from './ctypes.js';

/** Every string value is a zero-padded buffer of this many bytes (bpftrace's default strlen). */
export const STRLEN = 64;

/**
 * Value types. Integers may be pointers (`ptr`, with the pointee `to` when known, and `user` for user-space
 * memory). `mem` is a struct/union or non-char array that lives in memory (only usable with `.`, `[]` or
 * functions taking arrays). `inet` is ntop()'s result, `ksym` ksym()'s, `usym` usym()'s, `time` strftime()'s.
 */
export type Ty =
  | { k: 'int'; signed: boolean; ptr?: boolean; to?: CType; user?: boolean; /** width before promotion (default 64) */ bits?: number }
  | { k: 'str' }
  /** A kstack/ustack id; `perf` is the `perf` print mode, `limit` the frame count of `kstack(N)` (default 127). */
  | { k: 'stack'; user: boolean; perf?: boolean; limit?: number }
  /** buf(x, n): a u64 length, then `n` bytes (printed hex-escaped with %r). */
  | { k: 'buf'; n: number }
  /** macaddr(): 6 bytes (in a u64 slot). */
  | { k: 'mac' }
  /** cgroup_path(id[, filter]): the cgroup id; user space finds its paths. */
  | { k: 'cgpath'; filter?: string }
  /** username: the uid; user space looks the name up. */
  | { k: 'username' }
  | { k: 'void' }
  | { k: 'mem'; ct: CType; user?: boolean }
  | { k: 'inet' }
  | { k: 'ksym' }
  | { k: 'usym' }
  | { k: 'time'; fmt: string };

export const INT: Ty = { k: 'int', signed: true };
export const UINT: Ty = { k: 'int', signed: false };
export const STR: Ty = { k: 'str' };
export const VOID: Ty = { k: 'void' };

/** Bytes a value of type `t` takes in a map key, value or event record. */
export function tySize(t: Ty): number {
  switch (t.k) {
    case 'str':
      return STRLEN;
    case 'inet':
      return INET_SIZE;
    case 'usym':
      return 16;
    case 'buf':
      return 8 + ((t.n + 7) & ~7);
    default:
      return 8;
  }
}

/** join(): at most this many array elements are read (bpftrace's join_argnum)... */
export const JOIN_ARGS = 16;
/** ...each up to this many bytes with its NUL (bpftrace's join_argsize). */
export const JOIN_ARGSIZE = 1024;
/**
 * A join record: u32 kind, u32 join id, u64 pid_tgid, u32 element count, u32 flags (JoinFlag), then the
 * elements packed as NUL-terminated strings.
 */
export const JOIN_HEADER = 24;
/** Flags of a join record. */
export const JoinFlag = { /** the array has more than JOIN_ARGS elements */ MORE: 1, /** an element was cut to JOIN_ARGSIZE - 1 bytes */ TRUNCATED: 2, /** reading the array or an element faulted */ FAULT: 4 } as const;

/** ntop() values: a u64 address family (2 = AF_INET, 10 = AF_INET6), then 16 address bytes. */
export const INET_SIZE = 24;

/** Types that are printed as strings (printf %s, map keys/values). */
export const isStringLike = (t: Ty): boolean => t.k === 'str' || t.k === 'inet' || t.k === 'ksym' || t.k === 'usym' || t.k === 'time' || t.k === 'mac' || t.k === 'cgpath' || t.k === 'username';

/** bpftrace's name for a type, for error messages. */
export function tyName(t: Ty): string {
  if (t.k === 'int') return t.to ? ctypeName({ c: 'ptr', to: t.to }) : t.signed ? 'int64' : 'uint64';
  if (t.k === 'str') return `string[${STRLEN}]`;
  if (t.k === 'stack') return t.user ? 'ustack' : 'kstack';
  if (t.k === 'buf') return `buffer[${t.n}]`;
  if (t.k === 'mac') return 'mac_address';
  if (t.k === 'cgpath') return 'cgroup_path';
  if (t.k === 'username') return 'username';
  if (t.k === 'mem') return ctypeName(t.ct);
  if (t.k === 'inet') return 'inet';
  if (t.k === 'ksym') return 'ksym';
  if (t.k === 'usym') return 'usym';
  if (t.k === 'time') return 'timestamp';
  return 'none';
}

export const sameTy = (a: Ty, b: Ty): boolean =>
  a.k === b.k &&
  (a.k !== 'stack' || b.k !== 'stack' || (a.user === b.user && !!a.perf === !!b.perf && (a.limit ?? STACK_MAX) === (b.limit ?? STACK_MAX))) &&
  (a.k !== 'time' || b.k !== 'time' || a.fmt === b.fmt) &&
  (a.k !== 'buf' || b.k !== 'buf' || a.n === b.n) &&
  (a.k !== 'cgpath' || b.k !== 'cgpath' || a.filter === b.filter);

/** Frames a stack map holds at most (the kernel's default perf_event_max_stack). */
export const STACK_MAX = 127;
/** buf(): at most this many bytes (bpftrace's strlen). */
export const BUF_MAX = 64;

export type AggKind = 'count' | 'sum' | 'min' | 'max' | 'avg' | 'stats' | 'hist' | 'lhist';
export const AGGS: readonly AggKind[] = ['count', 'sum', 'min', 'max', 'avg', 'stats', 'hist', 'lhist'];

/** What the script stores in one map. */
export interface MapInfo {
  /** Name without `@`. */
  name: string;
  /** Key types (empty: a scalar map, keyed by a zero u64). */
  keys: Ty[];
  /** 'value' for `@m = expr`, or the aggregation. */
  kind: 'value' | AggKind;
  /** Value type of a 'value' map. */
  value?: Ty;
  lhist?: { min: number; max: number; step: number };
  /** sum/min/max: whether the aggregated values are signed. */
  signed?: boolean;
  loc: Loc;
}

/** Bytes of the kernel key: keys (or one zero u64), plus a u64 bucket for hist/lhist. */
export function mapKeySize(m: MapInfo): number {
  const k = m.keys.length ? m.keys.reduce((n, t) => n + tySize(t), 0) : 8;
  return k + (m.kind === 'hist' || m.kind === 'lhist' ? 8 : 0);
}

/** Bytes of the kernel value. min/max: {value, set}; avg/stats: {count, total}; others one u64 or a string. */
export function mapValueSize(m: MapInfo): number {
  if (m.kind === 'value') return tySize(m.value!);
  return m.kind === 'min' || m.kind === 'max' || m.kind === 'avg' || m.kind === 'stats' ? 16 : 8;
}

/** Aggregations live in per-CPU hashes and are summed (or min/max'ed) in userspace. */
export const isPerCpu = (m: MapInfo): boolean => m.kind !== 'value';
