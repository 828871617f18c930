/**
 * Security alerts: decoding a ring buffer record from the generated programs into one alert per matched rule,
 * and formatting alerts as JSON lines or one human-readable line.
 */
import { readlinkSync } from 'node:fs';
import { ARG_LEN, BASE_SIZE, FLAG_KILLED, OFF, VARIANTS } from './layout.js';
import { SECURITY_EVENTS, type NormalizedRule, type SecurityAction, type SecurityEventName } from './rules.js';

/** One rule firing on one system call. */
export interface SecurityAlert {
  /** Wall-clock time of the syscall entry. */
  time: Date;
  rule: string;
  event: SecurityEventName;
  action: SecurityAction;
  /** The system call that matched (execve, openat, tgkill...). */
  syscall: string;
  /** True when SIGKILL was sent (kill rules; false if bpf_send_signal failed). */
  killed: boolean;
  pid: number;
  tid: number;
  ppid: number;
  uid: number;
  gid: number;
  /** The caller's command name (for exec: the name before the exec, e.g. the shell's). */
  comm: string;
  /**
   * exec: the path given to execve. Other events: /proc/PID/exe read when the alert is decoded (best effort:
   * absent when the process is already gone).
   */
  binary?: string;
  /** exec: argv (at most 6 strings of at most 63 bytes each, read at syscall entry). */
  args?: string[];
  /** open: the path as given; `flags` the open flags; `dirfd` (-100 = AT_FDCWD). */
  path?: string;
  flags?: number;
  dirfd?: number;
  /** connect: address family ('ipv4', 'ipv6', or the number), destination address and port. */
  family?: string;
  dst?: string;
  port?: number;
  /** kill/ptrace: target pid; kill: signal; ptrace: request; setuid: uid asked for. */
  targetPid?: number;
  signal?: number;
  request?: number;
  targetUid?: number;
}

const dec = new TextDecoder();
function cstr(b: Uint8Array, at: number, max: number): string {
  const end = b.subarray(at, at + max).indexOf(0);
  return dec.decode(b.subarray(at, end < 0 ? at + max : at + end));
}

function exeOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

function ipv6(b: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  // The WHATWG URL parser prints IPv6 hosts in canonical compressed form.
  return new URL(`http://[${parts.join(':')}]/`).hostname.slice(1, -1);
}

/** Convert a CLOCK_MONOTONIC timestamp (ns) to a Date. */
export function monotonicToDate(ns: bigint): Date {
  const now = process.hrtime.bigint();
  return new Date(Date.now() - Number((now - ns) / 1_000_000n));
}

/** Decode one ring buffer record into one alert per rule in its match mask. */
export function decodeRecord(rec: Uint8Array, rules: readonly NormalizedRule[]): SecurityAlert[] {
  if (rec.byteLength < BASE_SIZE) return [];
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  const u32 = (o: number) => dv.getUint32(o, true);
  const i32 = (o: number) => dv.getInt32(o, true);
  const mask = dv.getBigUint64(OFF.mask, true);
  const event = SECURITY_EVENTS[u32(OFF.kind) - 1];
  const variant = VARIANTS[u32(OFF.variant)];
  if (!event || !variant) return [];
  const pid = u32(OFF.pid);
  const base = {
    time: monotonicToDate(dv.getBigUint64(OFF.ts, true)),
    event,
    syscall: variant.syscall,
    killed: (u32(OFF.flags) & FLAG_KILLED) !== 0,
    pid,
    tid: u32(OFF.tid),
    ppid: u32(OFF.ppid),
    uid: u32(OFF.uid),
    gid: u32(OFF.gid),
    comm: cstr(rec, OFF.comm, 16),
  };
  const extra: Partial<SecurityAlert> = {};
  switch (event) {
    case 'exec': {
      extra.binary = cstr(rec, OFF.str, BASE_SIZE - OFF.str);
      const n = Number(dv.getBigUint64(OFF.a3, true));
      const args: string[] = [];
      for (let k = 0; k < n && BASE_SIZE + (k + 1) * ARG_LEN <= rec.byteLength; k++) args.push(cstr(rec, BASE_SIZE + k * ARG_LEN, ARG_LEN));
      extra.args = args;
      break;
    }
    case 'open':
      extra.path = cstr(rec, OFF.str, BASE_SIZE - OFF.str);
      extra.flags = u32(OFF.a0);
      extra.dirfd = i32(OFF.a1);
      break;
    case 'connect': {
      const fam = dv.getUint16(OFF.family, true);
      extra.family = fam === 2 ? 'ipv4' : fam === 10 ? 'ipv6' : String(fam);
      if (fam === 2 || fam === 10) extra.port = dv.getUint16(OFF.port, false);
      if (fam === 2) extra.dst = Array.from(rec.subarray(OFF.addr4, OFF.addr4 + 4)).join('.');
      if (fam === 10) extra.dst = ipv6(rec.subarray(OFF.addr6, OFF.addr6 + 16));
      break;
    }
    case 'ptrace':
      extra.targetPid = i32(OFF.a0);
      extra.request = i32(OFF.a1);
      break;
    case 'setuid':
      extra.targetUid = i32(OFF.a0);
      break;
    case 'kill':
      extra.targetPid = i32(OFF.a0);
      extra.signal = i32(OFF.a1);
      break;
  }
  if (event !== 'exec') {
    const exe = exeOf(pid);
    if (exe) extra.binary = exe;
  }
  const out: SecurityAlert[] = [];
  for (const r of rules) {
    if (r.index < 64 && mask & (1n << BigInt(r.index))) out.push({ ...{ time: base.time, rule: r.name, action: r.action }, ...base, ...extra });
  }
  return out;
}

/** The alert as one JSON line (no trailing newline); the time as ISO 8601. */
export function alertJson(a: SecurityAlert): string {
  return JSON.stringify({ ...a, time: a.time.toISOString() });
}

/** The alert as one human-readable line. */
export function alertText(a: SecurityAlert): string {
  const parts = [a.time.toISOString(), `[${a.action}]`, a.rule, `${a.event}/${a.syscall}`, `pid=${a.pid}`, `ppid=${a.ppid}`, `uid=${a.uid}`, `comm=${JSON.stringify(a.comm)}`];
  if (a.binary !== undefined) parts.push(`binary=${JSON.stringify(a.binary)}`);
  if (a.args) parts.push(`args=${JSON.stringify(a.args)}`);
  if (a.path !== undefined) parts.push(`path=${JSON.stringify(a.path)}`, `flags=0x${(a.flags ?? 0).toString(16)}`);
  if (a.family !== undefined) parts.push(`family=${a.family}`);
  if (a.dst !== undefined) parts.push(`dst=${a.dst}`);
  if (a.port !== undefined) parts.push(`port=${a.port}`);
  if (a.targetPid !== undefined) parts.push(`target=${a.targetPid}`);
  if (a.signal !== undefined) parts.push(`signal=${a.signal}`);
  if (a.request !== undefined) parts.push(`request=${a.request}`);
  if (a.targetUid !== undefined) parts.push(`targetUid=${a.targetUid}`);
  if (a.action === 'kill') parts.push(a.killed ? 'KILLED' : 'KILL-FAILED');
  return parts.join(' ');
}
