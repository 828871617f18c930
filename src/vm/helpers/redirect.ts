/**
 * Forwarding helpers: bpf_redirect, bpf_redirect_map (DEVMAP, DEVMAP_HASH, CPUMAP, XSKMAP: a missing key returns
 * the fallback action from the low flag bits, as the kernel), bpf_clone_redirect (records a copy of the packet)
 * and bpf_fib_lookup against the run's routing table (longest prefix, neighbour MACs, MTU check for XDP).
 */
import type { HelperCallContext, HelperImpl } from '../api.js';
import { MapType, NetConst, ProgType, Uapi, XdpAction } from '../../isa/uapi.js';
import { Errno } from '../errno.js';
import { keyU32, u32Key } from '../maps/base.js';
import { envOf, type Route } from './env.js';
import { mapArg, u32 } from './util.js';

const AF_INET = 2;
const AF_INET6 = 10;
/** sizeof(struct bpf_fib_lookup). */
const FIB_LOOKUP_SIZE = 64;
/** The kernel-internal BPF_F_ACTION_MASK (include/linux/filter.h): the fallback verdicts of bpf_redirect_map. */
const ACTION_MASK = BigInt(XdpAction.ABORTED | XdpAction.DROP | XdpAction.PASS | XdpAction.TX);

/** Parse an IPv4 or IPv6 address into bytes. */
export function parseIp(s: string): Uint8Array | undefined {
  if (s.includes(':')) {
    const [head, tail] = s.split('::');
    const parse = (x: string) => (x ? x.split(':').map((g) => parseInt(g, 16)) : []);
    const h = parse(head);
    const t = tail === undefined ? [] : parse(tail);
    const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
    if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) return undefined;
    const b = new Uint8Array(16);
    groups.forEach((g, i) => {
      b[i * 2] = g >> 8;
      b[i * 2 + 1] = g & 0xff;
    });
    return b;
  }
  const parts = s.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) return undefined;
  return Uint8Array.from(parts);
}

function parseMac(s: string): Uint8Array {
  return Uint8Array.from(s.split(':').map((x) => parseInt(x, 16)));
}

function prefixMatch(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  for (let i = 0; i < bits; i++) if (((a[i >> 3] ^ b[i >> 3]) >> (7 - (i & 7))) & 1) return false;
  return true;
}

/** The route for `dst` (longest prefix; on a tie the lowest metric, then the first). */
export function routeFor(routes: readonly Route[], dst: Uint8Array): Route | undefined {
  let best: Route | undefined;
  let bestLen = -1;
  for (const r of routes) {
    const [net, len] = r.dst.split('/');
    const nb = parseIp(net);
    if (!nb || nb.length !== dst.length) continue;
    const bits = len === undefined ? nb.length * 8 : Number(len);
    if (!prefixMatch(nb, dst, bits)) continue;
    if (bits > bestLen || (bits === bestLen && (r.metric ?? 0) < (best?.metric ?? 0))) {
      best = r;
      bestLen = bits;
    }
  }
  return best;
}

