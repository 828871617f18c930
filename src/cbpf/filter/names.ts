/**
 * Name lookups for the filter language, without touching the network: protocol names from /etc/protocols
 * (with a built-in fallback), service names from /etc/services, host names from /etc/hosts only (no DNS),
 * ether host names from /etc/ethers, and libpcap's fixed tables of Ethernet and LLC protocol names.
 */
import { hostReadText } from '../../host/io.js';

const cache = new Map<string, string>();
function readText(path: string): string {
  if (!cache.has(path)) {
    try {
      cache.set(path, hostReadText(path));
    } catch {
      cache.set(path, '');
    }
  }
  return cache.get(path)!;
}

function lines(path: string): string[][] {
  return readText(path)
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((l) => l.split(/\s+/));
}

const BUILTIN_PROTOS: Record<string, number> = {
  ip: 0, icmp: 1, igmp: 2, ggp: 3, ipencap: 4, tcp: 6, egp: 8, igp: 9, udp: 17, ipv6: 41, 'ipv6-route': 43,
  'ipv6-frag': 44, rsvp: 46, gre: 47, esp: 50, ah: 51, 'ipv6-icmp': 58, 'ipv6-nonxt': 59, 'ipv6-opts': 60,
  pim: 103, vrrp: 112, sctp: 132, udplite: 136,
};

/** IP protocol number of a name (/etc/protocols, then a built-in table), or undefined. */
export function protoByName(name: string): number | undefined {
  for (const f of lines('/etc/protocols')) {
    if (f.length >= 2 && (f[0] === name || f.slice(2).includes(name))) return Number(f[1]);
  }
  return BUILTIN_PROTOS[name];
}

/** libpcap's built-in Ethernet type names. */
export const ETHER_PROTOS: Record<string, number> = {
  aarp: 0x80f3, arp: 0x0806, atalk: 0x809b, decnet: 0x6003, ip: 0x0800, ip6: 0x86dd, lat: 0x6004,
  loopback: 0x9000, mopdl: 0x6001, moprc: 0x6002, rarp: 0x8035, sca: 0x6007,
};
/** libpcap's built-in LLC SAP names. */
export const LLC_PROTOS: Record<string, number> = { iso: 0xfe, stp: 0x42, ipx: 0xe0, netbeui: 0xf0 };

/** A service's port and which transports it is defined for. */
export interface ServicePort {
  port: number;
  /** 6 (tcp only), 17 (udp only), 132 (sctp only) or -1 (several). */
  proto: number;
}

/** Look a port name up in /etc/services; a numeric string is its own port with proto -1. */
export function portByName(name: string): ServicePort | undefined {
  if (/^[0-9]+$/.test(name)) return { port: Number(name), proto: -1 };
  const protos = new Set<string>();
  let port: number | undefined;
  for (const f of lines('/etc/services')) {
    if (f.length < 2) continue;
    if (f[0] !== name && !f.slice(2).includes(name)) continue;
    const [p, proto] = f[1]!.split('/');
    if (port === undefined) port = Number(p);
    if (Number(p) === port) protos.add(proto!);
  }
  if (port === undefined) return undefined;
  const only = protos.size === 1 ? [...protos][0] : undefined;
  return { port, proto: only === 'tcp' ? 6 : only === 'udp' ? 17 : only === 'sctp' ? 132 : -1 };
}

/** Addresses of a host name from /etc/hosts only (never DNS). IPv4 as u32, IPv6 as 16 bytes. */
export function hostByName(name: string): { v4: number[]; v6: Uint8Array[] } {
  const v4: number[] = [];
  const v6: Uint8Array[] = [];
  for (const f of lines('/etc/hosts')) {
    if (!f.slice(1).some((h) => h.toLowerCase() === name.toLowerCase())) continue;
    const a4 = parseIPv4(f[0]!);
    if (a4 !== undefined) v4.push(a4);
    else {
      const a6 = parseIPv6(f[0]!);
      if (a6) v6.push(a6);
    }
  }
  return { v4, v6 };
}

/** Ethernet address of a name from /etc/ethers, or undefined. */
export function etherByName(name: string): Uint8Array | undefined {
  for (const f of lines('/etc/ethers')) {
    if (f[1] === name) return parseMac(f[0]!);
  }
  return undefined;
}

/** Dotted-quad IPv4 (exactly four parts), or undefined. */
export function parseIPv4(s: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** Parse a textual IPv6 address (with :: and an optional dotted IPv4 tail) into 16 bytes. */
export function parseIPv6(s: string): Uint8Array | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || !s.includes(':')) return undefined;
  let tail: number[] = [];
  let head = s;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [v4 >>> 16, v4 & 0xffff];
    head = s.slice(0, lastColon + 1);
    if (head.endsWith('::')) head = head;
    else head = head.slice(0, -1);
  }
  const dbl = head.split('::');
  if (dbl.length > 2) return undefined;
  const parseGroups = (t: string): number[] | undefined => {
    if (t === '') return [];
    const gs = t.split(':');
    if (gs.some((g) => !/^[0-9A-Fa-f]{1,4}$/.test(g))) return undefined;
    return gs.map((g) => parseInt(g, 16));
  };
  const left = parseGroups(dbl[0]!);
  const right = dbl.length === 2 ? parseGroups(dbl[1]!) : [];
  if (!left || !right) return undefined;
  const total = left.length + right.length + tail.length;
  let groups: number[];
  if (dbl.length === 2) {
    if (total > 7) return undefined;
    groups = [...left, ...new Array(8 - total).fill(0), ...right, ...tail];
  } else {
    if (total !== 8) return undefined;
    groups = [...left, ...tail];
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** Parse an Ethernet address in any of libpcap's spellings (xx:xx:.., xx-xx-.., xx.xx.., xxxx.xxxx.xxxx, 12 hex digits). */
export function parseMac(s: string): Uint8Array | undefined {
  const hex = s.replace(/[:.\-]/g, '');
  let parts: string[];
  if (/[:\-]/.test(s) || (s.split('.').length === 6)) parts = s.split(/[:.\-]/);
  else if (/^[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}$/.test(s) || /^[0-9A-Fa-f]{12}$/.test(s)) parts = hex.match(/../g)!;
  else return undefined;
  if (parts.length !== 6 || parts.some((p) => !/^[0-9A-Fa-f]{1,2}$/.test(p))) return undefined;
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}
