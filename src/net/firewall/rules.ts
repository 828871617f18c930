/**
 * Firewall rules: validation, CIDR and port-range parsing, and compilation of a first-match rule list into the
 * table contents the XDP program reads (LPM prefixes and arrays mapping packet fields to u64 rule bitmasks).
 */
import { UsageError } from '../../errors.js';

/** What a rule (or the default) does with a packet. */
export type FirewallAction = 'drop' | 'pass';

/** An address family. */
export type FirewallFamily = 'ipv4' | 'ipv6';

/** A port or an inclusive port range. */
export type PortSpec = number | [number, number];

/**
 * One rule. Every field given must match (AND); rules are tried in order, the first match wins.
 * A rule applies to one address family when it says so (`family`) or when its CIDRs or protocol imply it
 * (an IPv4/IPv6 `src`/`dst`, `proto: 'icmp'` → IPv4, `proto: 'icmpv6'` → IPv6); otherwise to both.
 *
 * Fragments (IPv4 offset != 0, or an IPv6 fragment header with offset != 0) carry no L4 header: they match only
 * rules without `dport`, `sport`, `icmpType` and `tcpFlags` (their protocol is the IPv4 protocol or the fragment
 * header's next header). First fragments are parsed like whole packets.
 */
export interface FirewallRule {
  action: FirewallAction;
  /** Restrict the rule to one family (must agree with the CIDRs and protocol). */
  family?: FirewallFamily;
  /** Source prefix: IPv4 `a.b.c.d/n` / `a.b.c.d`, or IPv6 `2001:db8::/32` / `fe80::1`. */
  src?: string;
  /** Destination prefix (same forms). */
  dst?: string;
  /** IP protocol / IPv6 upper-layer next header: a name or a number 0..255. */
  proto?: 'tcp' | 'udp' | 'icmp' | 'icmpv6' | number;
  /** Destination port or inclusive range; TCP/UDP only (a rule with a port never matches other protocols or non-first fragments). */
  dport?: PortSpec;
  /** Source port or inclusive range; TCP/UDP only, like `dport`. */
  sport?: PortSpec;
  /** ICMP (IPv4, protocol 1) or ICMPv6 (next header 58) type or inclusive range; matches only ICMP/ICMPv6 packets. */
  icmpType?: number | [number, number];
  /**
   * TCP flags condition, comma-separated names (fin, syn, rst, psh, ack, urg, ece, cwr), `!` for "must be clear":
   * `"syn,!ack"` matches SYN without ACK. Matches only TCP packets whose header reaches the flags byte.
   */
  tcpFlags?: string;
}

/** Options of the firewall compiler. */
export interface FirewallOptions {
  /**
   * Action for IPv4/IPv6 packets no rule matches, and for truncated/malformed IPv4, IPv6 or VLAN frames
   * (default 'pass'). Note that IPv6 traffic (neighbour discovery included) is subject to it too.
   */
  defaultAction?: FirewallAction;
}

/** Most rules one program handles (one bit each of a u64). */
export const MAX_RULES = 64;

/** An address prefix of one family: network address (as a bigint of 32 or 128 bits) and prefix length. */
export interface AddrPrefix {
  family: 4 | 6;
  addr: bigint;
  len: number;
}

/** A rule reduced to numbers. */
export interface NormalizedRule {
  action: FirewallAction;
  /** 4 or 6 when the rule applies to one family only. */
  family?: 4 | 6;
  /** Source / destination prefixes; undefined for any address. */
  src?: AddrPrefix;
  dst?: AddrPrefix;
  /** Protocol number, or undefined for any. */
  proto?: number;
  /** Inclusive port ranges, or undefined for any port (and any protocol). */
  dport?: [number, number];
  sport?: [number, number];
  /** Inclusive ICMP/ICMPv6 type range. */
  icmpType?: [number, number];
  /** TCP flags that must be set / clear (bits of the TCP flags byte). */
  tcpFlags?: { set: number; clear: number };
}

const PROTOS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58 };
const TCP_FLAGS: Record<string, number> = { fin: 1, syn: 2, rst: 4, psh: 8, ack: 16, urg: 32, ece: 64, cwr: 128 };

