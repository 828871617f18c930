/**
 * Names of UAPI enum values as bpftool prints them (`xdp`, `percpu_array`, `cgroup_inet_ingress`, `tcx`), and
 * the reverse lookup, derived from the generated tables in uapi.ts so no name is spelled twice.
 */
import { AttachType, LinkType, MapType, ProgType } from './uapi.js';

function invert(o: Record<string, number>): Map<number, string> {
  const m = new Map<number, string>();
  for (const [k, v] of Object.entries(o)) if (!m.has(v)) m.set(v, k.toLowerCase());
  return m;
}
const progNames = invert(ProgType);
const mapNames = invert(MapType);
const attachNames = invert(AttachType);
const linkNames = invert(LinkType);

/** `xdp`, `socket_filter`, ... (bpftool's spelling), or `type <n>` for a value this table does not know. */
export const progTypeName = (t: number): string => progNames.get(t) ?? `type ${t}`;
/** `hash`, `percpu_array`, ... */
export const mapTypeName = (t: number): string => mapNames.get(t) ?? `type ${t}`;
/** `cgroup_inet_ingress`, `tcx_ingress`, ... */
export const attachTypeName = (t: number): string => attachNames.get(t) ?? `type ${t}`;
/** `raw_tracepoint`, `perf_event`, `tcx`, ... */
export const linkTypeName = (t: number): string => linkNames.get(t) ?? `type ${t}`;

/** The number of a program type by (case-insensitive) name (`xdp`, `SOCKET_FILTER`). */
export function progTypeByName(name: string): number | undefined {
  return (ProgType as Record<string, number>)[name.toUpperCase()];
}
/** The number of a map type by (case-insensitive) name. */
export function mapTypeByName(name: string): number | undefined {
  return (MapType as Record<string, number>)[name.toUpperCase()];
}
