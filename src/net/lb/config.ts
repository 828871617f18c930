/**
 * Load-balancer configuration: the JSON shape users write (VIPs with backends, forwarding mode, ring size...),
 * its validation into one-line `UsageError`s naming the offending field, and the normalized numeric form the
 * control plane and the reference evaluator work from.
 */
import { UsageError } from '../../errors.js';

/** How packets reach a backend: IPIP encapsulation (Katran's default) or L2 direct server return. */
export type LbForwardingMode = 'ipip' | 'dsr';

/** One backend ("real") of a VIP. */
export interface LbBackendConfig {
  /** IPv4 address (the IPIP outer destination). */
  address: string;
  /** Relative share of new flows, integer 0..65535 (default 1). 0 drains: no new flows, existing flows stay. */
  weight?: number;
  /** Backend MAC `aa:bb:cc:dd:ee:ff`; required in `dsr` mode (the rewritten destination MAC), unused for `ipip`. */
  mac?: string;
}

/** One virtual service: IPv4 address, protocol and port, and the backends serving it. */
export interface LbVipConfig {
  address: string;
  protocol: 'tcp' | 'udp';
  port: number;
  /** Forwarding mode (default 'ipip'). */
  mode?: LbForwardingMode;
  /** IPIP outer source address for this VIP (default: the config's `tunnelSource`, else the VIP address). */
  tunnelSource?: string;
  backends: LbBackendConfig[];
}

/** The whole configuration (the `--config` JSON file). */
export interface LbConfig {
  vips: LbVipConfig[];
  /** Maglev lookup table size per VIP: a prime, 7..1048573 (default 65537, as Katran). Fixed once loaded. */
  ringSize?: number;
  /** Connection-tracking entries (LRU; default 65536). Fixed once loaded. */
  conntrackSize?: number;
  /** Default IPIP outer source address (default: the VIP address). */
  tunnelSource?: string;
  /** Destination MAC of IPIP packets (the next hop); default: the source MAC of the received frame. */
  gatewayMac?: string;
}

/** Most VIPs one program serves. */
export const LB_MAX_VIPS = 256;
/** Most (VIP, backend) pairs — backend slots — live at once (an update needs room for old ∪ new). */
export const LB_MAX_BACKENDS = 4096;
/** Default Maglev table size. */
export const LB_DEFAULT_RING_SIZE = 65537;
/** Default connection-tracking size. */
export const LB_DEFAULT_CONNTRACK_SIZE = 65536;
const MAX_RING = 1048573;

/** IP protocol numbers of the supported protocols. */
export const LB_PROTOCOLS = { tcp: 6, udp: 17 } as const;
/** Forwarding modes as the program's vip table stores them. */
export const LB_MODE_CODES = { ipip: 0, dsr: 1 } as const;

/** A backend reduced to numbers. */
export interface NormalizedBackend {
  /** Host-order u32. */
  addr: number;
  weight: number;
  /** 6 bytes, or undefined. */
  mac?: Uint8Array;
}

/** A VIP reduced to numbers. */
export interface NormalizedVip {
  /** `a.b.c.d:port/proto`, the VIP's identity across updates. */
  key: string;
  addr: number;
  proto: number;
  port: number;
  mode: LbForwardingMode;
  tunnelSource: number;
  backends: NormalizedBackend[];
}

/** A validated configuration. */
export interface NormalizedLbConfig {
  vips: NormalizedVip[];
  ringSize: number;
  conntrackSize: number;
  gatewayMac?: Uint8Array;
}

/** True when `n` is prime. */
export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** Parse `a.b.c.d` to a host-order u32; throws `UsageError` naming `where`. */
export function parseIpv4(s: unknown, where: string): number {
  if (typeof s !== 'string') throw new UsageError(`${where}: expected an IPv4 address string, got ${JSON.stringify(s)}`);
  if (s.includes(':')) throw new UsageError(`${where}: IPv6 address ${s} is not supported (IPv4 only)`);
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  const o = m?.slice(1, 5).map(Number);
  if (!o || o.some((x) => x > 255)) throw new UsageError(`${where}: invalid IPv4 address ${JSON.stringify(s)}`);
  return ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
}

