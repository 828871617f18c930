/**
 * Writing compiled firewall tables into the program's maps (kernel or userspace alike, through `BpfMap`), one
 * generation at a time, flipping the live generation, and reading the per-rule counters back.
 */
import { sumPacketCounters, type PacketCounter } from '../counters.js';
import type { BpfMap } from '../../spec/map.js';
import { UsageError } from '../../errors.js';
import { ADDR_KEY_SIZE, DEFAULT_INDEX, FW_MAPS, GEN_SLOT, META_PER_GEN } from './program.js';
import { L4_SLOTS, MAX_RULES, type AddrEntry, type CompiledTables, type Prefix } from './rules.js';

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

/**
 * Port LPM key {u32 prefixlen; u32 gen | which << 1; be16 port; pad}: `which` 0 for destination ports, 1 for
 * source ports (one map holds both).
 */
function portKey(gen: number, which: number, p: Prefix): Uint8Array {
  const k = new Uint8Array(12);
  const dv = new DataView(k.buffer);
  dv.setUint32(0, 32 + p.len, true);
  dv.setUint32(4, gen | (which << 1), true);
  dv.setUint16(8, p.value, false);
  return k;
}

/**
 * Address LPM key {u32 prefixlen; u32 gen | (family 6) << 1; u8 addr[16]}: an IPv4 address fills the first 4
 * bytes (network order, the rest zero), an IPv6 one all 16. The family bit keeps each family's prefixes apart.
 */
function addrKey(gen: number, e: AddrEntry): Uint8Array {
  const k = new Uint8Array(ADDR_KEY_SIZE);
  const dv = new DataView(k.buffer);
  dv.setUint32(0, 32 + e.len, true);
  dv.setUint32(4, gen | (e.family === 6 ? 2 : 0), true);
  if (e.family === 4) dv.setUint32(8, Number(e.value), false);
  else for (let i = 0; i < 4; i++) dv.setUint32(8 + 4 * i, Number((e.value >> BigInt(96 - 32 * i)) & 0xffffffffn), false);
  return k;
}

const keyGen = (k: Uint8Array) => new DataView(k.buffer, k.byteOffset, k.byteLength).getUint32(4, true) & 1;

/** Remove generation `gen`'s entries of an LPM map. */
function clearGen(m: BpfMap, gen: number): void {
  for (const k of [...m.keys()]) if (keyGen(k) === gen) m.delete(k);
}

/** Fill generation `gen` (0 or 1) of the maps with `t` (its old LPM entries removed, its counters zeroed). */
export function writeGeneration(maps: FirewallMaps, t: CompiledTables, gen: number): void {
  for (const [name, entries] of [['fw_src', t.src], ['fw_dst', t.dst]] as const) {
    const m = getMap(maps, name);
    clearGen(m, gen);
    for (const e of entries) m.update(addrKey(gen, e), u64(e.mask));
  }
  const port = getMap(maps, 'fw_port');
  clearGen(port, gen);
  for (const e of t.port) port.update(portKey(gen, 0, e.prefix), u64(e.mask));
  for (const e of t.sport) port.update(portKey(gen, 1, e.prefix), u64(e.mask));
  const proto = getMap(maps, 'fw_proto');
  t.proto.forEach((mask, p) => proto.update(u32(gen * 256 + p), u64(mask)));
  const l4 = getMap(maps, 'fw_l4');
  t.l4.forEach((mask, x) => l4.update(u32(gen * L4_SLOTS + x), u64(mask)));
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
export type FirewallCounter = PacketCounter;

/** Per-rule counters of the live generation (`rules` entries, one per rule) and the default's. */
export interface FirewallCounters {
  rules: FirewallCounter[];
  default: FirewallCounter;
}

/** Read the live generation's counters; `nrules` rules. */
export function readCounters(maps: FirewallMaps, nrules: number): FirewallCounters {
  const stats = getMap(maps, 'fw_stats');
  const gen = liveGeneration(maps);
  const read = (i: number): FirewallCounter => sumPacketCounters(stats.lookup(u32(gen * META_PER_GEN + i)));
  return { rules: Array.from({ length: Math.min(nrules, MAX_RULES) }, (_, i) => read(i)), default: read(DEFAULT_INDEX) };
}

export { FW_MAPS };
