/**
 * The load balancer's control plane: it owns the VIP indices, the backend slots (one per (VIP, backend) pair,
 * each with an epoch so connection-tracking entries pointing at a freed or reused slot are recognised as stale)
 * and the Maglev tables, writes them into the program's maps (kernel or userspace, through `BpfMap`) and
 * applies configuration changes live: new backend entries first, then each changed VIP's table is built in a
 * fresh array map and swapped into `lb_rings` with one update (packets see the whole old or the whole new
 * table), and only then are removed backends invalidated. Existing flows keep their backend through
 * `lb_ct` as long as that backend stays in the VIP (weight 0 drains: no new flows, existing ones stay).
 */
import { sumPacketCounters, type PacketCounter } from '../counters.js';
import { UsageError } from '../../errors.js';
import type { BpfMap } from '../../spec/map.js';
import { formatIpv4, LB_MAX_BACKENDS, LB_MAX_VIPS, LB_MODE_CODES, type NormalizedBackend, type NormalizedLbConfig, type NormalizedVip } from './config.js';
import { MAGLEV_EMPTY, maglevTable } from './maglev.js';
import { LB_LAYOUT, LB_STAT } from './program.js';

/** The program's maps plus a way to create a Maglev table map (`ref`: what `lb_rings` stores for it). */
export interface LbMaps {
  vips: BpfMap;
  rings: BpfMap;
  backends: BpfMap;
  ct: BpfMap;
  stats: BpfMap;
  newRing(): { map: BpfMap; ref: number };
}

/** Table entry meaning "no backend" (no slot has this index). */
export const LB_NO_SLOT = 0xffffffff;

/** One live backend slot. */
export interface LbSlot {
  slot: number;
  /** Nonzero; changes whenever the slot is (re)assigned. */
  epoch: number;
  vipIndex: number;
  addr: number;
  weight: number;
  mac?: Uint8Array;
}

/** One live VIP. */
export interface LbVipState {
  cfg: NormalizedVip;
  index: number;
  /** Backends in config order. */
  backends: LbSlot[];
  /** Maglev table: ring position → backend slot (LB_NO_SLOT when the VIP has no backend of positive weight). */
  table: Uint32Array;
  /** The backend set `table` was built from. */
  signature?: string;
  ring?: { map: BpfMap; ref: number };
}

const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
};

/** lb_vips key of (addr, port, proto). */
export function vipKey(addr: number, port: number, proto: number): Uint8Array {
  const k = new Uint8Array(LB_LAYOUT.vipKey);
  const dv = new DataView(k.buffer);
  dv.setUint32(0, addr, false);
  dv.setUint16(4, port, false);
  k[6] = proto;
  return k;
}

function vipValue(v: LbVipState, gatewayMac: Uint8Array | undefined): Uint8Array {
  const b = new Uint8Array(LB_LAYOUT.vipValue);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, v.index, true);
  dv.setUint32(4, LB_MODE_CODES[v.cfg.mode], true);
  dv.setUint32(8, v.cfg.tunnelSource, false);
  if (gatewayMac) {
    b.set(gatewayMac, 12);
    b[18] = 1;
  }
  return b;
}

function backendValue(s: LbSlot | undefined): Uint8Array {
  const b = new Uint8Array(LB_LAYOUT.backendValue);
  if (!s) return b;
  const dv = new DataView(b.buffer);
  dv.setUint32(0, s.addr, false);
  dv.setUint32(4, s.epoch, true);
  dv.setUint32(8, s.vipIndex, true);
  if (s.mac) b.set(s.mac, 12);
  return b;
}

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined) => (a === undefined || b === undefined ? a === b : a.length === b.length && a.every((x, i) => x === b[i]));

/** Packets and bytes, summed over CPUs. */
export type LbCounter = PacketCounter;

/** Counters of the live configuration. */
export interface LbStats {
  vips: {
    vip: string;
    mode: 'ipip' | 'dsr';
    counter: LbCounter;
    backends: { address: string; weight: number; slot: number; counter: LbCounter }[];
  }[];
  /** Packets passed to the stack (not for a VIP, or not handled: fragments, IP options, non-TCP/UDP...). */
  pass: LbCounter;
  /** Flows placed with Maglev (conntrack misses). */
  newFlows: LbCounter;
  /** VIP packets dropped: no backend of positive weight. */
  noBackend: LbCounter;
  /** VIP packets dropped: encapsulation failed. */
  errors: LbCounter;
}

