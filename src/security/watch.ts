/**
 * Running security rules in the kernel: compile them, load the programs and maps (one Collection), attach each
 * program to its syscall-entry tracepoint, and read matches from the ring buffer into `onAlert` callbacks until
 * closed (by `close()` or an AbortSignal). Counters (emitted, dropped because the ring was full, kills sent,
 * kills that failed, hits per rule) live in an array map the programs update atomically.
 */
import { existsSync } from 'node:fs';
import { closeLinks, type Link } from '../kernel/link/link.js';
import { attachTracepoint } from '../kernel/link/tracepoint.js';
import { tracefsRoot } from '../kernel/sys/fs.js';
import { Collection } from '../kernel/load/collection.js';
import type { KernelProgram } from '../kernel/load/program.js';
import { RingBuffer } from '../kernel/ringbuf/index.js';
import { UsageError } from '../errors.js';
import { decodeRecord, type SecurityAlert } from './alerts.js';
import { STAT, STAT_RULES } from './layout.js';
import { compileSecurity } from './program.js';
import { isNormalizedRule, normalizeSecurityRules, type NormalizedRule, type SecurityRule } from './rules.js';

/** Options of `watch`. */
export interface WatchOptions {
  /** Called for every alert (one per matching rule per system call). */
  onAlert(alert: SecurityAlert): void;
  /** Aborting closes the watcher. */
  signal?: AbortSignal;
  /** Ring buffer size in bytes (power of two, at least a page; default 256 KiB). */
  ringBytes?: number;
  /** Also watch this process (default false: the watcher's own system calls are ignored, so it cannot kill itself). */
  includeSelf?: boolean;
  /** Called when an `onAlert` callback throws (default: the error is rethrown from the event loop). */
  onError?(err: unknown): void;
}

/** Counters: what the kernel matched and sent, and what user space received. */
export interface SecurityStats {
  /** Records the programs put in the ring buffer. */
  emitted: number;
  /** Matches lost because the ring buffer was full (the kill, if any, still happened). */
  dropped: number;
  /** SIGKILLs sent. */
  kills: number;
  /** bpf_send_signal failures (kernel threads, exiting tasks...). */
  killFailed: number;
  /** Records read from the ring buffer so far. */
  received: number;
  /** Matches per rule name (counted in the kernel, dropped ones included). */
  rules: Record<string, number>;
}

/** A running set of rules. */
export interface SecurityWatcher {
  readonly rules: readonly NormalizedRule[];
  /** The tracepoints attached (`syscalls:sys_enter_openat`, ...). */
  readonly tracepoints: readonly string[];
  readonly programs: readonly KernelProgram[];
  /** Read everything already in the ring buffer now (alerts go to `onAlert`); returns the records read. */
  flush(): number;
  stats(): SecurityStats;
  /** Detach, drain what is left, close everything. Idempotent. */
  close(): Promise<void>;
  /** Resolves once closed (by `close()` or the abort signal). */
  readonly closed: Promise<void>;
}

/**
 * Load `rules` (validated: `UsageError` on bad ones) into the kernel and start reporting matches.
 * Needs root (bpf(2), tracefs). Throws `KernelError` when loading or attaching fails (everything is undone).
 */
export function watch(rules: readonly SecurityRule[] | readonly NormalizedRule[], opts: WatchOptions): SecurityWatcher {
  if (typeof opts?.onAlert !== 'function') throw new UsageError('watch: options.onAlert must be a function');
  const norm: NormalizedRule[] = rules.length && rules.every(isNormalizedRule) ? [...(rules as NormalizedRule[])] : normalizeSecurityRules(rules);
  const compiled = compileSecurity(norm, { excludePid: opts.includeSelf ? undefined : process.pid, ringBytes: opts.ringBytes });
  const root = tracefsRoot();
  const present = compiled.programs.filter((p) => !p.variant.optional || existsSync(`${root}/events/syscalls/sys_enter_${p.variant.syscall}`));
  const collection = Collection.load(compiled.object, { programs: present.map((p) => p.spec.name) });
  const links: Link[] = [];
  let ring: RingBuffer | undefined;
  try {
    for (const p of present) links.push(attachTracepoint(collection.program(p.spec.name), 'syscalls', `sys_enter_${p.variant.syscall}`));
    ring = new RingBuffer(collection.map('sec_events'));
  } catch (e) {
    for (const l of links) l.close();
    collection.close();
    throw e;
  }
  const rb = ring;
  const stats = collection.map('sec_stats');
  let received = 0;
  const onRecord = (rec: Uint8Array): void => {
    received++;
    for (const a of decodeRecord(rec, norm)) {
      try {
        opts.onAlert(a);
      } catch (e) {
        if (opts.onError) opts.onError(e);
        else throw e;
      }
    }
  };
  rb.start(onRecord);
  let closing: Promise<void> | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const counter = (slot: number): number => {
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, slot, true);
    const v = stats.lookup(key);
    return v ? Number(new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true)) : 0;
  };
  let final: SecurityStats | undefined;
  const readStats = (): SecurityStats => {
    if (final) return final;
    const perRule: Record<string, number> = {};
    for (const r of norm) perRule[r.name] = counter(STAT_RULES + r.index);
    return { emitted: counter(STAT.emitted), dropped: counter(STAT.dropped), kills: counter(STAT.kills), killFailed: counter(STAT.killFailed), received, rules: perRule };
  };
  const onAbort = (): void => void watcher.close();
  const watcher: SecurityWatcher = {
    rules: norm,
    tracepoints: present.map((p) => `syscalls:sys_enter_${p.variant.syscall}`),
    programs: present.map((p) => collection.program(p.spec.name)),
    flush: () => (closing ? 0 : rb.drain(onRecord)),
    stats: readStats,
    closed,
    close() {
      closing ??= (async () => {
        opts.signal?.removeEventListener('abort', onAbort);
        try {
          await closeLinks(links);
          rb.drain(onRecord);
        } finally {
          final = readStats();
          rb.close();
          collection.close();
          resolveClosed();
        }
      })();
      return closing;
    },
  };
  if (opts.signal) {
    if (opts.signal.aborted) void watcher.close();
    else opts.signal.addEventListener('abort', onAbort, { once: true });
  }
  return watcher;
}
