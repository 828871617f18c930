/**
 * The `__sk_buff` context for tc, socket-filter, cgroup-skb and LWT programs, built the way BPF_PROG_TEST_RUN
 * builds its skb on the loopback device: `protocol` and `pkt_type` from eth_type_trans, `ifindex` 1, `len` and
 * `wire_len` the frame length for tc (data at the MAC header) and the length after the MAC header for socket
 * filters and cgroup skb programs (data at the network header), `mark`, `priority`, `cb`, `ingress_ifindex`,
 * `tstamp`, `gso_*`, `hwtstamp` from the input context. The ctx region is refreshed whenever a helper changes
 * the packet or the skb.
 */
import { UsageError } from '../../errors.js';
import { NetConst, ProgType } from '../../isa/uapi.js';
import type { Memory } from '../api.js';
import type { RuntimeEnv, SkbState } from '../helpers/env.js';
import { PacketBuffer } from './packet.js';
import { SK_BUFF, fieldNamed } from './layouts.js';
import { shadowLayout } from './ctx-rewrite.js';
import { readCtxFields, writeCtxFields, type CtxValues, type PreparedContext } from './common.js';

/** Interface the simulated device has (BPF_PROG_TEST_RUN uses the loopback device). */
export interface SimDevice {
  ifindex: number;
  /** MAC address; loopback: 00:00:00:00:00:00. */
  mac: Uint8Array;
  /** Broadcast address; loopback has none set (zeros), so ff:ff:ff:ff:ff:ff counts as multicast. */
  broadcast: Uint8Array;
}

/** The loopback device as test runs see it. */
export const LOOPBACK: SimDevice = { ifindex: 1, mac: new Uint8Array(6), broadcast: new Uint8Array(6) };

const PACKET_HOST = 0;
const PACKET_BROADCAST = 1;
const PACKET_MULTICAST = 2;
const PACKET_OTHERHOST = 3;

const eq = (a: Uint8Array, b: Uint8Array) => a.every((x, i) => x === b[i]);

/** eth_type_trans: (pkt_type, protocol as the raw big-endian u16 read little-endian). */
export function ethTypeTrans(frame: Uint8Array, dev: SimDevice): { pktType: number; protocol: number } {
  const dst = frame.subarray(0, 6);
  let pktType = PACKET_HOST;
  if (dst[0] & 1) pktType = eq(dst, dev.broadcast) ? PACKET_BROADCAST : PACKET_MULTICAST;
  else if (!eq(dst, dev.mac)) pktType = PACKET_OTHERHOST;
  const proto = (frame[12] << 8) | frame[13];
  let host: number;
  if (proto >= 0x600) host = proto;
  else host = frame.length >= 16 && frame[14] === 0xff && frame[15] === 0xff ? 0x0001 : 0x0004;
  return { pktType, protocol: ((host & 0xff) << 8) | (host >> 8) };
}

/** Largest skb test-run frame: a page minus NET_SKB_PAD headroom and skb_shared_info. */
export const SKB_MAX_TEST_LEN = 4096 - 64 - 320;

/** Writable `__sk_buff` fields a test run accepts as input (others must be absent or zero). */
export const SKB_INPUT_FIELDS = ['mark', 'priority', 'ingress_ifindex', 'ifindex', 'cb', 'tstamp', 'wire_len', 'gso_segs', 'gso_size', 'hwtstamp'];

