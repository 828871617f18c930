/**
 * A plain TypeScript model of the XDP load balancer: the same parsing rules, VIP lookup, connection tracking
 * (its own map), flow hash, Maglev tables (read from the control plane) and packet rewriting as the program,
 * written independently of it so tests can assert every decision and every output byte. It also explains a
 * decision (which VIP, which backend, new flow or not), which the program cannot.
 */
import { formatIpv4 } from './config.js';
import { flowHash, flowKey } from './hash.js';
import { LB_STAT } from './program.js';
import { LB_NO_SLOT, type LbControl, type LbCounter, type LbStats } from './state.js';

/** XDP return codes the balancer uses. */
export const LB_XDP = { DROP: 1, PASS: 2, TX: 3 } as const;

/** What the balancer does with one frame. */
export interface LbDecision {
  /** XDP return code. */
  retval: number;
  action: 'pass' | 'drop' | 'tx';
  /** The frame after the program (the input when nothing was rewritten). */
  packet: Uint8Array;
  /** Why: 'not-vip', 'not-handled', 'no-backend', 'conntrack' (existing flow), 'maglev' (new flow). */
  reason: 'not-vip' | 'not-handled' | 'no-backend' | 'conntrack' | 'maglev';
  vip?: string;
  backend?: string;
  slot?: number;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** IPv4 header checksum of `h` (20 bytes, checksum field included as is). */
export function ipv4Checksum(h: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += (h[i]! << 8) | h[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The reference evaluator; follows `control`'s live tables, keeps its own conntrack and counters. */
export class LbReference {
  /** Conntrack: flow key (hex) → {slot, epoch}. */
  readonly ct = new Map<string, { slot: number; epoch: number }>();
  /** Counters by lb_stats index. */
  readonly counters = new Map<number, LbCounter>();

  constructor(readonly control: LbControl) {
    control.counterResets.push((i) => this.counters.delete(i));
  }

  private count(index: number, bytes: number): void {
    const c = this.counters.get(index) ?? { packets: 0n, bytes: 0n };
    c.packets++;
    c.bytes += BigInt(bytes);
    this.counters.set(index, c);
  }

  /** The counters in the shape `LbControl.stats()` gives (zeroed with the maps' when a VIP index or slot is assigned). */
  stats(): LbStats {
    return this.control.statsFrom((i) => ({ ...(this.counters.get(i) ?? { packets: 0n, bytes: 0n }) }));
  }

  /** Decide on one Ethernet frame. */
  run(frame: Uint8Array): LbDecision {
    const pkt = Uint8Array.from(frame);
    const len = pkt.length;
    const pass = (reason: 'not-vip' | 'not-handled'): LbDecision => {
      this.count(LB_STAT.PASS, len);
      return { retval: LB_XDP.PASS, action: 'pass', packet: pkt, reason };
    };
    if (len < 38) return pass('not-handled');
    const be16 = (o: number) => (pkt[o]! << 8) | pkt[o + 1]!;
    const be32 = (o: number) => ((pkt[o]! << 24) | (pkt[o + 1]! << 16) | (pkt[o + 2]! << 8) | pkt[o + 3]!) >>> 0;
    if (be16(12) !== 0x0800 || pkt[14] !== 0x45 || (be16(20) & 0x3fff) !== 0) return pass('not-handled');
    const proto = pkt[23]!;
    if (proto !== 6 && proto !== 17) return pass('not-handled');
    const vip = this.control.vipFor(be32(30), be16(36), proto);
    if (!vip) return pass('not-vip');
    this.count(vip.index, len);
    const key = flowKey(pkt, 14);
    const khex = hex(key);
    const c = this.control;
    let reason: 'conntrack' | 'maglev' = 'conntrack';
    const tracked = this.ct.get(khex);
    let slot = tracked && c.slots.get(tracked.slot);
    if (!tracked || !slot || slot.epoch !== tracked.epoch || slot.vipIndex !== vip.index) {
      reason = 'maglev';
      const s = vip.table[flowHash(key) % c.ringSize];
      slot = s === undefined || s === LB_NO_SLOT ? undefined : c.slots.get(s);
      if (!slot) {
        this.count(LB_STAT.NO_BACKEND, len);
        return { retval: LB_XDP.DROP, action: 'drop', packet: pkt, reason: 'no-backend', vip: vip.cfg.key };
      }
      this.ct.set(khex, { slot: slot.slot, epoch: slot.epoch });
      this.count(LB_STAT.NEW_FLOW, len);
    }
    this.count(LB_STAT.BACKEND_BASE + slot.slot, len);
    const done = (out: Uint8Array): LbDecision => ({ retval: LB_XDP.TX, action: 'tx', packet: out, reason, vip: vip.cfg.key, backend: formatIpv4(slot!.addr), slot: slot!.slot });
    if (vip.cfg.mode === 'dsr') {
      const out = Uint8Array.from(pkt);
      out.set(pkt.subarray(0, 6), 6);
      out.set(slot.mac ?? new Uint8Array(6), 0);
      return done(out);
    }
    // IPIP: 20 bytes more in front.
    const out = new Uint8Array(len + 20);
    out.set(pkt, 20);
    out.set(c.gatewayMac ?? pkt.subarray(6, 12), 0);
    out.set(pkt.subarray(0, 6), 6);
    out[12] = 0x08;
    out[13] = 0x00;
    const ip = new DataView(out.buffer, 14, 20);
    ip.setUint8(0, 0x45);
    ip.setUint8(1, pkt[15]!);
    ip.setUint16(2, (be16(16) + 20) & 0xffff);
    ip.setUint32(4, 0); // id, flags, fragment offset
    ip.setUint8(8, 64);
    ip.setUint8(9, 4);
    ip.setUint16(10, 0);
    ip.setUint32(12, vip.cfg.tunnelSource);
    ip.setUint32(16, slot.addr);
    ip.setUint16(10, ipv4Checksum(out.subarray(14, 34)));
    return done(out);
  }
}
