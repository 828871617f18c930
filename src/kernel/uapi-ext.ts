/**
 * UAPI constants newer than the system header src/isa/uapi.ts is generated from (linux-libc-dev 6.1 here),
 * as found in Linux 6.18's BTF (`enum bpf_attach_type` etc.). Merged with the generated tables so the kernel
 * backend can name them. When uapi.ts is regenerated from a newer header these become redundant (same values).
 */
import { AttachType, LinkType, MapType, ProgType } from '../isa/uapi.js';

/** Attach types added after Linux 6.1. */
export const AttachTypeExt = {
  ...AttachType,
  STRUCT_OPS: 44,
  NETFILTER: 45,
  TCX_INGRESS: 46,
  TCX_EGRESS: 47,
  TRACE_UPROBE_MULTI: 48,
  CGROUP_UNIX_CONNECT: 49,
  CGROUP_UNIX_SENDMSG: 50,
  CGROUP_UNIX_RECVMSG: 51,
  CGROUP_UNIX_GETPEERNAME: 52,
  CGROUP_UNIX_GETSOCKNAME: 53,
  NETKIT_PRIMARY: 54,
  NETKIT_PEER: 55,
  TRACE_KPROBE_SESSION: 56,
  TRACE_UPROBE_SESSION: 57,
} as const;

/** Link types added after Linux 6.1. */
export const LinkTypeExt = { ...LinkType, NETFILTER: 10, TCX: 11, UPROBE_MULTI: 12, NETKIT: 13, SOCKMAP: 14 } as const;

/** Map types added after Linux 6.1. */
export const MapTypeExt = { ...MapType, CGRP_STORAGE: 32, ARENA: 33 } as const;

/** Program types added after Linux 6.1. */
export const ProgTypeExt = { ...ProgType, NETFILTER: 32 } as const;

function invert(o: Record<string, number>): Map<number, string> {
  const m = new Map<number, string>();
  for (const [k, v] of Object.entries(o)) if (!m.has(v)) m.set(v, k.toLowerCase());
  return m;
}
const progNames = invert(ProgTypeExt);
const mapNames = invert(MapTypeExt);
const attachNames = invert(AttachTypeExt);
const linkNames = invert(LinkTypeExt);

/** `xdp`, `socket_filter`, ... (bpftool's spelling), or `type <n>`. */
export const progTypeName = (t: number): string => progNames.get(t) ?? `type ${t}`;
/** `hash`, `percpu_array`, ... */
export const mapTypeName = (t: number): string => mapNames.get(t) ?? `type ${t}`;
/** `cgroup_inet_ingress`, `tcx_ingress`, ... */
export const attachTypeName = (t: number): string => attachNames.get(t) ?? `type ${t}`;
/** `raw_tracepoint`, `perf_event`, `tcx`, ... */
export const linkTypeName = (t: number): string => linkNames.get(t) ?? `type ${t}`;

/** The number of a program type by (case-insensitive) name (`xdp`, `SOCKET_FILTER`). */
export function progTypeByName(name: string): number | undefined {
  return (ProgTypeExt as Record<string, number>)[name.toUpperCase()];
}
/** The number of a map type by name. */
export function mapTypeByName(name: string): number | undefined {
  return (MapTypeExt as Record<string, number>)[name.toUpperCase()];
}