/** Format a host-order u32 as `a.b.c.d`. */
export function formatIpv4(a: number): string {
  return [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
}

/** Parse `aa:bb:cc:dd:ee:ff` (or with `-`); throws `UsageError` naming `where`. */
export function parseMac(s: unknown, where: string): Uint8Array {
  if (typeof s !== 'string' || !/^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i.test(s.trim())) throw new UsageError(`${where}: invalid MAC address ${JSON.stringify(s)} (expected aa:bb:cc:dd:ee:ff)`);
  return Uint8Array.from(s.trim().split(/[:-]/), (h) => parseInt(h, 16));
}

/** Format 6 bytes as `aa:bb:cc:dd:ee:ff`. */
export function formatMac(m: Uint8Array): string {
  return [...m].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function checkKeys(o: object, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new UsageError(`${where}: unknown field ${k} (expected ${allowed.join(', ')})`);
}

function intIn(v: unknown, lo: number, hi: number, where: string, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new UsageError(`${where}: ${what} must be an integer ${lo}..${hi}, got ${JSON.stringify(v)}`);
  return v;
}

/** Validate a configuration and reduce it to numbers. Throws `UsageError` with a one-line message naming the field. */
export function normalizeLbConfig(cfg: LbConfig): NormalizedLbConfig {
  if (!cfg || typeof cfg !== 'object' || Array.isArray(cfg)) throw new UsageError('lb config: expected an object { "vips": [...] }');
  checkKeys(cfg, ['vips', 'ringSize', 'conntrackSize', 'tunnelSource', 'gatewayMac'], 'lb config');
  const ringSize = cfg.ringSize ?? LB_DEFAULT_RING_SIZE;
  if (typeof ringSize !== 'number' || !Number.isInteger(ringSize) || ringSize < 7 || ringSize > MAX_RING || !isPrime(ringSize)) {
    throw new UsageError(`ringSize: must be a prime 7..${MAX_RING} (e.g. 65537, 16381, 4099, 1021), got ${JSON.stringify(cfg.ringSize)}`);
  }
  const conntrackSize = intIn(cfg.conntrackSize ?? LB_DEFAULT_CONNTRACK_SIZE, 1, 1 << 24, 'conntrackSize', 'entries');
  const defSource = cfg.tunnelSource === undefined ? undefined : parseIpv4(cfg.tunnelSource, 'tunnelSource');
  const gatewayMac = cfg.gatewayMac === undefined ? undefined : parseMac(cfg.gatewayMac, 'gatewayMac');
  if (!Array.isArray(cfg.vips)) throw new UsageError(`vips: expected an array of VIPs, got ${JSON.stringify(cfg.vips)}`);
  if (cfg.vips.length > LB_MAX_VIPS) throw new UsageError(`vips: ${cfg.vips.length} VIPs, at most ${LB_MAX_VIPS} supported`);
  const seen = new Map<string, number>();
  let nbackends = 0;
  const vips = cfg.vips.map((v, i): NormalizedVip => {
    const where = `vips[${i}]`;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new UsageError(`${where}: expected an object`);
    checkKeys(v, ['address', 'protocol', 'port', 'mode', 'tunnelSource', 'backends'], where);
    const addr = parseIpv4(v.address, `${where}.address`);
    const proto = LB_PROTOCOLS[v.protocol as keyof typeof LB_PROTOCOLS];
    if (proto === undefined) throw new UsageError(`${where}.protocol: must be 'tcp' or 'udp', got ${JSON.stringify(v.protocol)}`);
    const port = intIn(v.port, 1, 65535, `${where}.port`, 'port');
    const mode = v.mode ?? 'ipip';
    if (mode !== 'ipip' && mode !== 'dsr') throw new UsageError(`${where}.mode: must be 'ipip' or 'dsr', got ${JSON.stringify(v.mode)}`);
    const key = `${formatIpv4(addr)}:${port}/${v.protocol}`;
    const dup = seen.get(key);
    if (dup !== undefined) throw new UsageError(`${where}: duplicate VIP ${key} (also vips[${dup}])`);
    seen.set(key, i);
    const tunnelSource = v.tunnelSource !== undefined ? parseIpv4(v.tunnelSource, `${where}.tunnelSource`) : (defSource ?? addr);
    if (!Array.isArray(v.backends)) throw new UsageError(`${where}.backends: expected an array of backends, got ${JSON.stringify(v.backends)}`);
    if (v.backends.length >= ringSize) throw new UsageError(`${where}.backends: ${v.backends.length} backends need a ringSize above that (ringSize ${ringSize})`);
    const addrs = new Map<number, number>();
    const backends = v.backends.map((b, j): NormalizedBackend => {
      const bw = `${where}.backends[${j}]`;
      if (!b || typeof b !== 'object' || Array.isArray(b)) throw new UsageError(`${bw}: expected an object { "address": ... }`);
      checkKeys(b, ['address', 'weight', 'mac'], bw);
      const baddr = parseIpv4(b.address, `${bw}.address`);
      const prev = addrs.get(baddr);
      if (prev !== undefined) throw new UsageError(`${bw}.address: duplicate backend ${formatIpv4(baddr)} (also backends[${prev}])`);
      addrs.set(baddr, j);
      const weight = intIn(b.weight ?? 1, 0, 65535, `${bw}.weight`, 'weight');
      const mac = b.mac === undefined ? undefined : parseMac(b.mac, `${bw}.mac`);
      if (mode === 'dsr' && !mac) throw new UsageError(`${bw}.mac: required in dsr mode (the backend's MAC address)`);
      return { addr: baddr, weight, mac };
    });
    nbackends += backends.length;
    return { key, addr, proto, port, mode, tunnelSource, backends };
  });
  if (nbackends > LB_MAX_BACKENDS) throw new UsageError(`vips: ${nbackends} backends in all, at most ${LB_MAX_BACKENDS} supported`);
  return { vips, ringSize, conntrackSize, gatewayMac };
}
