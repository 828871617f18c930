/**
 * Runtime security rules (JSON, in the spirit of Falco/Tetragon): the rule format, its validation with one-line
 * errors naming the file, the rule (index and name), the field and why, and normalisation into the plain
 * numbers and byte strings the program generator compiles into in-kernel comparisons.
 */
import { UsageError } from '../errors.js';

/** What a rule watches: one family of system calls (syscall-entry tracepoints). */
export type SecurityEventName = 'exec' | 'open' | 'connect' | 'ptrace' | 'setuid' | 'kill';
/** What happens on a match. `deny-errno` is recognised only to be refused with an explanation. */
export type SecurityAction = 'alert' | 'kill';

/** A string condition: a plain string means an exact match; or any of `exact` / any of `prefix`. */
export type StringMatch = string | { exact?: string | string[]; prefix?: string | string[] };
/** A numeric condition: one value, any of a list, or none of a list (`{ "not": [...] }`). */
export type IdMatch = number | number[] | { not: number | number[] };

/**
 * One rule. Every condition given must hold (AND); a list inside a condition is an OR. Conditions valid for
 * every event: `comm`, `uid`, `gid`, `pid`, `ppid`. Event-specific ones are listed per field.
 */
export interface SecurityRule {
  /** Unique name, reported in alerts. */
  name: string;
  event: SecurityEventName;
  /**
   * `alert` (default) or `kill`: SIGKILL to the calling process at syscall entry, plus an alert. The syscall itself
   * still runs until the process dies on its way back to user space: an exec'd binary never runs, but an open has
   * happened (O_TRUNC applied) and a connect may have sent its SYN. `deny-errno` is refused (no kprobe override or
   * BPF LSM on this kernel).
   */
  action?: SecurityAction | 'deny-errno';
  /** Free text, ignored by the engine. */
  description?: string;
  /**
   * exec: the path given to execve/execveat (not canonicalised: `./x`, symlinks and execveat's dirfd-relative
   * paths are compared as passed). Other events have no binary condition (use `comm`).
   */
  binary?: StringMatch;
  /** open: the path given to open/openat/openat2/creat (not canonicalised; relative paths stay relative). */
  path?: StringMatch;
  /** open: `write` = O_WRONLY, O_RDWR, O_CREAT or O_TRUNC set; `read` = none of those. */
  access?: 'write' | 'read';
  /** The calling task's command name (exact, at most 15 bytes), any of a list; for exec, the name before the exec. */
  comm?: string | string[];
  uid?: IdMatch;
  gid?: IdMatch;
  /** Process id (thread-group id) of the caller. */
  pid?: IdMatch;
  /** Parent's process id (current->real_parent->tgid). */
  ppid?: IdMatch;
  /** connect: destination IPv4 prefix(es) `a.b.c.d/n` (only AF_INET connects match; IPv4-mapped IPv6 addresses do not). */
  dst?: string | string[];
  /** connect: destination port(s) or inclusive ranges `[lo, hi]` (AF_INET and AF_INET6). */
  port?: number | (number | [number, number])[];
  /** kill: the signal number. */
  signal?: IdMatch;
  /** kill, ptrace: the target pid argument. */
  targetPid?: IdMatch;
  /** setuid: the uid asked for (setuid's uid, setreuid's/setresuid's euid; -1 = unchanged). */
  targetUid?: IdMatch;
  /** ptrace: the request number (PTRACE_ATTACH 16, PTRACE_SEIZE 0x4206, ...). */
  request?: IdMatch;
}

/** A string condition reduced to UTF-8 byte strings. */
export interface NormStrings {
  exact: Uint8Array[];
  prefix: Uint8Array[];
}
/** A numeric condition reduced to u32 values. */
export interface NormIds {
  values: number[];
  not: boolean;
}

/** A validated rule. */
export interface NormalizedRule {
  index: number;
  name: string;
  event: SecurityEventName;
  action: SecurityAction;
  binary?: NormStrings;
  path?: NormStrings;
  access?: 'write' | 'read';
  /** Command names as 16-byte zero-padded arrays. */
  comm?: Uint8Array[];
  uid?: NormIds;
  gid?: NormIds;
  pid?: NormIds;
  ppid?: NormIds;
  /** Host-order network address and prefix length. */
  dst?: { addr: number; len: number }[];
  port?: [number, number][];
  signal?: NormIds;
  targetPid?: NormIds;
  targetUid?: NormIds;
  request?: NormIds;
}

