/**
 * Map contents → text in bpftrace 0.17's exact formats: `@name[k1, k2]: value` lines sorted by value,
 * log2 and linear histograms with `@` bars, `count N, average N, total N` stats, and the blank lines
 * bpftrace puts after each kind of map. Per-CPU values are combined here (sum, or min/max with "set" flags).
 */
import { inetNtop } from '../net/inet.js';
import { strftime } from './strftime.js';
import { kernelSymbolName } from './symbols.js';
import { userSymbolName } from './usyms.js';
import { STRLEN, tySize, type MapInfo, type Ty } from './types.js';
import { bufText, cgroupPath, macText, userName } from './sysnames.js';

/** One raw map entry: key bytes, and one value per CPU (a single one for ordinary maps). */
export interface RawEntry {
  key: Uint8Array;
  values: Uint8Array[];
}

/**
 * Turns a stack id into printable frames: bpftrace's `\n        frame\n...` form (4 spaces in map keys), or
 * `\n\tADDR frame\n...` for the perf mode.
 */
export type StackResolver = (id: bigint, t: StackTy, inKey?: boolean) => string;
/** The stack type. */
export type StackTy = Extract<Ty, { k: 'stack' }>;

const u64 = (b: Uint8Array, off = 0) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).readBigUInt64LE(off);
const s64 = (b: Uint8Array, off = 0) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).readBigInt64LE(off);
const cstr = (b: Uint8Array, off: number, len: number) => {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return Buffer.from(s.subarray(0, z < 0 ? s.length : z)).toString('latin1');
};

/** ntop() text (kept under its old name for the language's API). */
export const inetText = inetNtop;

/** Nanoseconds to add to a CLOCK_MONOTONIC time (bpf_ktime_get_ns) to get wall-clock time. */
let wallOffset: bigint | undefined;
function wallClock(ns: bigint): Date {
  wallOffset ??= BigInt(Date.now()) * 1000000n - process.hrtime.bigint();
  return new Date(Number((ns + wallOffset) / 1000000n));
}

/** A value of type `t` stored at `off` as text (strings, stacks, ntop/ksym/strftime results, integers). */
export function valueStr(t: Ty, b: Uint8Array, off: number, stacks: StackResolver, inKey = false): string {
  if (t.k === 'str') return cstr(b, off, STRLEN);
  if (t.k === 'inet') return inetText(Number(u64(b, off)), b.subarray(off + 8, off + 24));
  if (t.k === 'ksym') return kernelSymbolName(u64(b, off));
  if (t.k === 'usym') return userSymbolName(u64(b, off), Number(u64(b, off + 8)));
  if (t.k === 'time') return strftime(t.fmt, wallClock(u64(b, off)));
  if (t.k === 'stack') return stacks(s64(b, off), t, inKey);
  if (t.k === 'buf') return bufText(b.subarray(off + 8, off + 8 + Math.min(Number(u64(b, off)), t.n)));
  if (t.k === 'mac') return macText(b.subarray(off, off + 6));
  if (t.k === 'cgpath') return cgroupPath(u64(b, off), t.filter);
  if (t.k === 'username') return userName(Number(u64(b, off)));
  // bpftrace 0.17 prints pointers stored in maps as signed 64-bit integers.
  return (t.k === 'int' && !t.signed && !t.ptr ? u64(b, off) : s64(b, off)).toString();
}

function keyStr(m: MapInfo, key: Uint8Array, stacks: StackResolver): string {
  if (!m.keys.length) return `@${m.name}`;
  let off = 0;
  const parts = m.keys.map((t) => {
    // bpftrace 0.17 prints 64-bit integer keys as signed, whatever their type.
    const s = t.k === 'int' ? s64(key, off).toString() : valueStr(t, key, off, stacks, true);
    off += tySize(t);
    return s;
  });
  return `@${m.name}[${parts.join(', ')}]`;
}

const cmpBig = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
const cmpBytes = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** bpftrace's hist bucket label for 2^power (K/M/G/T suffixes). */
function histLabel(power: number): string {
  let suffix = '';
  for (const [p, s] of [[40, 'T'], [30, 'G'], [20, 'M'], [10, 'K']] as const) {
    if (power >= p) {
      suffix = s;
      power -= p;
      break;
    }
  }
  return `${2 ** power}${suffix}`;
}

function lhistLabel(n: number): string {
  if (n === 0) return '0';
  if (n % 1048576 === 0) return `${n / 1048576}M`;
  if (n % 1024 === 0) return `${n / 1024}K`;
  return `${n}`;
}

function barLine(header: string, count: bigint, max: bigint, div = 1n): string {
  // bpftrace computes the bar in single-precision float: values.at(i) / (float)max_value * 52
  const width = Math.trunc(Math.fround(Math.fround(Math.fround(Number(count)) / Math.fround(Number(max))) * 52));
  // print(@h, top, div) divides the printed counts, not the bars.
  return `${header.padEnd(16)}${(count / div).toString().padStart(8)} |${'@'.repeat(width).padEnd(52)}|\n`;
}

