/**
 * skb helpers (tc, socket filters, cgroup skb) with the kernel's argument checks and error codes: load / store
 * bytes, load_bytes_relative, pull_data, change_tail, l3 / l4 checksum replacement, csum_diff, csum_update,
 * csum_level, VLAN push / pop (the outer tag lives in skb metadata — `vlan_present`/`vlan_tci` — not in the bytes,
 * as with hardware-accelerated tags), hash get / set / invalidate, change_type, adjust_room (NET and MAC modes,
 * zero-filled room), get_socket_cookie, get_cgroup_classid.
 *
 * The skb is as BPF_PROG_TEST_RUN builds it: linear, ip_summed = CHECKSUM_NONE (so csum_update is ENOTSUPP
 * and csum_level QUERY is EACCES), tc programs see data at the MAC header, socket filters at the network header.
 * get_hash_recalc computes a deterministic flow hash (jhash of the addresses, ports and protocol); the kernel's is
 * a keyed siphash with a boot-time random key, so values differ.
 */
import type { HelperCallContext, HelperImpl } from '../api.js';
import { NetConst, Uapi } from '../../isa/uapi.js';
import { Errno } from '../errno.js';
import { jhash2 } from '../maps/jhash.js';
import { envOf, type SkbState } from './env.js';
import type { PacketBuffer } from '../contexts/packet.js';
import { csumFrom32to16, csumPartial, csumReplace2, csumReplace4, csumReplaceByDiff, csumSub } from './csum.js';
import { s32, u32 } from './util.js';

const HDR_FIELD_MASK = BigInt(Uapi.BPF_F_HDR_FIELD_MASK);

/**
 * The checksum `sum` after an l3/l4_csum_replace, or a negative errno: the low flag bits give the size of the
 * replaced field (2 or 4 bytes, with `replace2` for 2-byte fields), or 0 when `to` is a checksum difference
 * (then `from` must be 0).
 */
function csumReplaced(sum: number, flags: bigint, from: bigint, to: bigint, replace2: (sum: number, from: number, to: number) => number): number {
  switch (Number(flags & HDR_FIELD_MASK)) {
    case 0:
      return from !== 0n ? -Errno.EINVAL : csumReplaceByDiff(sum, u32(to));
    case 2:
      return replace2(sum, Number(from & 0xffffn), Number(to & 0xffffn));
    case 4:
      return csumReplace4(sum, u32(from), u32(to));
    default:
      return -Errno.EINVAL;
  }
}

/** SKB_MAX_ALLOC on x86-64 (an order-2 page block minus skb_shared_info): bpf_skb_change_tail's limit. */
const SKB_MAX_LEN = 16384 - 320;
const CSUM_MANGLED_0 = 0xffff;

function skbOf(c: HelperCallContext): { p: PacketBuffer; s: SkbState } | undefined {
  const env = envOf(c);
  return env.packet && env.skb ? { p: env.packet, s: env.skb } : undefined;
}

/** skb_clear_hash: no hash until the next recalculation. */
function clearHash(s: SkbState): void {
  s.hash = 0;
  s.l4hash = false;
  s.sync();
}

function be16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

/** Deterministic flow hash of the packet (addresses, ports, protocol), never 0. */
export function flowHash(bytes: Uint8Array, netOff: number, protocol: number): number {
  const words: number[] = [];
  let l4 = -1;
  let proto = 0;
  if (protocol === NetConst.ETH_P_IP && bytes.length >= netOff + 20) {
    const ihl = (bytes[netOff] & 15) * 4;
    proto = bytes[netOff + 9];
    for (let i = 12; i < 20; i++) words.push(bytes[netOff + i]);
    const frag = be16(bytes, netOff + 6) & 0x3fff;
    if (!frag) l4 = netOff + ihl;
  } else if (protocol === NetConst.ETH_P_IPV6 && bytes.length >= netOff + 40) {
    proto = bytes[netOff + 6];
    for (let i = 8; i < 40; i++) words.push(bytes[netOff + i]);
    l4 = netOff + 40;
  } else return 0;
  if (l4 >= 0 && (proto === 6 || proto === 17) && bytes.length >= l4 + 4) for (let i = 0; i < 4; i++) words.push(bytes[l4 + i]);
  words.push(proto, 0, 0, 0);
  while (words.length % 4) words.push(0);
  const h = jhash2(Uint8Array.from(words), 0, words.length / 4, 0);
  return h || 1;
}