/** Events, in kernel event-kind order (1-based in records). */
export const SECURITY_EVENTS: readonly SecurityEventName[] = ['exec', 'open', 'connect', 'ptrace', 'setuid', 'kill'];
/** Most rules one watcher handles (one bit each of the u64 match mask). */
export const MAX_SECURITY_RULES = 64;
/** Most alternatives in one condition's list (each is unrolled into the program). */
export const MAX_ALTERNATIVES = 16;
/** Path bytes captured and compared in the kernel (including the terminating NUL). */
export const PATH_MAX_CAPTURE = 256;

const COMMON = ['name', 'event', 'action', 'description', 'comm', 'uid', 'gid', 'pid', 'ppid'];
const SPECIFIC: Record<SecurityEventName, string[]> = {
  exec: ['binary'],
  open: ['path', 'access'],
  connect: ['dst', 'port'],
  ptrace: ['targetPid', 'request'],
  setuid: ['targetUid'],
  kill: ['signal', 'targetPid'],
};
const ALL_SPECIFIC = new Set(Object.values(SPECIFIC).flat());

const DENY_ERRNO_WHY =
  'deny-errno is not supported: failing a syscall with an errno needs bpf_override_return (kprobes) or a BPF LSM program, ' +
  'and this kernel has no kprobes and refuses LSM/fentry loads — use "kill" (SIGKILL at syscall entry) or "alert"';

/** Collects one-line problems about one rule. */
class Problems {
  readonly list: string[] = [];
  constructor(private readonly file: string) {}
  at(i: number, name: unknown): (field: string, why: string) => void {
    const n = typeof name === 'string' && name ? ` "${name}"` : '';
    return (field, why) => this.list.push(`${this.file}: rule #${i}${n}: ${field}: ${why}`);
  }
  top(why: string): void {
    this.list.push(`${this.file}: ${why}`);
  }
}

type Report = (field: string, why: string) => void;
const utf8 = (s: string) => new TextEncoder().encode(s);
const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

function strList(v: unknown, field: string, bad: Report, maxBytes: number): Uint8Array[] | undefined {
  const list = asList(v as unknown);
  if (list.length === 0) return bad(field, 'empty list'), undefined;
  if (list.length > MAX_ALTERNATIVES) return bad(field, `${list.length} alternatives, at most ${MAX_ALTERNATIVES}`), undefined;
  const out: Uint8Array[] = [];
  for (const s of list) {
    if (typeof s !== 'string') return bad(field, `expected a string, got ${JSON.stringify(s)}`), undefined;
    if (s === '') return bad(field, 'empty string'), undefined;
    if (s.includes('\0')) return bad(field, 'string contains a NUL byte'), undefined;
    const b = utf8(s);
    if (b.length > maxBytes) return bad(field, `${JSON.stringify(s)} is ${b.length} bytes, at most ${maxBytes} are compared in the kernel`), undefined;
    out.push(b);
  }
  return out;
}

function stringMatch(v: unknown, field: string, bad: Report): NormStrings | undefined {
  // Exact needs the NUL after the string inside the captured bytes; a prefix may use all but the NUL.
  const exactMax = PATH_MAX_CAPTURE - 2;
  const prefixMax = PATH_MAX_CAPTURE - 1;
  if (typeof v === 'string' || Array.isArray(v)) {
    const exact = strList(v, field, bad, exactMax);
    return exact && { exact, prefix: [] };
  }
  if (!v || typeof v !== 'object') return bad(field, `expected a string or { "exact": ..., "prefix": ... }, got ${JSON.stringify(v)}`), undefined;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'exact' && k !== 'prefix') return bad(`${field}.${k}`, 'unknown key (expected exact or prefix)'), undefined;
  if (o.exact === undefined && o.prefix === undefined) return bad(field, 'needs exact or prefix'), undefined;
  const exact = o.exact === undefined ? [] : strList(o.exact, `${field}.exact`, bad, exactMax);
  const prefix = o.prefix === undefined ? [] : strList(o.prefix, `${field}.prefix`, bad, prefixMax);
  if (!exact || !prefix) return undefined;
  if (exact.length + prefix.length > MAX_ALTERNATIVES) return bad(field, `more than ${MAX_ALTERNATIVES} alternatives`), undefined;
  return { exact, prefix };
}

