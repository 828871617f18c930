/**
 * Classic tc attachment over rtnetlink, the fallback libbpf and cilium use on kernels without tcx: a clsact
 * qdisc on the interface (created when absent), then the SCHED_CLS program as a direct-action cls_bpf filter
 * on its ingress or egress hook. Closing deletes exactly that filter (by priority and handle) and removes the
 * clsact qdisc only when bpfkit created it and no filter remains on either hook. Works in the caller's
 * network namespace. Filters live in the kernel until deleted: they do not go away when the process exits.
 */
import { KernelError } from '../../errors.js';
import type { KernelProgram } from '../load/program.js';
import { ifNameToIndex } from '../sys/net.js';
import { attrString, NetlinkMessage, parseAttrs, withRtnetlink, type NetlinkReply, type NetlinkSocket } from '../sys/netlink.js';
import { htons, NL, tcHandle } from '../sys/netlink-consts.js';
import { DetachOnceLink } from './link.js';

/** The hook of a clsact qdisc. */
export type TcDirection = 'ingress' | 'egress';

/** Options for a classic tc attachment. */
export interface TcClassicOptions {
  /** Filter priority (`pref`, 1-65535); default: the kernel picks one (49152 for the first filter, then lower). */
  priority?: number;
  /** Filter handle; default: the kernel picks one. */
  handle?: number;
  /** Replace a filter with the same priority and handle instead of failing with EEXIST. */
  replace?: boolean;
  /** The filter's name as tc shows it (default `<program name>:[<program id>]`, like libbpf). */
  name?: string;
}

/** A cls_bpf filter as the kernel lists it. */
export interface TcFilter {
  ifindex: number;
  direction: TcDirection;
  /** `tcm_parent` (TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS/EGRESS)). */
  parent: number;
  handle: number;
  priority: number;
  /** Ethernet protocol (host order; 3 = ETH_P_ALL). */
  protocol: number;
  /** Classifier kind (`bpf`). */
  kind: string;
  chain?: number;
  /** For cls_bpf: the program's name, id, tag (hex), and whether it runs in direct-action mode. */
  name?: string;
  progId?: number;
  tag?: string;
  directAction?: boolean;
}

const parentOf = (d: TcDirection) => tcHandle(NL.TC_H_CLSACT, d === 'ingress' ? NL.TC_H_MIN_INGRESS : NL.TC_H_MIN_EGRESS);

/** Interfaces whose clsact qdisc this process created (and so may remove). */
const createdQdiscs = new Set<number>();

function tcmsg(ifindex: number, handle: number, parent: number, info: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt8(NL.AF_UNSPEC, 0);
  b.writeInt32LE(ifindex, 4);
  b.writeUInt32LE(handle >>> 0, 8);
  b.writeUInt32LE(parent >>> 0, 12);
  b.writeUInt32LE(info >>> 0, 16);
  return b;
}

const resolve = (iface: string | number): { ifindex: number; name: string } =>
  typeof iface === 'number' ? { ifindex: iface, name: `ifindex ${iface}` } : { ifindex: ifNameToIndex(iface), name: iface };

/** Kinds of the qdiscs on an interface's `ffff:` (ingress/clsact) slot, from an RTM_GETQDISC dump. */
function rootlessQdiscs(s: NetlinkSocket, ifindex: number): string[] {
  const replies = s.request(new NetlinkMessage(NL.RTM_GETQDISC, NL.NLM_F_DUMP).bytes(tcmsg(ifindex, 0, 0, 0)), 'RTM_GETQDISC');
  const out: string[] = [];
  for (const r of replies) {
    if (r.type !== NL.RTM_NEWQDISC || r.payload.length < 20) continue;
    if (r.payload.readInt32LE(4) !== ifindex || r.payload.readUInt32LE(12) !== NL.TC_H_CLSACT) continue;
    out.push(attrString(parseAttrs(r.payload, 20).get(NL.TCA_KIND)) ?? '');
  }
  return out;
}

/** True when the interface has a clsact qdisc. */
export function hasClsact(iface: string | number): boolean {
  const { ifindex } = resolve(iface);
  return withRtnetlink((s) => rootlessQdiscs(s, ifindex).includes('clsact'));
}

/**
 * Create the clsact qdisc unless the interface has one. Returns true when this call created it. Throws
 * `KernelError('RTM_NEWQDISC', EEXIST)` when a plain `ingress` qdisc holds the slot (it has no egress hook).
 */
export function ensureClsact(iface: string | number): boolean {
  const { ifindex, name } = resolve(iface);
  return withRtnetlink((s) => ensureClsactOn(s, ifindex, name));
}