/** A log2 histogram (bucket 0: negative, 1: zero, k+2: [2^k, 2^(k+1))). */
export function histText(buckets: bigint[], div = 1n): string {
  let min = -1;
  let max = -1;
  let top = 0n;
  buckets.forEach((v, i) => {
    if (v > 0n) {
      if (min < 0) min = i;
      max = i;
    }
    if (v > top) top = v;
  });
  if (max < 0) return '';
  let out = '';
  for (let i = min; i <= max; i++) {
    const h = i === 0 ? '(..., 0)' : i === 1 ? '[0]' : i === 2 ? '[1]' : `[${histLabel(i - 2)}, ${histLabel(i - 1)})`;
    out += barLine(h, buckets[i] ?? 0n, top, div);
  }
  return out;
}

/** A linear histogram (bucket 0: below min, n+1: at or above max). */
export function lhistText(buckets: bigint[], b: { min: number; max: number; step: number }, div = 1n): string {
  const n = Math.floor((b.max - b.min) / b.step);
  let top = 0n;
  let start = -1;
  let end = 0;
  for (let i = 0; i <= n + 1; i++) {
    const v = buckets[i] ?? 0n;
    if (v > top) top = v;
    if (v > 0n) {
      if (start < 0) start = i;
      end = i;
    }
  }
  if (start < 0) return '';
  let out = '';
  for (let i = start; i <= end; i++) {
    const h = i === 0 ? `(..., ${lhistLabel(b.min)})` : i === n + 1 ? `[${lhistLabel(b.max)}, ...)` : `[${lhistLabel((i - 1) * b.step + b.min)}, ${lhistLabel(i * b.step + b.min)})`;
    out += barLine(h, buckets[i] ?? 0n, top, div);
  }
  return out;
}

/** Combined value of one entry of an aggregation map (undefined: no CPU has a value, e.g. min/max unset). */
function combine(m: MapInfo, values: Uint8Array[]): bigint | [bigint, bigint] | undefined {
  switch (m.kind) {
    case 'min':
    case 'max': {
      let best: bigint | undefined;
      for (const v of values) {
        if (u64(v, 8) === 0n) continue;
        const x = s64(v, 0);
        if (best === undefined || (m.kind === 'min' ? x < best : x > best)) best = x;
      }
      return best;
    }
    case 'avg':
    case 'stats': {
      let c = 0n;
      let t = 0n;
      for (const v of values) {
        c += s64(v, 0);
        t += s64(v, 8);
      }
      return [BigInt.asIntN(64, c), BigInt.asIntN(64, t)];
    }
    default: {
      let s = 0n;
      for (const v of values) s += u64(v, 0);
      return m.signed && m.kind === 'sum' ? BigInt.asIntN(64, s) : BigInt.asUintN(64, s);
    }
  }
}

/** `print(@m, top, div)`: only the last `top` entries (0: all), integer values divided by `div`. */
export interface PrintOptions {
  top?: number;
  div?: number;
}

const lastN = <T>(list: T[], top: number | undefined): T[] => (top && top < list.length ? list.slice(list.length - top) : list);