function parseV4(s: string, where: string): AddrPrefix {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(s);
  if (!m) throw new UsageError(`${where}: invalid IPv4 CIDR ${JSON.stringify(s)}`);
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) throw new UsageError(`${where}: invalid IPv4 address in ${s}`);
  const len = m[5] === undefined ? 32 : Number(m[5]);
  if (len > 32) throw new UsageError(`${where}: prefix length ${len} > 32 in ${s}`);
  const addr = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return { family: 4, addr: BigInt((addr & mask) >>> 0), len };
}

/** Parse an IPv6 address (RFC 4291 text forms, `::` compression, a trailing dotted IPv4) into 128 bits. */
function parseV6Addr(a: string): bigint | undefined {
  let text = a;
  let tail: number[] = [];
  const dotted = /^(.*:)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(text);
  if (dotted) {
    const o = dotted[2]!.split('.').map(Number);
    if (o.some((x) => x > 255)) return undefined;
    tail = [(o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!];
    text = dotted[1]!.endsWith('::') ? dotted[1]! : dotted[1]!.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const parts = h.split(':');
    if (parts.some((p) => !/^[0-9a-fA-F]{1,4}$/.test(p))) return undefined;
    return parts.map((p) => parseInt(p, 16));
  };
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const given = head.length + rest.length + tail.length;
  let words: number[];
  if (halves.length === 2) {
    if (given > 7) return undefined;
    words = [...head, ...Array(8 - given).fill(0), ...rest, ...tail];
  } else {
    if (given !== 8) return undefined;
    words = [...head, ...tail];
  }
  return words.reduce((acc, w) => (acc << 16n) | BigInt(w), 0n);
}

function parseV6(s: string, where: string): AddrPrefix {
  const m = /^([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?$/.exec(s);
  const addr = m ? parseV6Addr(m[1]!) : undefined;
  if (!m || addr === undefined) throw new UsageError(`${where}: invalid IPv6 CIDR ${JSON.stringify(s)}`);
  const len = m[2] === undefined ? 128 : Number(m[2]);
  if (len > 128) throw new UsageError(`${where}: prefix length ${len} > 128 in ${s}`);
  const mask = len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(128 - len);
  return { family: 6, addr: addr & mask, len };
}

function parseCidr(s: unknown, where: string): AddrPrefix {
  if (typeof s !== 'string') throw new UsageError(`${where}: expected an IPv4 or IPv6 CIDR string, got ${JSON.stringify(s)}`);
  const t = s.trim();
  return t.includes(':') ? parseV6(t, where) : parseV4(t, where);
}

function parseRange(d: unknown, where: string, max: number, what: string): [number, number] {
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= max;
  const range: [number, number] | undefined = ok(d) ? [d, d] : Array.isArray(d) && d.length === 2 && ok(d[0]) && ok(d[1]) && d[0] <= d[1] ? [d[0], d[1]] : undefined;
  if (!range) throw new UsageError(`${where}: expected ${what} 0..${max} or [lo, hi] with lo <= hi, got ${JSON.stringify(d)}`);
  return range;
}

function parseTcpFlags(f: unknown, where: string): { set: number; clear: number } {
  if (typeof f !== 'string' || !f.trim()) throw new UsageError(`${where}: expected a string like "syn,!ack", got ${JSON.stringify(f)}`);
  let set = 0;
  let clear = 0;
  for (const raw of f.split(',')) {
    const t = raw.trim().toLowerCase();
    const neg = t.startsWith('!');
    const bit = TCP_FLAGS[neg ? t.slice(1) : t];
    if (bit === undefined) throw new UsageError(`${where}: unknown TCP flag ${JSON.stringify(raw.trim())} (fin, syn, rst, psh, ack, urg, ece, cwr, ! to negate)`);
    if ((neg ? set : clear) & bit) throw new UsageError(`${where}: flag ${t.replace('!', '')} both required and forbidden`);
    if (neg) clear |= bit;
    else set |= bit;
  }
  return { set, clear };
}

const FIELDS = ['action', 'family', 'src', 'dst', 'proto', 'dport', 'sport', 'icmpType', 'tcpFlags'];

/** Validate rules and reduce them to numbers. Throws `UsageError` naming the rule and field. */
export function normalizeRules(rules: readonly FirewallRule[]): NormalizedRule[] {
  if (!Array.isArray(rules)) throw new UsageError('firewall rules: expected an array');
  if (rules.length > MAX_RULES) throw new UsageError(`firewall rules: ${rules.length} rules, at most ${MAX_RULES} supported`);
  return rules.map((r, i) => {
    const where = `rule #${i}`;
    if (!r || typeof r !== 'object') throw new UsageError(`${where}: expected an object`);
    for (const k of Object.keys(r)) if (!FIELDS.includes(k)) throw new UsageError(`${where}: unknown field ${k}`);
    if (r.action !== 'drop' && r.action !== 'pass') throw new UsageError(`${where}: action must be 'drop' or 'pass', got ${JSON.stringify(r.action)}`);
    const out: NormalizedRule = { action: r.action };
    // The family: explicit, then every field implying one must agree.
    let family: 4 | 6 | undefined;
    let because = '';
    const want = (f: 4 | 6, field: string) => {
      if (family !== undefined && family !== f) throw new UsageError(`${where}.${field}: IPv${f}, but ${because} makes the rule IPv${family}`);
      if (family === undefined) because = field === 'family' ? `family ipv${f}` : `${field} ${JSON.stringify((r as unknown as Record<string, unknown>)[field])}`;
      family = f;
    };
    if (r.family !== undefined) {
      if (r.family !== 'ipv4' && r.family !== 'ipv6') throw new UsageError(`${where}.family: expected 'ipv4' or 'ipv6', got ${JSON.stringify(r.family)}`);
      want(r.family === 'ipv4' ? 4 : 6, 'family');
    }
    if (r.src !== undefined) {
      out.src = parseCidr(r.src, `${where}.src`);
      want(out.src.family, 'src');
    }
    if (r.dst !== undefined) {
      out.dst = parseCidr(r.dst, `${where}.dst`);
      want(out.dst.family, 'dst');
    }
    if (r.proto !== undefined) {
      const p = typeof r.proto === 'string' ? PROTOS[r.proto] : r.proto;
      if (p === undefined || !Number.isInteger(p) || p < 0 || p > 255) throw new UsageError(`${where}.proto: expected tcp, udp, icmp, icmpv6 or 0..255, got ${JSON.stringify(r.proto)}`);
      if (r.proto === 'icmp') want(4, 'proto');
      if (r.proto === 'icmpv6') want(6, 'proto');
      out.proto = p;
    }
    for (const field of ['dport', 'sport'] as const) {
      if (r[field] === undefined) continue;
      out[field] = parseRange(r[field], `${where}.${field}`, 65535, 'a port');
      if (out.proto !== undefined && out.proto !== 6 && out.proto !== 17) throw new UsageError(`${where}: ${field} needs proto tcp or udp (or no proto)`);
    }
    if (r.icmpType !== undefined) {
      out.icmpType = parseRange(r.icmpType, `${where}.icmpType`, 255, 'an ICMP type');
      if (out.proto !== undefined && out.proto !== 1 && out.proto !== 58) throw new UsageError(`${where}: icmpType needs proto icmp or icmpv6 (or no proto)`);
      if (out.dport || out.sport) throw new UsageError(`${where}: icmpType cannot be combined with dport/sport (ports are TCP/UDP only)`);
    }
    if (r.tcpFlags !== undefined) {
      out.tcpFlags = parseTcpFlags(r.tcpFlags, `${where}.tcpFlags`);
      if (out.proto !== undefined && out.proto !== 6) throw new UsageError(`${where}: tcpFlags needs proto tcp (or no proto)`);
      if (out.icmpType) throw new UsageError(`${where}: tcpFlags cannot be combined with icmpType`);
    }
    if (family !== undefined) out.family = family;
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

/** An address prefix table entry: family, prefix (value right-aligned in 32 or 128 bits) and rule mask. */
export interface AddrEntry {
  family: 4 | 6;
  value: bigint;
  len: number;
  mask: bigint;
}

/** Address prefix table of one field, both families (each family's prefixes only cover that family's packets). */
function addrTable(rules: readonly NormalizedRule[], field: 'src' | 'dst'): AddrEntry[] {
  const out: AddrEntry[] = [];
  for (const family of [4, 6] as const) {
    const bits = family === 4 ? 32 : 128;
    // Rules applying to this family, with their prefix (/0 when the field is absent).
    const per = rules.map((r) => (r.family !== undefined && r.family !== family ? undefined : (r[field] ?? { family, addr: 0n, len: 0 })));
    const seen = new Map<string, { value: bigint; len: number }>();
    for (const p of per) if (p) seen.set(`${p.addr}/${p.len}`, { value: p.addr, len: p.len });
    for (const q of seen.values()) {
      let mask = 0n;
      per.forEach((p, i) => {
        if (p && p.len <= q.len && p.addr >> BigInt(bits - p.len) === q.value >> BigInt(bits - p.len)) mask |= 1n << BigInt(i);
      });
      out.push({ family, value: q.value, len: q.len, mask });
    }
  }
  return out;
}

/** The table contents a rule set compiles to. */
export interface CompiledTables {
  src: AddrEntry[];
  dst: AddrEntry[];
  /** Destination-port prefixes (16-bit space) of rules with a dport range, plus /0 for rules without. */
  port: { prefix: Prefix; mask: bigint }[];
  /** The same for source ports. */
  sport: { prefix: Prefix; mask: bigint }[];
  /** Mask of rules matching each protocol number. */
  proto: bigint[];
  /**
   * L4 detail masks, {@link L4_SLOTS} entries: [0, 256) ICMP/ICMPv6 type t, [256, 512) TCP flags byte f,
   * 512 for every other packet (rules with neither icmpType nor tcpFlags).
   */
  l4: bigint[];
  /** Rules with neither dport nor sport (what port-less packets can match). */
  noPortMask: bigint;
  /** XDP action per rule index, then the default at index MAX_RULES. */
  actions: number[];
}

/** Entries per generation of the L4 detail array. */
export const L4_SLOTS = 513;
/** L4 detail index base for TCP flags, and the index for "no L4 detail". */
export const L4_TCP = 256;
export const L4_NONE = 512;

/** XDP_DROP / XDP_PASS. */
export const XDP_DROP = 1;
export const XDP_PASS = 2;

/** Compile normalized rules into table contents. */
export function compileTables(rules: readonly NormalizedRule[], defaultAction: FirewallAction): CompiledTables {
  const src = addrTable(rules, 'src');
  const dst = addrTable(rules, 'dst');
  const ports = (f: 'dport' | 'sport') => prefixTable(rules.map((r) => (r[f] ? rangeToPrefixes(r[f][0], r[f][1], 16) : [{ value: 0, len: 0 }])), 16);
  const port = ports('dport');
  const sport = ports('sport');
  const proto: bigint[] = [];
  let noPortMask = 0n;
  rules.forEach((r, i) => {
    if (!r.dport && !r.sport) noPortMask |= 1n << BigInt(i);
  });
  for (let p = 0; p < 256; p++) {
    let m = 0n;
    rules.forEach((r, i) => {
      if (r.proto === undefined || r.proto === p) m |= 1n << BigInt(i);
    });
    proto.push(m);
  }
  const l4: bigint[] = [];
  for (let x = 0; x < L4_SLOTS; x++) {
    let m = 0n;
    rules.forEach((r, i) => {
      const ok =
        x < L4_TCP
          ? !r.tcpFlags && (!r.icmpType || (x >= r.icmpType[0] && x <= r.icmpType[1]))
          : x < L4_NONE
            ? !r.icmpType && (!r.tcpFlags || (((x - L4_TCP) & r.tcpFlags.set) === r.tcpFlags.set && ((x - L4_TCP) & r.tcpFlags.clear) === 0))
            : !r.icmpType && !r.tcpFlags;
      if (ok) m |= 1n << BigInt(i);
    });
    l4.push(m);
  }
  const act = (a: FirewallAction) => (a === 'drop' ? XDP_DROP : XDP_PASS);
  const actions = Array.from({ length: MAX_RULES + 1 }, (_, i) => (i < rules.length ? act(rules[i]!.action) : i === MAX_RULES ? act(defaultAction) : XDP_PASS));
  return { src, dst, port, sport, proto, l4, noPortMask, actions };
}