function ensureClsactOn(s: NetlinkSocket, ifindex: number, name: string): boolean {
  const msg = new NetlinkMessage(NL.RTM_NEWQDISC, NL.NLM_F_CREATE | NL.NLM_F_EXCL)
    .bytes(tcmsg(ifindex, tcHandle(NL.TC_H_CLSACT, 0), NL.TC_H_CLSACT, 0))
    .str(NL.TCA_KIND, 'clsact');
  try {
    s.request(msg, 'RTM_NEWQDISC', `clsact on ${name}`);
    createdQdiscs.add(ifindex);
    return true;
  } catch (e) {
    if (!(e instanceof KernelError) || e.errnoName !== 'EEXIST') throw e;
    const kinds = rootlessQdiscs(s, ifindex);
    if (!kinds.includes('clsact')) {
      throw new KernelError('RTM_NEWQDISC', e.errno, 'EEXIST', { detail: `clsact on ${name}`, hint: `the interface has a ${kinds[0] ?? 'different'} qdisc at ffff: instead of clsact` });
    }
    return false;
  }
}

/** Delete the interface's clsact qdisc (and with it every filter on it). */
export function deleteClsact(iface: string | number): void {
  const { ifindex, name } = resolve(iface);
  withRtnetlink((s) => deleteClsactOn(s, ifindex, name));
}

function deleteClsactOn(s: NetlinkSocket, ifindex: number, name: string): void {
  const msg = new NetlinkMessage(NL.RTM_DELQDISC, 0).bytes(tcmsg(ifindex, tcHandle(NL.TC_H_CLSACT, 0), NL.TC_H_CLSACT, 0)).str(NL.TCA_KIND, 'clsact');
  s.request(msg, 'RTM_DELQDISC', `clsact on ${name}`);
  createdQdiscs.delete(ifindex);
}

function parseFilter(r: NetlinkReply, direction: TcDirection): TcFilter | undefined {
  if (r.type !== NL.RTM_NEWTFILTER || r.payload.length < 20) return undefined;
  const p = r.payload;
  const info = p.readUInt32LE(16);
  const attrs = parseAttrs(p, 20);
  const f: TcFilter = {
    ifindex: p.readInt32LE(4),
    direction,
    handle: p.readUInt32LE(8),
    parent: p.readUInt32LE(12),
    priority: info >>> 16,
    protocol: htons(info & 0xffff),
    kind: attrString(attrs.get(NL.TCA_KIND)) ?? '',
  };
  const chain = attrs.get(NL.TCA_CHAIN);
  if (chain && chain.length >= 4) f.chain = chain.readUInt32LE(0);
  const opts = attrs.get(NL.TCA_OPTIONS);
  if (opts && f.kind === 'bpf') {
    const o = parseAttrs(opts);
    f.name = attrString(o.get(NL.TCA_BPF_NAME));
    const id = o.get(NL.TCA_BPF_ID);
    if (id && id.length >= 4) f.progId = id.readUInt32LE(0);
    const tag = o.get(NL.TCA_BPF_TAG);
    if (tag) f.tag = tag.toString('hex');
    const flags = o.get(NL.TCA_BPF_FLAGS);
    f.directAction = !!flags && flags.length >= 4 && (flags.readUInt32LE(0) & NL.TCA_BPF_FLAG_ACT_DIRECT) !== 0;
  }
  return f;
}

function listOn(s: NetlinkSocket, ifindex: number, direction: TcDirection): TcFilter[] {
  const msg = new NetlinkMessage(NL.RTM_GETTFILTER, NL.NLM_F_DUMP).bytes(tcmsg(ifindex, 0, parentOf(direction), 0));
  const out: TcFilter[] = [];
  // The dump lists each classifier instance (handle 0, no options) before its filters: keep the filters.
  for (const r of s.request(msg, 'RTM_GETTFILTER')) {
    const f = parseFilter(r, direction);
    if (f && f.handle !== 0) out.push(f);
  }
  return out;
}

/**
 * The filters on an interface's clsact hook (all kinds, not only bpfkit's). Empty when the interface has no
 * clsact qdisc. Throws `KernelError('if_nametoindex', ENODEV)` for a missing interface.
 */
export function listTcFilters(iface: string | number, direction: TcDirection): TcFilter[] {
  const { ifindex } = resolve(iface);
  return withRtnetlink((s) => (rootlessQdiscs(s, ifindex).includes('clsact') ? listOn(s, ifindex, direction) : []));
}

/** A program attached as a cls_bpf filter on a clsact hook. */
export class TcClassicLink extends DetachOnceLink {
  readonly kind = 'tc';
  /** How it is attached: always 'classic' here (tcx links say 'tcx'). */
  readonly mode = 'classic' as const;
  readonly target: string;

  constructor(
    readonly ifindex: number,
    readonly direction: TcDirection,
    readonly priority: number,
    readonly handle: number,
    /** True when this attachment created the clsact qdisc. */
    readonly createdQdisc: boolean,
    ifname: string,
  ) {
    super();
    this.target = `${ifname} ${direction} (tc pref ${priority} handle 0x${handle.toString(16)})`;
  }

