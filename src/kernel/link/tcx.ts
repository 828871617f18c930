/**
 * tc attachment of SCHED_CLS programs. tcx: BPF_LINK_CREATE with BPF_TCX_INGRESS / BPF_TCX_EGRESS (Linux 6.6+).
 * On kernels without tcx (LINK_CREATE refuses the attach type: EINVAL / EOPNOTSUPP / ENOTSUPP) `mode: 'auto'`
 * (the default) falls back to classic tc — a clsact qdisc + direct-action cls_bpf filter over rtnetlink
 * (tc-classic.ts); `mode: 'tcx' | 'classic'` forces one. The link's `mode` says which was used.
 */
import { KernelError } from '../../errors.js';
import type { KernelProgram } from '../load/program.js';
import { bpfTry } from '../sys/bpf.js';
import { kernelError } from '../sys/errno.js';
import { FdRef } from '../sys/fd.js';
import { ifNameToIndex } from '../sys/net.js';
import { AttachType } from '../../isa/uapi.js';
import { BpfLink } from './link.js';
import { attachTcClassic, TcClassicLink, type TcClassicOptions } from './tc-classic.js';

/** A tcx link (a BPF link). */
export class TcxLink extends BpfLink {
  /** How it is attached: 'tcx' (classic tc links say 'classic'). */
  readonly mode = 'tcx' as const;
}

/** Either kind of tc attachment; `mode` tells them apart. */
export type TcLink = TcxLink | TcClassicLink;

/** Options for `attachTcx`. */
export interface TcAttachOptions extends TcClassicOptions {
  /** 'tcx' (BPF link only), 'classic' (clsact + cls_bpf only) or 'auto' (tcx, else classic; default). */
  mode?: 'tcx' | 'classic' | 'auto';
}

/** errnos with which LINK_CREATE says "no tcx in this kernel". */
const NO_TCX = new Set([22 /* EINVAL */, 95 /* EOPNOTSUPP */, 524 /* ENOTSUPP */]);

/** Attach a SCHED_CLS program to an interface's ingress or egress (tcx link; classic tc when tcx is missing). */
export function attachTcx(prog: KernelProgram, iface: string | number, direction: 'ingress' | 'egress', opts: TcAttachOptions & { mode: 'tcx' }): TcxLink;
export function attachTcx(prog: KernelProgram, iface: string | number, direction: 'ingress' | 'egress', opts: TcAttachOptions & { mode: 'classic' }): TcClassicLink;
export function attachTcx(prog: KernelProgram, iface: string | number, direction: 'ingress' | 'egress', opts?: TcAttachOptions): TcLink;
export function attachTcx(prog: KernelProgram, iface: string | number, direction: 'ingress' | 'egress', opts: TcAttachOptions = {}): TcLink {
  const mode = opts.mode ?? 'auto';
  if (mode === 'classic') return attachTcClassic(prog, iface, direction, opts);
  const ifindex = typeof iface === 'number' ? iface : ifNameToIndex(iface);
  const name = typeof iface === 'string' ? iface : `ifindex ${iface}`;
  const what = `tcx ${direction} on ${name}`;
  const { ret } = bpfTry('LINK_CREATE', { prog_fd: prog.fd, target_ifindex: ifindex, attach_type: direction === 'ingress' ? AttachType.TCX_INGRESS : AttachType.TCX_EGRESS });
  if (ret >= 0) return new TcxLink(new FdRef(ret, `link ${what}`), 'tcx', `${name} ${direction}`);
  const tcxError = kernelError('LINK_CREATE', -ret, { detail: what });
  if (mode === 'tcx' || !NO_TCX.has(-ret)) throw tcxError;
  try {
    return attachTcClassic(prog, ifindex, direction, opts);
  } catch (e) {
    if (e instanceof KernelError) {
      throw new KernelError(e.command, e.errno, e.errnoName, { detail: `classic tc ${direction} on ${name}, after tcx failed with ${tcxError.errnoName}`, hint: e.hint, log: e.log });
    }
    throw e;
  }
}