function idValue(n: unknown, field: string, bad: Report): number | undefined {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < -0x80000000 || n > 0xffffffff) {
    bad(field, `expected an integer between -2147483648 and 4294967295, got ${JSON.stringify(n)}`);
    return undefined;
  }
  return n >>> 0;
}

function idMatch(v: unknown, field: string, bad: Report): NormIds | undefined {
  let not = false;
  let list: unknown = v;
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length !== 1 || keys[0] !== 'not') return bad(field, 'expected a number, a list of numbers or { "not": [...] }'), undefined;
    not = true;
    list = o.not;
  }
  const arr = asList(list as unknown);
  if (arr.length === 0) return bad(field, 'empty list'), undefined;
  if (arr.length > MAX_ALTERNATIVES) return bad(field, `${arr.length} values, at most ${MAX_ALTERNATIVES}`), undefined;
  const values: number[] = [];
  for (const x of arr) {
    const n = idValue(x, field, bad);
    if (n === undefined) return undefined;
    values.push(n);
  }
  return { values, not };
}

function parseCidr(s: unknown, field: string, bad: Report): { addr: number; len: number } | undefined {
  if (typeof s !== 'string') return bad(field, `expected an IPv4 prefix string, got ${JSON.stringify(s)}`), undefined;
  if (s.includes(':')) return bad(field, `IPv6 prefix ${s} is not supported (destination prefixes are IPv4 only; a port condition matches IPv6 too)`), undefined;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(s.trim());
  if (!m) return bad(field, `invalid IPv4 prefix ${JSON.stringify(s)}`), undefined;
  const o = m.slice(1, 5).map(Number);
  const len = m[5] === undefined ? 32 : Number(m[5]);
  if (o.some((x) => x > 255) || len > 32) return bad(field, `invalid IPv4 prefix ${JSON.stringify(s)}`), undefined;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return { addr: ((((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0) & mask) >>> 0, len };
}

const isPort = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535;

function ports(v: unknown, field: string, bad: Report): [number, number][] | undefined {
  const list = asList(v as unknown);
  if (list.length === 0 || list.length > MAX_ALTERNATIVES) return bad(field, `expected 1..${MAX_ALTERNATIVES} ports or [lo, hi] ranges`), undefined;
  const out: [number, number][] = [];
  for (const p of list) {
    if (isPort(p)) out.push([p, p]);
    else if (Array.isArray(p) && p.length === 2 && isPort(p[0]) && isPort(p[1]) && p[0] <= p[1]) out.push([p[0], p[1]]);
    else return bad(field, `expected a port 0..65535 or [lo, hi] with lo <= hi, got ${JSON.stringify(p)}`), undefined;
  }
  return out;
}

function normalizeOne(r: unknown, i: number, bad: Report): NormalizedRule | undefined {
  if (!r || typeof r !== 'object' || Array.isArray(r)) return bad('rule', 'expected an object'), undefined;
  const o = r as Record<string, unknown>;
  let ok = true;
  const fail: Report = (f, w) => {
    ok = false;
    bad(f, w);
  };
  if (typeof o.name !== 'string' || !o.name.trim()) fail('name', 'required, a non-empty string');
  const event = o.event as SecurityEventName;
  if (!SECURITY_EVENTS.includes(event)) {
    fail('event', `expected one of ${SECURITY_EVENTS.join(', ')}, got ${JSON.stringify(o.event)}`);
    return undefined;
  }
  for (const k of Object.keys(o)) {
    if (COMMON.includes(k) || SPECIFIC[event].includes(k)) continue;
    if (ALL_SPECIFIC.has(k)) {
      const owners = SECURITY_EVENTS.filter((e) => SPECIFIC[e].includes(k));
      fail(k, `applies to ${owners.join('/')} rules only, not ${event}`);
    } else fail(k, 'unknown field');
  }
  let action: SecurityAction = 'alert';
  if (o.action === 'deny-errno') fail('action', DENY_ERRNO_WHY);
  else if (o.action === 'kill' || o.action === 'alert') action = o.action;
  else if (o.action !== undefined) fail('action', `expected alert or kill, got ${JSON.stringify(o.action)}`);
  if (o.description !== undefined && typeof o.description !== 'string') fail('description', 'expected a string');
  const out: NormalizedRule = { index: i, name: String(o.name ?? ''), event, action };
  const ids = ['uid', 'gid', 'pid', 'ppid', 'signal', 'targetPid', 'targetUid', 'request'] as const;
  for (const k of ids) {
    if (o[k] === undefined) continue;
    const v = idMatch(o[k], k, fail);
    if (v) out[k] = v;
  }
  if (o.binary !== undefined) out.binary = stringMatch(o.binary, 'binary', fail);
  if (o.path !== undefined) out.path = stringMatch(o.path, 'path', fail);
  if (o.access !== undefined) {
    if (o.access === 'write' || o.access === 'read') out.access = o.access;
    else fail('access', `expected write or read, got ${JSON.stringify(o.access)}`);
  }
  if (o.comm !== undefined) {
    const list = strList(o.comm, 'comm', fail, 15);
    if (list)
      out.comm = list.map((b) => {
        const padded = new Uint8Array(16);
        padded.set(b);
        return padded;
      });
  }
  if (o.dst !== undefined) {
    const list = asList(o.dst as unknown);
    if (list.length === 0 || list.length > MAX_ALTERNATIVES) fail('dst', `expected 1..${MAX_ALTERNATIVES} IPv4 prefixes`);
    else {
      const cidrs = list.map((s) => parseCidr(s, 'dst', fail));
      if (cidrs.every((c) => c)) out.dst = cidrs as { addr: number; len: number }[];
    }
  }
  if (o.port !== undefined) out.port = ports(o.port, 'port', fail);
  return ok ? out : undefined;
}

/** The rules of a parsed JSON document: an array of rules, or `{ "rules": [...] }`. */
function rulesOf(doc: unknown, p: Problems): unknown[] | undefined {
  if (Array.isArray(doc)) return doc;
  if (doc && typeof doc === 'object' && Array.isArray((doc as { rules?: unknown }).rules)) {
    const extra = Object.keys(doc).filter((k) => k !== 'rules');
    if (extra.length) p.top(`unknown top-level key ${extra[0]} (expected only "rules")`);
    return (doc as { rules: unknown[] }).rules;
  }
  p.top('expected an array of rules or { "rules": [...] }');
  return undefined;
}

/**
 * Check a rule list (or `{ "rules": [...] }` document). Returns every problem, one line each
 * (`<file>: rule #<i> "<name>": <field>: <why>`), and the normalised rules when there is none.
 */
export function checkRules(doc: unknown, file = 'rules'): { problems: string[]; rules?: NormalizedRule[] } {
  const p = new Problems(file);
  const list = rulesOf(doc, p);
  if (!list) return { problems: p.list };
  if (list.length === 0) p.top('no rules');
  if (list.length > MAX_SECURITY_RULES) p.top(`${list.length} rules, at most ${MAX_SECURITY_RULES} supported`);
  const seen = new Map<string, number>();
  const rules: NormalizedRule[] = [];
  list.forEach((r, i) => {
    const name = r && typeof r === 'object' ? (r as { name?: unknown }).name : undefined;
    const bad = p.at(i, name);
    const n = normalizeOne(r, i, bad);
    if (typeof name === 'string' && name) {
      const prev = seen.get(name);
      if (prev !== undefined) bad('name', `duplicate of rule #${prev}`);
      else seen.set(name, i);
    }
    if (n) rules.push(n);
  });
  for (const r of rules) NORMALIZED.add(r);
  return p.list.length ? { problems: p.list } : { problems: [], rules };
}

const NORMALIZED = new WeakSet<object>();
/** True for rules produced by `checkRules` / `normalizeSecurityRules` (not re-validated by `watch`). */
export function isNormalizedRule(r: unknown): r is NormalizedRule {
  return typeof r === 'object' && r !== null && NORMALIZED.has(r);
}

/** Validate and normalise rules; throws `UsageError` with the first problem (one line). */
export function normalizeSecurityRules(doc: unknown, file = 'rules'): NormalizedRule[] {
  const { problems, rules } = checkRules(doc, file);
  if (problems.length) throw new UsageError(problems.length > 1 ? `${problems[0]} (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : problems[0]!);
  return rules!;
}

/** Parse a JSON rules text; JSON syntax errors become `UsageError`s naming the file. */
export function parseRulesJson(text: string, file = 'rules'): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: invalid JSON: ${(e as Error).message}`);
  }
}
