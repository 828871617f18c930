/**
 * Firewall rules: validation, CIDR and port-range parsing, and compilation of a first-match rule list into the
 * table contents the XDP program reads (LPM prefixes and arrays mapping packet fields to u64 rule bitmasks).
 */
import { UsageError } from '../../errors.js';

/** What a rule (or the default) does with a packet. */
export type FirewallAction = 'drop' | 'pass';

/** One rule. Every field given must match (AND); rules are tried in order, the first match wins. */
export interface FirewallRule {
  action: FirewallAction;
  /** Source IPv4 prefix, `a.b.c.d/n` or `a.b.c.d`. */
  src?: string;
  /** Destination IPv4 prefix. */
  dst?: string;
  /** IP protocol: a name or a number 0..255. */
  proto?: 'tcp' | 'udp' | 'icmp' | number;
  /** Destination port or inclusive range; TCP/UDP only (a rule with a port never matches other protocols or non-first fragments). */
  dport?: number | [number, number];
}

/** Options of the firewall compiler. */
export interface FirewallOptions {
  /** Action for IPv4 packets no rule matches, and for truncated/malformed IPv4 or VLAN frames (default 'pass'). */
  defaultAction?: FirewallAction;
}

/** Most rules one program handles (one bit each of a u64). */
export const MAX_RULES = 64;

/** A rule reduced to numbers. */
export interface NormalizedRule {
  action: FirewallAction;
  /** Network address (host order, u32) and prefix length. */
  src: { addr: number; len: number };
  dst: { addr: number; len: number };
  /** Protocol number, or undefined for any. */
  proto?: number;
  /** Inclusive port range, or undefined for any port (and any protocol). */
  dport?: [number, number];
}

const PROTOS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17 };

function parseCidr(s: unknown, where: string): { addr: number; len: number } {
  if (typeof s !== 'string') throw new UsageError(`${where}: expected an IPv4 CIDR string, got ${JSON.stringify(s)}`);
  if (s.includes(':')) throw new UsageError(`${where}: IPv6 prefix ${s} is not supported (IPv4 only; IPv6 traffic is passed untouched)`);
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(s.trim());
  if (!m) throw new UsageError(`${where}: invalid IPv4 CIDR ${JSON.stringify(s)}`);
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) throw new UsageError(`${where}: invalid IPv4 address in ${s}`);
  const len = m[5] === undefined ? 32 : Number(m[5]);
  if (len > 32) throw new UsageError(`${where}: prefix length ${len} > 32 in ${s}`);
  const addr = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return { addr: (addr & mask) >>> 0, len };
}

function isPort(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535;
}

/** Validate rules and reduce them to numbers. Throws `UsageError` naming the rule and field. */
export function normalizeRules(rules: readonly FirewallRule[]): NormalizedRule[] {
  if (!Array.isArray(rules)) throw new UsageError('firewall rules: expected an array');
  if (rules.length > MAX_RULES) throw new UsageError(`firewall rules: ${rules.length} rules, at most ${MAX_RULES} supported`);
  return rules.map((r, i) => {
    const where = `rule #${i}`;
    if (!r || typeof r !== 'object') throw new UsageError(`${where}: expected an object`);
    for (const k of Object.keys(r)) if (!['action', 'src', 'dst', 'proto', 'dport'].includes(k)) throw new UsageError(`${where}: unknown field ${k}`);
    if (r.action !== 'drop' && r.action !== 'pass') throw new UsageError(`${where}: action must be 'drop' or 'pass', got ${JSON.stringify(r.action)}`);
    const any = { addr: 0, len: 0 };
    const out: NormalizedRule = {
      action: r.action,
      src: r.src === undefined ? any : parseCidr(r.src, `${where}.src`),
      dst: r.dst === undefined ? any : parseCidr(r.dst, `${where}.dst`),
    };
    if (r.proto !== undefined) {
      const p = typeof r.proto === 'string' ? PROTOS[r.proto] : r.proto;
      if (p === undefined || !Number.isInteger(p) || p < 0 || p > 255) throw new UsageError(`${where}.proto: expected tcp, udp, icmp or 0..255, got ${JSON.stringify(r.proto)}`);
      out.proto = p;
    }
    if (r.dport !== undefined) {
      const d = r.dport;
      const range: [number, number] | undefined = isPort(d) ? [d, d] : Array.isArray(d) && d.length === 2 && isPort(d[0]) && isPort(d[1]) && d[0] <= d[1] ? [d[0], d[1]] : undefined;
      if (!range) throw new UsageError(`${where}.dport: expected a port 0..65535 or [lo, hi] with lo <= hi, got ${JSON.stringify(d)}`);
      if (out.proto !== undefined && out.proto !== 6 && out.proto !== 17) throw new UsageError(`${where}: dport needs proto tcp or udp (or no proto)`);
      out.dport = range;
    }
    return out;
  });
}