/** The control plane (see the module comment). Without `maps` it only keeps the state (reference evaluator). */
export class LbControl {
  readonly ringSize: number;
  readonly conntrackSize: number;
  gatewayMac?: Uint8Array;
  /** Live VIPs by key (`a.b.c.d:port/proto`). */
  readonly vips = new Map<string, LbVipState>();
  /** Live slots by index. */
  readonly slots = new Map<number, LbSlot>();
  private readonly byIndex = new Map<number, LbVipState>();
  /** Called with each lb_stats index the control plane zeroes (a VIP index or slot being assigned). */
  readonly counterResets: ((index: number) => void)[] = [];
  private lastEpoch = 0;

  constructor(
    cfg: NormalizedLbConfig,
    private readonly maps?: LbMaps,
  ) {
    this.ringSize = cfg.ringSize;
    this.conntrackSize = cfg.conntrackSize;
    this.apply(cfg);
  }

  /** The VIP serving (addr, port, proto), if any. */
  vipFor(addr: number, port: number, proto: number): LbVipState | undefined {
    for (const v of this.vips.values()) if (v.cfg.addr === addr && v.cfg.port === port && v.cfg.proto === proto) return v;
    return undefined;
  }

  /** The VIP with program index `index`. */
  vipByIndex(index: number): LbVipState | undefined {
    return this.byIndex.get(index);
  }

  private slotCursor = 0;

  /** The lowest index below `max` not in `used`. */
  private freeIndex(used: { has(i: number): boolean }, max: number): number {
    for (let i = 0; i < max; i++) if (!used.has(i)) return i;
    throw new Error('internal: no free index after the capacity check');
  }

  /** A free backend slot, searched round-robin from the last one given (freed slots are reused late). */
  private freeSlot(): number {
    for (let n = 0; n < LB_MAX_BACKENDS; n++) {
      const i = (this.slotCursor + n) % LB_MAX_BACKENDS;
      if (!this.slots.has(i)) {
        this.slotCursor = (i + 1) % LB_MAX_BACKENDS;
        return i;
      }
    }
    throw new Error('internal: no free slot after the capacity check');
  }

  /** Apply a configuration live (see the module comment). Throws `UsageError` before touching anything when it cannot. */
  apply(cfg: NormalizedLbConfig): void {
    if (cfg.ringSize !== this.ringSize) throw new UsageError(`ringSize: cannot change from ${this.ringSize} to ${cfg.ringSize} on a loaded balancer (reload it)`);
    if (cfg.conntrackSize !== this.conntrackSize) throw new UsageError(`conntrackSize: cannot change from ${this.conntrackSize} to ${cfg.conntrackSize} on a loaded balancer (reload it)`);
    // Capacity: slots of kept pairs + new pairs must fit while old pairs are still live.
    let fresh = 0;
    for (const v of cfg.vips) {
      const old = this.vips.get(v.key);
      for (const b of v.backends) if (!old?.backends.some((s) => s.addr === b.addr)) fresh++;
    }
    if (this.slots.size + fresh > LB_MAX_BACKENDS) throw new UsageError(`vips: the update needs ${this.slots.size + fresh} backend slots at once (old and new), at most ${LB_MAX_BACKENDS}`);
    const newVips = cfg.vips.filter((v) => !this.vips.has(v.key)).length;
    if (this.vips.size + newVips > LB_MAX_VIPS) throw new UsageError(`vips: the update needs ${this.vips.size + newVips} VIPs at once (old and new), at most ${LB_MAX_VIPS}`);

    const m = this.maps;
    const gwChanged = !sameBytes(this.gatewayMac, cfg.gatewayMac);
    this.gatewayMac = cfg.gatewayMac;
    const wanted = new Set(cfg.vips.map((v) => v.key));
    const retired: LbSlot[] = [];
    for (const v of cfg.vips) {
      let st = this.vips.get(v.key);
      const created = !st;
      if (!st) {
        const index = this.freeIndex(this.byIndex, LB_MAX_VIPS);
        st = { cfg: v, index, backends: [], table: new Uint32Array(0) };
        this.vips.set(v.key, st);
        this.byIndex.set(index, st);
        this.resetCounter(index);
      }
      const oldCfg = st.cfg;
      const backends = v.backends.map((b) => this.slotFor(st!, b));
      for (const s of st.backends) if (!backends.includes(s)) retired.push(s);
      st.backends = backends;
      st.cfg = v;
      // Maglev over the backends, as slot indices (recomputed only when the weighted set or a slot changed).
      const signature = backends.map((b) => `${b.addr}*${b.weight}@${b.slot}`).join(',');
      const tableChanged = signature !== st.signature;
      if (tableChanged) {
        const t = maglevTable(backends, this.ringSize);
        st.table = Uint32Array.from(t, (i) => (i === MAGLEV_EMPTY ? LB_NO_SLOT : backends[i]!.slot));
        st.signature = signature;
      }
      const table = st.table;
      if (m && tableChanged) {
        const ring = m.newRing();
        fillRing(ring.map, table);
        m.rings.update(u32(st.index), u32(ring.ref));
        st.ring?.map.close();
        st.ring = ring;
      }
      if (m && (created || gwChanged || oldCfg.mode !== v.mode || oldCfg.tunnelSource !== v.tunnelSource)) {
        m.vips.update(vipKey(v.addr, v.port, v.proto), vipValue(st, this.gatewayMac));
      }
    }
    for (const [key, st] of [...this.vips]) {
      if (wanted.has(key)) continue;
      m?.vips.delete(vipKey(st.cfg.addr, st.cfg.port, st.cfg.proto));
      m?.rings.delete(u32(st.index));
      st.ring?.map.close();
      retired.push(...st.backends);
      this.vips.delete(key);
      this.byIndex.delete(st.index);
    }
    for (const s of retired) {
      m?.backends.update(u32(s.slot), backendValue(undefined));
      this.slots.delete(s.slot);
    }
  }