/** Build an skb context for `packet`. */
export function prepareSkb(mem: Memory, env: RuntimeEnv, progType: number, packet: Uint8Array, input: CtxValues = {}, dev: SimDevice = LOOPBACK): PreparedContext {
  if (packet.length < 14 || packet.length > SKB_MAX_TEST_LEN) {
    throw new UsageError(`skb packets must be 14..${SKB_MAX_TEST_LEN} bytes, as in BPF_PROG_TEST_RUN (got ${packet.length})`);
  }
  // BPF_PROG_TEST_RUN refuses IPv4 / IPv6 frames too short for their network header.
  const ethertype = (packet[12] << 8) | packet[13];
  if ((ethertype === NetConst.ETH_P_IP && packet.length < 34) || (ethertype === NetConst.ETH_P_IPV6 && packet.length < 54)) {
    throw new UsageError(`${ethertype === NetConst.ETH_P_IP ? 'IPv4' : 'IPv6'} frame of ${packet.length} bytes is shorter than its network header (BPF_PROG_TEST_RUN refuses it)`);
  }
  for (const k of Object.keys(input)) {
    if (!SKB_INPUT_FIELDS.includes(k)) throw new UsageError(`__sk_buff.${k} cannot be set as input (allowed: ${SKB_INPUT_FIELDS.join(', ')})`);
  }
  const l2 = progType === ProgType.SCHED_CLS || progType === ProgType.SCHED_ACT;
  const { pktType, protocol } = ethTypeTrans(packet, dev);
  const p = new PacketBuffer(mem, packet, { headroom: 64, tailroom: 64, growable: true });
  if (!l2) {
    p.meta = p.data = p.data + 14;
    p.commit();
  }
  const shadow = shadowLayout(SK_BUFF);
  const ctx = new Uint8Array(shadow.size);
  const dv = new DataView(ctx.buffer);
  writeCtxFields(SK_BUFF, ctx, input);
  const ifindex = Number(input.ifindex ?? dev.ifindex);
  const s: SkbState = {
    protocol,
    mark: Number(input.mark ?? 0),
    hash: 0,
    l4hash: false,
    vlanPresent: false,
    vlanTci: 0,
    vlanProto: 0,
    pktType,
    ifindex,
    priority: Number(input.priority ?? 0),
    networkOffset: l2 ? 14 : 0,
    macBefore: l2 ? 0 : 14,
    csumLevel: 0,
    sync: () => undefined,
  };
  const set = (name: string, v: number) => dv.setUint32(fieldNamed(SK_BUFF, name)!.offset, v >>> 0, true);
  const wire = input.wire_len !== undefined && Number(input.wire_len) !== 0 ? Number(input.wire_len) : p.length;
  const sockAddr = env.sockAddr;
  s.sync = () => {
    set('len', p.length);
    set('pkt_type', s.pktType);
    set('protocol', s.protocol);
    set('vlan_present', s.vlanPresent ? 1 : 0);
    set('vlan_tci', s.vlanTci);
    set('vlan_proto', s.vlanProto);
    set('ifindex', s.ifindex);
    set('hash', s.hash);
    set('data', Number(p.dataAddr & 0xffffffffn));
    set('data_end', Number(p.dataEndAddr & 0xffffffffn));
    set('data_meta', Number(p.metaAddr & 0xffffffffn));
    dv.setBigUint64(shadow.slots.data!, p.dataAddr, true);
    dv.setBigUint64(shadow.slots.data_end!, p.dataEndAddr, true);
    dv.setBigUint64(shadow.slots.data_meta!, p.dataAddr, true);
  };
  set('mark', s.mark);
  set('priority', s.priority);
  set('wire_len', wire);
  dv.setBigUint64(fieldNamed(SK_BUFF, 'sk')!.offset, sockAddr, true);
  s.sync();
  p.onChange = s.sync;
  const base = mem.map(ctx, { writable: true, kind: 'ctx', name: '__sk_buff' });
  env.packet = p;
  env.skb = s;
  return {
    r1: base,
    layout: SK_BUFF,
    ctxBytes: ctx,
    packet: p,
    finish() {
      // Program writes to mark / priority land in the ctx; read them back into the skb state.
      s.mark = dv.getUint32(fieldNamed(SK_BUFF, 'mark')!.offset, true);
      s.priority = dv.getUint32(fieldNamed(SK_BUFF, 'priority')!.offset, true);
      const frame = p.frame.subarray(p.data - s.macBefore, p.end);
      return { packet: frame.slice(), ctx: readCtxFields(SK_BUFF, ctx) };
    },
    release() {
      mem.unmap(base);
      mem.unmap(p.base);
    },
  };
}