  /** The filter as the kernel lists it now (undefined when it is gone). */
  filter(): TcFilter | undefined {
    return withRtnetlink((s) => {
      if (!rootlessQdiscs(s, this.ifindex).includes('clsact')) return undefined;
      return listOn(s, this.ifindex, this.direction).find((f) => f.priority === this.priority && f.handle === this.handle);
    });
  }

  /**
   * Delete this filter (RTM_DELTFILTER with its priority and handle); then, when bpfkit created the clsact
   * qdisc and no filter is left on either hook, delete the qdisc (run once, by the first `close()`). A filter or
   * interface already gone counts as detached.
   */
  protected detach(): void {
    withRtnetlink((s) => {
      const msg = new NetlinkMessage(NL.RTM_DELTFILTER, 0)
        .bytes(tcmsg(this.ifindex, this.handle, parentOf(this.direction), (this.priority << 16) | htons(NL.ETH_P_ALL)))
        .str(NL.TCA_KIND, 'bpf');
      try {
        s.request(msg, 'RTM_DELTFILTER', this.target);
      } catch (e) {
        if (!(e instanceof KernelError) || !['ENOENT', 'ENODEV', 'EINVAL'].includes(e.errnoName)) throw e;
        // Gone already (EINVAL: the qdisc itself is gone, so is the filter).
      }
      if (!createdQdiscs.has(this.ifindex)) return;
      try {
        if (!rootlessQdiscs(s, this.ifindex).includes('clsact')) return void createdQdiscs.delete(this.ifindex);
        if (listOn(s, this.ifindex, 'ingress').length || listOn(s, this.ifindex, 'egress').length) return;
        deleteClsactOn(s, this.ifindex, `ifindex ${this.ifindex}`);
      } catch (e) {
        if (e instanceof KernelError && (e.errnoName === 'ENODEV' || e.errnoName === 'ENOENT')) return void createdQdiscs.delete(this.ifindex);
        throw e;
      }
    });
  }
}

/**
 * Attach a SCHED_CLS program as a direct-action cls_bpf filter on the interface's clsact ingress or egress
 * hook, creating the clsact qdisc when absent. The returned link's `close()` removes it. Throws `KernelError`
 * from the kernel (`RTM_NEWTFILTER` EEXIST when that priority/handle is taken, EINVAL for a program that is
 * not SCHED_CLS, EPERM without CAP_NET_ADMIN) — a qdisc created for a failed attach is removed again.
 */
export function attachTcClassic(prog: KernelProgram, iface: string | number, direction: TcDirection, opts: TcClassicOptions = {}): TcClassicLink {
  const { ifindex, name } = resolve(iface);
  const priority = opts.priority ?? 0;
  const handle = opts.handle ?? 0;
  if (!Number.isInteger(priority) || priority < 0 || priority > 0xffff) {
    throw new KernelError('RTM_NEWTFILTER', 22, 'EINVAL', { detail: name, hint: `tc priority ${priority} is not in 1..65535` });
  }
  const filterName = opts.name ?? `${prog.name}:[${prog.id}]`;
  return withRtnetlink((s) => {
    const created = ensureClsactOn(s, ifindex, name);
    try {
      const msg = new NetlinkMessage(NL.RTM_NEWTFILTER, NL.NLM_F_CREATE | NL.NLM_F_ECHO | (opts.replace ? NL.NLM_F_REPLACE : NL.NLM_F_EXCL))
        .bytes(tcmsg(ifindex, handle, parentOf(direction), (priority << 16) | htons(NL.ETH_P_ALL)))
        .str(NL.TCA_KIND, 'bpf')
        .nest(NL.TCA_OPTIONS, (m) => {
          m.u32(NL.TCA_BPF_FD, prog.fd).str(NL.TCA_BPF_NAME, filterName).u32(NL.TCA_BPF_FLAGS, NL.TCA_BPF_FLAG_ACT_DIRECT);
        });
      const replies = s.request(msg, 'RTM_NEWTFILTER', `cls_bpf ${direction} on ${name}`);
      // NLM_F_ECHO: the kernel sends the new filter back, with the priority and handle it chose.
      let f = replies.map((r) => parseFilter(r, direction)).find((x) => x && x.handle !== 0);
      if (!f) {
        const id = prog.id;
        f = listOn(s, ifindex, direction).find((x) => x.progId === id && (!priority || x.priority === priority) && (!handle || x.handle === handle));
      }
      if (!f) throw new KernelError('RTM_NEWTFILTER', 2, 'ENOENT', { detail: `cls_bpf ${direction} on ${name}`, hint: 'the filter was accepted but is not listed' });
      return new TcClassicLink(ifindex, direction, f.priority, f.handle, created, name);
    } catch (e) {
      if (created) {
        try {
          deleteClsactOn(s, ifindex, name);
        } catch {
          /* best effort: report the attach failure */
        }
      }
      throw e;
    }
  });
}
