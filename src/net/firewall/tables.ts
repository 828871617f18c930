/**
 * Writing compiled firewall tables into the program's maps (kernel or userspace alike, through `BpfMap`), one
 * generation at a time, flipping the live generation, and reading the per-rule counters back.
 */
import type { BpfMap } from '../../spec/map.js';
import { UsageError } from '../../errors.js';
import { DEFAULT_INDEX, FW_MAPS, GEN_SLOT, META_PER_GEN } from './program.js';
import { MAX_RULES, type CompiledTables, type Prefix } from './rules.js';

/** Maps by name (a kernel collection's or the userspace runtime's). */
export type FirewallMaps = Record<string, BpfMap> | ((name: string) => BpfMap);

function getMap(maps: FirewallMaps, name: string): BpfMap {
  const m = typeof maps === 'function' ? maps(name) : maps[name];
  if (!m) throw new UsageError(`firewall: map ${name} missing`);
  return m;
}

const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
};
const u64 = (n: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, n), true);
  return b;
};

/** LPM key {u32 prefixlen; u32 gen; data (network order, `bits` wide, padded to 4 bytes)}. */
function lpmKey(gen: number, p: Prefix, bits: number): Uint8Array {
  const k = new Uint8Array(12);
  const dv = new DataView(k.buffer);
  dv.setUint32(0, 32 + p.len, true);
  dv.setUint32(4, gen, true);
  if (bits === 32) dv.setUint32(8, p.value >>> 0, false);
  else dv.setUint16(8, p.value, false);
  return k;
}

const keyGen = (k: Uint8Array) => new DataView(k.buffer, k.byteOffset, k.byteLength).getUint32(4, true);

/** Fill generation `gen` (0 or 1) of the maps with `t` (its old LPM entries removed, its counters zeroed). */
export function writeGeneration(maps: FirewallMaps, t: CompiledTables, gen: number): void {
  const lpm: [string, { prefix: Prefix; mask: bigint }[], number][] = [
    ['fw_src', t.src, 32],
    ['fw_dst', t.dst, 32],
    ['fw_port', t.port, 16],
  ];
  for (const [name, entries, bits] of lpm) {
    const m = getMap(maps, name);
    for (const k of [...m.keys()]) if (keyGen(k) === gen) m.delete(k);
    for (const e of entries) m.update(lpmKey(gen, e.prefix, bits), u64(e.mask));
  }
  const proto = getMap(maps, 'fw_proto');
  t.proto.forEach((mask, p) => proto.update(u32(gen * 256 + p), u64(mask)));
  const meta = getMap(maps, 'fw_meta');
  const stats = getMap(maps, 'fw_stats');
  const zero = new Uint8Array(16);
  for (let i = 0; i < META_PER_GEN; i++) {
    const v = i <= DEFAULT_INDEX ? BigInt(t.actions[i]!) : t.noPortMask;
    meta.update(u32(gen * META_PER_GEN + i), u64(v));
    stats.update(u32(gen * META_PER_GEN + i), zero);
  }
}

/** The live generation. */
export function liveGeneration(maps: FirewallMaps): number {
  const v = getMap(maps, 'fw_meta').lookup(u32(GEN_SLOT));
  return v ? Number(new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true) & 1n) : 0;
}

/** Make `gen` the live generation (one array word: packets see either all old or all new tables). */
export function setGeneration(maps: FirewallMaps, gen: number): void {
  getMap(maps, 'fw_meta').update(u32(GEN_SLOT), u64(BigInt(gen)));
}

/** Packets and bytes of one rule (or of the default action), summed over CPUs. */
export interface FirewallCounter {
  packets: bigint;
  bytes: bigint;
}

/** Per-rule counters of the live generation (`rules` entries, one per rule) and the default's. */
export interface FirewallCounters {
  rules: FirewallCounter[];
  default: FirewallCounter;
}

/** Read the live generation's counters; `nrules` rules. */
export function readCounters(maps: FirewallMaps, nrules: number): FirewallCounters {
  const stats = getMap(maps, 'fw_stats');
  const gen = liveGeneration(maps);
  const read = (i: number): FirewallCounter => {
    const raw = stats.lookup(u32(gen * META_PER_GEN + i));
    const c = { packets: 0n, bytes: 0n };
    if (!raw) return c;
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    // Per-CPU layout: 16-byte values back to back (already 8-aligned).
    for (let o = 0; o + 16 <= raw.byteLength; o += 16) {
      c.packets += dv.getBigUint64(o, true);
      c.bytes += dv.getBigUint64(o + 8, true);
    }
    return c;
  };
  return { rules: Array.from({ length: Math.min(nrules, MAX_RULES) }, (_, i) => read(i)), default: read(DEFAULT_INDEX) };
}

export { FW_MAPS };