/** The text bpftrace prints for map `m` with these entries (at exit, or for `print(@m)` / `print(@m, top, div)`). */
export function formatMap(m: MapInfo, entries: RawEntry[], stacks: StackResolver, opts: PrintOptions = {}): string {
  const div = BigInt(opts.div || 1);
  const top = opts.top;
  if (m.kind === 'hist' || m.kind === 'lhist') {
    const keyLen = entries.length ? entries[0]!.key.length - 8 : 0;
    const groups = new Map<string, { key: Uint8Array; buckets: bigint[] }>();
    for (const e of entries) {
      const prefix = e.key.subarray(0, keyLen);
      const id = Buffer.from(prefix).toString('hex');
      let g = groups.get(id);
      if (!g) groups.set(id, (g = { key: prefix, buckets: [] }));
      const bucket = Number(u64(e.key, keyLen));
      g.buckets[bucket] = combine(m, e.values) as bigint;
    }
    const list = [...groups.values()].sort((a, b) => cmpBytes(a.key, b.key));
    const total = (g: { buckets: bigint[] }) => g.buckets.reduce((s, v) => s + (v ?? 0n), 0n);
    list.sort((a, b) => cmpBig(total(a), total(b)));
    const elems = lastN(list, top).map((g) => {
      const buckets = Array.from({ length: Math.max(g.buckets.length, 1) }, (_, i) => g.buckets[i] ?? 0n);
      return `${keyStr(m, g.key, stacks)}: \n${m.kind === 'hist' ? histText(buckets, div) : lhistText(buckets, m.lhist!, div)}`;
    });
    return elems.join('\n') + '\n';
  }
  if (m.kind === 'avg' || m.kind === 'stats') {
    const list = entries
      .map((e) => ({ key: e.key, v: combine(m, e.values) as [bigint, bigint] }))
      .sort((a, b) => cmpBytes(a.key, b.key))
      .map((x) => ({ ...x, avg: x.v[0] !== 0n ? x.v[1] / x.v[0] : 0n }));
    list.sort((a, b) => cmpBig(a.avg, b.avg));
    // bpftrace ignores top/div for stats() maps.
    const elems = (m.kind === 'avg' ? lastN(list, top) : list).map((x) => {
      const val = m.kind === 'stats' ? `count ${x.v[0]}, average ${x.avg}, total ${x.v[1]}` : `${x.avg / div}`;
      return `${keyStr(m, x.key, stacks)}: ${val}`;
    });
    return elems.join('\n') + '\n\n';
  }
  if (m.kind === 'value') {
    const t = m.value!;
    let list = entries.map((e) => ({ key: e.key, raw: e.values[0]! }));
    if (t.k === 'int') {
      const val = (b: Uint8Array) => (t.signed ? s64(b) : u64(b));
      list.sort((a, b) => cmpBig(val(a.raw), val(b.raw)));
    } else list = sortByKey(m, list);
    const stack = t.k === 'stack';
    const shown = (x: { raw: Uint8Array }) => (t.k === 'int' && div !== 1n ? ((t.signed || t.ptr ? s64(x.raw) : u64(x.raw)) / div).toString() : valueStr(t, x.raw, 0, stacks));
    const elems = lastN(list, top).map((x) => `${keyStr(m, x.key, stacks)}: ${shown(x)}`);
    return elems.join(stack ? '' : '\n') + '\n';
  }
  const list = entries.map((e) => ({ key: e.key, v: combine(m, e.values) })).filter((x) => x.v !== undefined) as { key: Uint8Array; v: bigint }[];
  list.sort((a, b) => cmpBig(a.v, b.v));
  return lastN(list, top).map((x) => `${keyStr(m, x.key, stacks)}: ${x.v / div}`).join('\n') + '\n';
}

/** bpftrace's sort_by_key: stable sorts by each key argument, last first (ints as unsigned, strings by bytes). */
function sortByKey<T extends { key: Uint8Array }>(m: MapInfo, list: T[]): T[] {
  const offs: number[] = [];
  let off = 0;
  for (const t of m.keys) {
    offs.push(off);
    off += tySize(t);
  }
  for (let i = m.keys.length - 1; i >= 0; i--) {
    const t = m.keys[i]!;
    const o = offs[i]!;
    if (t.k === 'int') list.sort((a, b) => cmpBig(u64(a.key, o), u64(b.key, o)));
    else if (t.k === 'str') list.sort((a, b) => cmpBytes(cstrBytes(a.key, o), cstrBytes(b.key, o)));
  }
  return list;
}

const cstrBytes = (b: Uint8Array, off: number) => {
  const s = b.subarray(off, off + STRLEN);
  const z = s.indexOf(0);
  return s.subarray(0, z < 0 ? s.length : z);
};

/** JSON form of a map (bpftrace `-f json` style: `{"@name": value}` / `{"@name": {"key": value}}`). */
export function mapJson(m: MapInfo, entries: RawEntry[], stacks: StackResolver): unknown {
  const keyed = m.keys.length > 0;
  const keyText = (k: Uint8Array) => {
    let off = 0;
    return m.keys
      .map((t) => {
        const s = valueStr(t, k, off, stacks);
        off += tySize(t);
        return s;
      })
      .join(',');
  };
  const out: Record<string, unknown> = {};
  const put = (k: Uint8Array, v: unknown) => {
    if (keyed) out[keyText(k)] = v;
    else out[''] = v;
  };
  if (m.kind === 'hist' || m.kind === 'lhist') {
    const keyLen = entries.length ? entries[0]!.key.length - 8 : 0;
    const groups = new Map<string, { key: Uint8Array; buckets: { bucket: number; count: number }[] }>();
    for (const e of entries) {
      const prefix = e.key.subarray(0, keyLen);
      const id = Buffer.from(prefix).toString('hex');
      let g = groups.get(id);
      if (!g) groups.set(id, (g = { key: prefix, buckets: [] }));
      g.buckets.push({ bucket: Number(u64(e.key, keyLen)), count: Number(combine(m, e.values)) });
    }
    for (const g of groups.values()) put(g.key, g.buckets.sort((a, b) => a.bucket - b.bucket));
  } else {
    for (const e of entries) {
      const v = m.kind === 'value' ? valueStr(m.value!, e.values[0]!, 0, stacks) : combine(m, e.values);
      if (v === undefined) continue;
      if (Array.isArray(v)) {
        const [c, t] = v as [bigint, bigint];
        const avg = c ? Number(t / c) : 0;
        put(e.key, m.kind === 'stats' ? { count: Number(c), average: avg, total: Number(t) } : avg);
      } else put(e.key, typeof v === 'bigint' ? Number(v) : m.value?.k === 'int' ? Number(v) : v);
    }
  }
  return { [`@${m.name}`]: keyed ? out : out[''] ?? null };
}
