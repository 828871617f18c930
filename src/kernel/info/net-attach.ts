/**
 * What BPF programs are attached to the network of this namespace, as `bpftool net` shows it: XDP per interface
 * (rtnetlink RTM_GETLINK, IFLA_XDP: link-based and netlink-attached alike), tcx ingress/egress (BPF_PROG_QUERY
 * by ifindex), netkit primary/peer on netkit devices, classic tc cls_bpf filters on clsact hooks (rtnetlink),
 * and the namespace's flow dissector and sk_lookup programs (BPF_PROG_QUERY on /proc/self/ns/net).
 */
import { closeSync, openSync } from 'node:fs';
import { AttachType } from '../../isa/uapi.js';
import { listTcFilters } from '../link/tc-classic.js';
import { attrString, NetlinkMessage, parseAttrs, withRtnetlink } from '../sys/netlink.js';
import { NL } from '../sys/netlink-consts.js';
import { queryAttached } from './query.js';

/** A network interface of this namespace with its XDP state (from RTM_GETLINK). */
export interface NetInterface {
  ifindex: number;
  name: string;
  /** rtnetlink link kind (`veth`, `netkit`, ...; empty for plain devices). */
  kind: string;
  /** XDP programs: one per mode in use. */
  xdp: { mode: 'driver' | 'generic' | 'offload'; progId: number }[];
}

/** One program on a hook of an interface. */
export interface NetAttachment {
  ifindex: number;
  devname: string;
  /** `xdp`, `tcx`, `netkit`, `tc` (classic cls_bpf). */
  kind: 'xdp' | 'tcx' | 'netkit' | 'tc';
  /** xdp: driver | generic | offload; tcx/tc: ingress | egress; netkit: primary | peer. */
  attachPoint: string;
  progId: number;
  /** The BPF link holding it (tcx / netkit with links; 0 or absent otherwise). */
  linkId?: number;
  /** Position in the hook's run order (tcx, netkit, tc). */
  position?: number;
  /** Classic tc: the filter's name, priority and handle. */
  name?: string;
  priority?: number;
  handle?: number;
}

/** Namespace-wide hooks (flow dissector, sk_lookup). */
export interface NetnsAttachment {
  kind: 'flow_dissector' | 'sk_lookup';
  progId: number;
  linkId?: number;
}

/** Every interface of this network namespace with its XDP programs (rtnetlink link dump). */
export function listInterfaces(): NetInterface[] {
  const replies = withRtnetlink((s) => s.request(new NetlinkMessage(NL.RTM_GETLINK, NL.NLM_F_DUMP).bytes(Buffer.alloc(16)), 'RTM_GETLINK'));
  const out: NetInterface[] = [];
  for (const r of replies) {
    if (r.type !== NL.RTM_NEWLINK || r.payload.length < 16) continue;
    const attrs = parseAttrs(r.payload, 16);
    const iface: NetInterface = { ifindex: r.payload.readInt32LE(4), name: attrString(attrs.get(NL.IFLA_IFNAME)) ?? '', kind: '', xdp: [] };
    const li = attrs.get(NL.IFLA_LINKINFO);
    if (li) iface.kind = attrString(parseAttrs(li).get(NL.IFLA_INFO_KIND)) ?? '';
    const x = attrs.get(NL.IFLA_XDP);
    if (x) {
      const xa = parseAttrs(x);
      const u32 = (t: number) => {
        const b = xa.get(t);
        return b && b.length >= 4 ? b.readUInt32LE(0) : 0;
      };
      const attached = xa.get(NL.IFLA_XDP_ATTACHED)?.[0] ?? 0;
      const single = u32(NL.IFLA_XDP_PROG_ID);
      if (attached === NL.XDP_ATTACHED_DRV) iface.xdp.push({ mode: 'driver', progId: single });
      else if (attached === NL.XDP_ATTACHED_SKB) iface.xdp.push({ mode: 'generic', progId: single });
      else if (attached === NL.XDP_ATTACHED_HW) iface.xdp.push({ mode: 'offload', progId: single });
      else if (attached === NL.XDP_ATTACHED_MULTI) {
        for (const [mode, t] of [['driver', NL.IFLA_XDP_DRV_PROG_ID], ['generic', NL.IFLA_XDP_SKB_PROG_ID], ['offload', NL.IFLA_XDP_HW_PROG_ID]] as const) {
          const id = u32(t);
          if (id) iface.xdp.push({ mode, progId: id });
        }
      }
    }
    out.push(iface);
  }
  return out.sort((a, b) => a.ifindex - b.ifindex);
}

/** Options of `listNetAttachments`. */
export interface NetListOptions {
  /** Only this interface (name or index). */
  dev?: string | number;
  /** Also list classic tc filters (one rtnetlink dump per interface and direction; default true). */
  classicTc?: boolean;
}

/** The programs attached to the interfaces of this namespace (optionally one interface), hook by hook. */
export function listNetAttachments(opts: NetListOptions = {}): NetAttachment[] {
  let ifaces = listInterfaces();
  if (opts.dev !== undefined) ifaces = ifaces.filter((i) => i.ifindex === opts.dev || i.name === opts.dev);
  const out: NetAttachment[] = [];
  for (const i of ifaces) {
    const base = { ifindex: i.ifindex, devname: i.name };
    for (const x of i.xdp) out.push({ ...base, kind: 'xdp', attachPoint: x.mode, progId: x.progId });
    const mprog: [NetAttachment['kind'], string, number][] = [
      ['tcx', 'ingress', AttachType.TCX_INGRESS],
      ['tcx', 'egress', AttachType.TCX_EGRESS],
    ];
    if (i.kind === 'netkit') mprog.push(['netkit', 'primary', AttachType.NETKIT_PRIMARY], ['netkit', 'peer', AttachType.NETKIT_PEER]);
    for (const [kind, point, at] of mprog) {
      const q = queryAttached({ ifindex: i.ifindex }, at);
      q?.progIds.forEach((id, n) => out.push({ ...base, kind, attachPoint: point, progId: id, linkId: q.linkIds[n] ?? 0, position: n }));
    }
    if (opts.classicTc !== false) {
      for (const dir of ['ingress', 'egress'] as const) {
        listTcFilters(i.ifindex, dir)
          .filter((f) => f.kind === 'bpf' && f.progId)
          .forEach((f, n) => out.push({ ...base, kind: 'tc', attachPoint: dir, progId: f.progId!, name: f.name, priority: f.priority, handle: f.handle, position: n }));
      }
    }
  }
  return out;
}

/** The flow dissector and sk_lookup programs of this network namespace. */
export function listNetnsAttachments(): NetnsAttachment[] {
  const fd = openSync('/proc/self/ns/net', 'r');
  try {
    const out: NetnsAttachment[] = [];
    for (const [kind, at] of [['flow_dissector', AttachType.FLOW_DISSECTOR], ['sk_lookup', AttachType.SK_LOOKUP]] as const) {
      const q = queryAttached({ fd }, at);
      q?.progIds.forEach((id, n) => out.push({ kind, progId: id, ...(q.linkIds[n] ? { linkId: q.linkIds[n] } : {}) }));
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