function fibLookup(c: HelperCallContext, params: bigint, plen: number, flags: number): number {
  const env = envOf(c);
  if (plen < FIB_LOOKUP_SIZE) return -Errno.EINVAL;
  const allowed = Uapi.BPF_FIB_LOOKUP_DIRECT | Uapi.BPF_FIB_LOOKUP_OUTPUT | Uapi.BPF_FIB_LOOKUP_SKIP_NEIGH | Uapi.BPF_FIB_LOOKUP_TBID | Uapi.BPF_FIB_LOOKUP_SRC;
  if (flags & ~allowed) return -Errno.EINVAL;
  const p = c.mem.view(params, FIB_LOOKUP_SIZE, true);
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const family = p[0];
  if (family !== AF_INET && family !== AF_INET6) return -Errno.EAFNOSUPPORT;
  const alen = family === AF_INET ? 4 : 16;
  const dst = p.slice(32, 32 + alen);
  const route = routeFor(env.routes, dst);
  if (!route) return Uapi.BPF_FIB_LKUP_RET_NOT_FWDED;
  if (route.type === 'blackhole') return Uapi.BPF_FIB_LKUP_RET_BLACKHOLE;
  if (route.type === 'unreachable') return Uapi.BPF_FIB_LKUP_RET_UNREACHABLE;
  if (route.type === 'prohibit') return Uapi.BPF_FIB_LKUP_RET_PROHIBIT;
  const mtu = route.mtu ?? 1500;
  const totLen = dv.getUint16(6, true);
  if (env.progType === ProgType.XDP && totLen > mtu) {
    dv.setUint16(6, mtu, true);
    return Uapi.BPF_FIB_LKUP_RET_FRAG_NEEDED;
  }
  const nh = route.gateway ? parseIp(route.gateway) : dst;
  if (route.gateway && nh && nh.length === alen) p.set(nh, 32);
  dv.setUint32(8, route.ifindex >>> 0, true);
  dv.setUint32(12, route.metric ?? 0, true);
  dv.setUint16(6, mtu, true);
  if (route.smac) p.set(parseMac(route.smac), 52);
  if (flags & Uapi.BPF_FIB_LOOKUP_SKIP_NEIGH) return Uapi.BPF_FIB_LKUP_RET_SUCCESS;
  const nhText = nh ? (alen === 4 ? [...nh].join('.') : route.gateway ?? '') : '';
  const dmac = route.dmac ?? env.neighbours[nhText];
  if (!dmac) return Uapi.BPF_FIB_LKUP_RET_NO_NEIGH;
  p.set(parseMac(dmac), 58);
  return Uapi.BPF_FIB_LKUP_RET_SUCCESS;
}

/** Redirect helper implementations by name. */
export const redirectHelpers: Record<string, HelperImpl> = {
  redirect(c, r1, r2) {
    const env = envOf(c);
    if (env.progType === ProgType.XDP) {
      if (r2 !== 0n) return XdpAction.ABORTED;
      env.redirect = { ifindex: u32(r1), flags: r2 };
      return XdpAction.REDIRECT;
    }
    if (r2 & ~BigInt(Uapi.BPF_F_INGRESS)) return NetConst.TC_ACT_SHOT;
    env.redirect = { ifindex: u32(r1), flags: r2 };
    return NetConst.TC_ACT_REDIRECT;
  },
  redirect_map(c, r1, r2, r3) {
    const env = envOf(c);
    const m = mapArg(c, r1, env);
    if (r3 & ~(ACTION_MASK | BigInt(Uapi.BPF_F_BROADCAST | Uapi.BPF_F_EXCLUDE_INGRESS))) return XdpAction.ABORTED;
    const key = u32(r2);
    const v = m.type === MapType.DEVMAP_HASH ? m.findValue(u32Key(key), 0, false) : m.findValue(u32Key(key), 0, false);
    if (!v && !(r3 & BigInt(Uapi.BPF_F_BROADCAST))) return Number(r3 & ACTION_MASK);
    const ifindex = v && (m.type === MapType.DEVMAP || m.type === MapType.DEVMAP_HASH) ? keyU32(v) : 0;
    env.redirect = { ifindex, flags: r3, map: m.name, key };
    return XdpAction.REDIRECT;
  },
  clone_redirect(c, _r1, r2, r3) {
    const env = envOf(c);
    if (r3 & ~BigInt(Uapi.BPF_F_INGRESS)) return -Errno.EINVAL;
    env.events.push({ kind: 'clone_redirect', ifindex: u32(r2), flags: r3, packet: env.packet ? env.packet.bytes().slice() : new Uint8Array(0) });
    return 0;
  },
  fib_lookup: (c, _r1, r2, r3, r4) => fibLookup(c, r2, Number(BigInt.asIntN(32, r3)), u32(r4)),
};