/** A prefix of `bits` bits: value (right-aligned, host order) and length. */
export interface Prefix {
  value: number;
  len: number;
}

/** The minimal set of prefixes (of a `bits`-bit space) covering [lo, hi]. */
export function rangeToPrefixes(lo: number, hi: number, bits: number): Prefix[] {
  const out: Prefix[] = [];
  let cur = lo;
  while (cur <= hi) {
    let size = 0; // log2 of block size
    while (size < bits && cur % 2 ** (size + 1) === 0 && cur + 2 ** (size + 1) - 1 <= hi) size++;
    out.push({ value: cur, len: bits - size });
    cur += 2 ** size;
  }
  return out;
}

const covers = (outer: Prefix, inner: Prefix, bits: number): boolean =>
  outer.len <= inner.len && (outer.len === 0 || Math.floor(inner.value / 2 ** (bits - outer.len)) === Math.floor(outer.value / 2 ** (bits - outer.len)));

/**
 * Prefix table for a longest-prefix-match map: every prefix any rule uses, each mapped to the mask of ALL rules
 * whose own prefix set covers it — so the longest match for an address carries every rule matching it.
 */
function prefixTable(perRule: Prefix[][], bits: number): { prefix: Prefix; mask: bigint }[] {
  const seen = new Map<string, Prefix>();
  for (const ps of perRule) for (const p of ps) seen.set(`${p.value}/${p.len}`, p);
  return [...seen.values()].map((prefix) => {
    let mask = 0n;
    perRule.forEach((ps, i) => {
      if (ps.some((q) => covers(q, prefix, bits))) mask |= 1n << BigInt(i);
    });
    return { prefix, mask };
  });
}

/** The table contents a rule set compiles to. */
export interface CompiledTables {
  src: { prefix: Prefix; mask: bigint }[];
  dst: { prefix: Prefix; mask: bigint }[];
  /** Port prefixes (16-bit space) of rules with a port range, plus /0 for rules without. */
  port: { prefix: Prefix; mask: bigint }[];
  /** Mask of rules matching each protocol number. */
  proto: bigint[];
  /** Rules without a dport (what port-less packets can match). */
  noPortMask: bigint;
  /** XDP action per rule index, then the default at index MAX_RULES. */
  actions: number[];
}

/** XDP_DROP / XDP_PASS. */
export const XDP_DROP = 1;
export const XDP_PASS = 2;

/** Compile normalized rules into table contents. */
export function compileTables(rules: readonly NormalizedRule[], defaultAction: FirewallAction): CompiledTables {
  const src = prefixTable(rules.map((r) => [{ value: r.src.addr, len: r.src.len }]), 32);
  const dst = prefixTable(rules.map((r) => [{ value: r.dst.addr, len: r.dst.len }]), 32);
  const port = prefixTable(rules.map((r) => (r.dport ? rangeToPrefixes(r.dport[0], r.dport[1], 16) : [{ value: 0, len: 0 }])), 16);
  const proto: bigint[] = [];
  let noPortMask = 0n;
  rules.forEach((r, i) => {
    if (!r.dport) noPortMask |= 1n << BigInt(i);
  });
  for (let p = 0; p < 256; p++) {
    let m = 0n;
    rules.forEach((r, i) => {
      if (r.proto === undefined || r.proto === p) m |= 1n << BigInt(i);
    });
    proto.push(m);
  }
  const act = (a: FirewallAction) => (a === 'drop' ? XDP_DROP : XDP_PASS);
  const actions = Array.from({ length: MAX_RULES + 1 }, (_, i) => (i < rules.length ? act(rules[i]!.action) : i === MAX_RULES ? act(defaultAction) : XDP_PASS));
  return { src, dst, port, proto, noPortMask, actions };
}