  /** The slot of backend `b` in VIP `st`: the existing one (weight/MAC updated) or a fresh one. */
  private slotFor(st: LbVipState, b: NormalizedBackend): LbSlot {
    const m = this.maps;
    const old = st.backends.find((s) => s.addr === b.addr);
    if (old) {
      const macChanged = !sameBytes(old.mac, b.mac);
      old.weight = b.weight;
      old.mac = b.mac;
      if (macChanged) m?.backends.update(u32(old.slot), backendValue(old));
      return old;
    }
    const slot = this.freeSlot();
    const s: LbSlot = { slot, epoch: this.nextEpoch(), vipIndex: st.index, addr: b.addr, weight: b.weight, mac: b.mac };
    this.slots.set(slot, s);
    this.resetCounter(LB_STAT.BACKEND_BASE + slot);
    m?.backends.update(u32(slot), backendValue(s));
    return s;
  }

  private resetCounter(index: number): void {
    this.maps?.stats.update(u32(index), zeroPerCpu(this.maps.stats));
    for (const f of this.counterResets) f(index);
  }

  private nextEpoch(): number {
    this.lastEpoch = this.lastEpoch >= 0xffffffff ? 1 : this.lastEpoch + 1;
    return this.lastEpoch;
  }

  /** Counters of the live configuration, read from `lb_stats` (needs maps). */
  stats(): LbStats {
    const m = this.maps;
    if (!m) throw new UsageError('lb: this control plane has no maps to read counters from');
    const read = (i: number) => sumPerCpu(m.stats.lookup(u32(i)));
    return this.statsFrom(read);
  }

  /** Build `LbStats` from a counter reader (stats index → counter); the reference evaluator uses its own. */
  statsFrom(read: (index: number) => LbCounter): LbStats {
    return {
      vips: [...this.vips.values()].map((v) => ({
        vip: v.cfg.key,
        mode: v.cfg.mode,
        counter: read(v.index),
        backends: v.backends.map((s) => ({ address: formatIpv4(s.addr), weight: s.weight, slot: s.slot, counter: read(LB_STAT.BACKEND_BASE + s.slot) })),
      })),
      pass: read(LB_STAT.PASS),
      newFlows: read(LB_STAT.NEW_FLOW),
      noBackend: read(LB_STAT.NO_BACKEND),
      errors: read(LB_STAT.ERROR),
    };
  }

  /** Close the Maglev table maps this control plane created. */
  close(): void {
    for (const v of this.vips.values()) v.ring?.map.close();
  }
}

/** A zero value for a per-CPU map (one zeroed value per CPU, in the per-CPU layout the map expects). */
function zeroPerCpu(stats: BpfMap): Uint8Array {
  const probe = stats.lookup(u32(0));
  return new Uint8Array(probe ? probe.length : stats.valueSize);
}

/** Sum a per-CPU {packets, bytes} value. */
export const sumPerCpu = sumPacketCounters;

/** Write a whole table into a fresh ring map (batched when the map supports it). */
function fillRing(map: BpfMap, table: Uint32Array): void {
  const kb = new Uint32Array(table.length).map((_, i) => i);
  const vb = Uint32Array.from(table);
  const view = (a: Uint32Array, i: number) => new Uint8Array(a.buffer, 4 * i, 4);
  const keys = Array.from(table, (_, i) => view(kb, i));
  const values = Array.from(table, (_, i) => view(vb, i));
  const batch = (map as { updateBatch?: (k: Uint8Array[], v: Uint8Array[]) => number }).updateBatch;
  if (batch) {
    try {
      if (batch.call(map, keys, values) === keys.length) return;
    } catch {
      /* kernels without batch ops: one update per entry below */
    }
  }
  for (let i = 0; i < keys.length; i++) map.update(keys[i]!, values[i]!);
}