function tryWritable(p: PacketBuffer, len: number): boolean {
  return len <= p.length;
}

/** skb helper implementations by name. */
export const skbHelpers: Record<string, HelperImpl> = {
  skb_load_bytes(c, _r1, r2, r3, r4) {
    const k = skbOf(c);
    const off = u32(r2);
    const len = u32(r4);
    if (!k || off > 0xffff || off + len > k.p.length) {
      c.mem.view(r3, len, true).fill(0);
      return -Errno.EFAULT;
    }
    c.mem.view(r3, len, true).set(k.p.bytes().subarray(off, off + len));
    return 0;
  },
  skb_load_bytes_relative(c, _r1, r2, r3, r4, r5) {
    const k = skbOf(c);
    const off = u32(r2);
    const len = u32(r4);
    const hdr = u32(r5);
    const out = c.mem.view(r3, len, true);
    if (!k || off > 0xffff || (hdr !== Uapi.BPF_HDR_START_MAC && hdr !== Uapi.BPF_HDR_START_NET)) {
      out.fill(0);
      return -Errno.EFAULT;
    }
    const start = k.p.data + (hdr === Uapi.BPF_HDR_START_MAC ? -k.s.macBefore : k.s.networkOffset);
    if (start + off + len > k.p.end || start + off < 0) {
      out.fill(0);
      return -Errno.EFAULT;
    }
    out.set(k.p.frame.subarray(start + off, start + off + len));
    return 0;
  },
  skb_store_bytes(c, _r1, r2, r3, r4, r5) {
    const k = skbOf(c);
    if (!k) return -Errno.EINVAL;
    if (r5 & ~BigInt(Uapi.BPF_F_RECOMPUTE_CSUM | Uapi.BPF_F_INVALIDATE_HASH)) return -Errno.EINVAL;
    const off = u32(r2);
    const len = u32(r4);
    if (off > 0x7fffffff || !tryWritable(k.p, off + len)) return -Errno.EFAULT;
    k.p.bytes().set(c.mem.view(r3, len), off);
    if (r5 & BigInt(Uapi.BPF_F_INVALIDATE_HASH)) clearHash(k.s);
    return 0;
  },
  skb_pull_data(c, _r1, r2) {
    const k = skbOf(c);
    if (!k) return -Errno.EINVAL;
    if (u32(r2) > k.p.length) return -Errno.ENOMEM;
    k.p.commit();
    return 0;
  },
  skb_change_tail(c, _r1, r2, r3) {
    const k = skbOf(c);
    if (!k) return -Errno.EINVAL;
    const len = u32(r2);
    const minLen = Math.max(0, k.s.networkOffset);
    if (r3 !== 0n || len > SKB_MAX_LEN || len < minLen) return -Errno.EINVAL;
    const cur = k.p.length;
    if (len > cur) k.p.splice(cur, 0, len - cur);
    else if (len < cur) k.p.splice(len, cur - len, 0);
    k.p.commit();
    return 0;
  },
  l3_csum_replace(c, _r1, r2, r3, r4, r5) {
    const k = skbOf(c);
    if (!k) return -Errno.EINVAL;
    const off = u32(r2);
    if (r5 & ~HDR_FIELD_MASK) return -Errno.EINVAL;
    if (off > 0xffff || off & 1 || off + 2 > k.p.length) return -Errno.EFAULT;
    const b = k.p.bytes();
    const res = csumReplaced(b[off] | (b[off + 1] << 8), r5, r3, r4, csumReplace2);
    if (res < 0) return res;
    b[off] = res & 0xff;
    b[off + 1] = res >> 8;
    return 0;
  },
  l4_csum_replace(c, _r1, r2, r3, r4, r5) {
    const k = skbOf(c);
    if (!k) return -Errno.EINVAL;
    const off = u32(r2);
    const allowed = BigInt(Uapi.BPF_F_MARK_MANGLED_0 | Uapi.BPF_F_MARK_ENFORCE | Uapi.BPF_F_PSEUDO_HDR | Uapi.BPF_F_IPV6) | HDR_FIELD_MASK;
    if (r5 & ~allowed) return -Errno.EINVAL;
    if (off > 0xffff || off & 1 || off + 2 > k.p.length) return -Errno.EFAULT;
    const b = k.p.bytes();
    const sum = b[off] | (b[off + 1] << 8);
    const mmzero = (r5 & BigInt(Uapi.BPF_F_MARK_MANGLED_0)) !== 0n;
    const mforce = (r5 & BigInt(Uapi.BPF_F_MARK_ENFORCE)) !== 0n;
    if (mmzero && !mforce && sum === 0) return 0;
    let res = csumReplaced(sum, r5, r3, r4, csumReplace4);
    if (res < 0) return res;
    if (mmzero && res === 0) res = CSUM_MANGLED_0;
    b[off] = res & 0xff;
    b[off + 1] = res >> 8;
    return 0;
  },
  csum_diff(c, r1, r2, r3, r4, r5) {
    // Linux >= 6.13 (arch-independent bpf_csum_diff): csum_partial of each side, folded to 16 bits.
    const fromSize = u32(r2);
    const toSize = u32(r4);
    const seed = u32(r5);
    const from = fromSize ? c.mem.view(r1, fromSize) : undefined;
    const to = toSize ? c.mem.view(r3, toSize) : undefined;
    if (from && to) return csumFrom32to16(csumSub(csumPartial(to, seed), csumPartial(from, 0)));
    if (to) return csumFrom32to16(csumPartial(to, seed));
    if (from) return csumFrom32to16(~csumPartial(from, ~seed >>> 0) >>> 0);
    return seed;
  },
  csum_update: () => -Errno.ENOTSUPP,
  csum_level(c, _r1, r2) {
    const level = Number(r2);
    if (level === Uapi.BPF_CSUM_LEVEL_QUERY) return -Errno.EACCES;
    if (level === Uapi.BPF_CSUM_LEVEL_INC || level === Uapi.BPF_CSUM_LEVEL_DEC || level === Uapi.BPF_CSUM_LEVEL_RESET) {
      const k = skbOf(c);
      if (k) k.s.csumLevel = level === Uapi.BPF_CSUM_LEVEL_RESET ? 0 : k.s.csumLevel;
      return 0;
    }
    return -Errno.EINVAL;
  },
  skb_vlan_push(c, _r1, r2, r3) {
    const k = skbOf(c);
    if (!k) return -Errno.EINVAL;
    let proto = Number(r2 & 0xffffn);
    const protoHost = ((proto & 0xff) << 8) | (proto >> 8);
    // The kernel silently uses 802.1Q for any other protocol.
    if (protoHost !== NetConst.ETH_P_8021Q && protoHost !== NetConst.ETH_P_8021AD) proto = 0x0081;
    const s = k.s;
    if (s.macBefore) return -Errno.EINVAL;
    if (s.vlanPresent) {
      // Move the current accelerated tag into the packet, after the MAC addresses.
      const off = -s.macBefore + 12;
      const tag = Uint8Array.of(s.vlanProto & 0xff, s.vlanProto >> 8, (s.vlanTci >> 8) & 0xff, s.vlanTci & 0xff);
      spliceFrame(k.p, off, 0, tag);
      s.protocol = s.vlanProto;
    }
    s.vlanPresent = true;
    s.vlanProto = proto;
    s.vlanTci = Number(r3 & 0xffffn);
    k.p.commit();
    s.sync();
    return 0;
  },
  skb_vlan_pop(c) {
    const k = skbOf(c);
    if (!k) return -Errno.EINVAL;
    const s = k.s;
    if (s.macBefore) return -Errno.EINVAL;
    const isVlan = (be: number) => {
      const h = ((be & 0xff) << 8) | (be >> 8);
      return h === NetConst.ETH_P_8021Q || h === NetConst.ETH_P_8021AD;
    };
    const popBytes = (): number | undefined => {
      const off = -s.macBefore + 12;
      const f = k.p.frame;
      const at = k.p.data + off;
      if (at + 4 + 2 > k.p.end) return undefined;
      const tci = (f[at + 2] << 8) | f[at + 3];
      const inner = (f[at + 4] << 8) | f[at + 5];
      // vlan_set_encap_proto: an 802.3 length field means raw 802.3 (0xffff payload) or 802.2 LLC.
      let proto = inner;
      if (inner < 0x600) proto = at + 8 <= k.p.end && f[at + 6] === 0xff && f[at + 7] === 0xff ? 0x0001 : 0x0004;
      spliceFrame(k.p, off, 4, new Uint8Array(0));
      s.protocol = ((proto & 0xff) << 8) | (proto >> 8);
      return tci;
    };
    if (s.vlanPresent) s.vlanPresent = false;
    else {
      if (!isVlan(s.protocol)) return 0;
      if (popBytes() === undefined) return -Errno.EINVAL;
    }
    if (isVlan(s.protocol)) {
      const proto = s.protocol;
      const tci = popBytes();
      if (tci === undefined) return -Errno.EINVAL;
      s.vlanPresent = true;
      s.vlanProto = proto;
      s.vlanTci = tci;
    }
    if (!s.vlanPresent) {
      s.vlanTci = 0;
      s.vlanProto = 0;
    }
    k.p.commit();
    s.sync();
    return 0;
  },
  get_hash_recalc(c) {
    const k = skbOf(c);
    if (!k) return 0;
    if (!k.s.hash) {
      const b = k.p.frame.subarray(k.p.data + k.s.networkOffset, k.p.end);
      k.s.hash = flowHash(b, 0, ((k.s.protocol & 0xff) << 8) | (k.s.protocol >> 8));
      k.s.l4hash = true;
      k.s.sync();
    }
    return k.s.hash >>> 0;
  },
  set_hash(c, _r1, r2) {
    const k = skbOf(c);
    if (!k) return -Errno.EINVAL;
    k.s.hash = u32(r2);
    k.s.l4hash = true;
    k.s.sync();
    return 0;
  },
  set_hash_invalid(c) {
    const k = skbOf(c);
    if (k) clearHash(k.s);
    return 0;
  },
  skb_change_type(c, _r1, r2) {
    const k = skbOf(c);
    const t = u32(r2);
    if (!k || t > 3 || k.s.pktType > 3) return -Errno.EINVAL;
    k.s.pktType = t;
    k.s.sync();
    return 0;
  },
  skb_adjust_room(c, _r1, r2, r3, r4) {
    const k = skbOf(c);
    if (!k) return -Errno.EINVAL;
    const diff = s32(r2);
    const mode = u32(r3);
    const allowedFlags =
      BigInt(
        Uapi.BPF_F_ADJ_ROOM_FIXED_GSO |
          Uapi.BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 |
          Uapi.BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 |
          Uapi.BPF_F_ADJ_ROOM_ENCAP_L4_GRE |
          Uapi.BPF_F_ADJ_ROOM_ENCAP_L4_UDP |
          Uapi.BPF_F_ADJ_ROOM_NO_CSUM_RESET |
          Uapi.BPF_F_ADJ_ROOM_ENCAP_L2_ETH,
      ) |
      (0xffn << BigInt(Uapi.BPF_ADJ_ROOM_ENCAP_L2_SHIFT));
    if (r4 & ~allowedFlags || (mode !== Uapi.BPF_ADJ_ROOM_NET && mode !== Uapi.BPF_ADJ_ROOM_MAC)) return -Errno.EINVAL;
    const proto = ((k.s.protocol & 0xff) << 8) | (k.s.protocol >> 8);
    if (proto !== NetConst.ETH_P_IP && proto !== NetConst.ETH_P_IPV6) return -Errno.ENOTSUPP;
    const base = proto === NetConst.ETH_P_IP ? 20 : 40;
    const off = k.s.networkOffset + (mode === Uapi.BPF_ADJ_ROOM_NET ? base : 0);
    if (diff < 0) {
      if (-diff > 0xfff || off - diff > k.p.length) return -Errno.EFAULT;
      if (k.p.length + diff < k.s.networkOffset + base) return -Errno.ENOTSUPP;
      k.p.splice(off, -diff, 0);
    } else if (diff > 0) {
      if (diff > 0xfff) return -Errno.EFAULT;
      k.p.splice(off, 0, diff);
    }
    k.p.commit();
    return 0;
  },
  get_socket_cookie: (c) => envOf(c).socketCookie,
  get_cgroup_classid: () => 0,
};

/** Insert/remove bytes at an offset relative to data (VLAN helpers exist for tc only, where data is the MAC header). */
function spliceFrame(p: PacketBuffer, off: number, del: number, ins: Uint8Array): void {
  p.splice(off, del, ins);
}
