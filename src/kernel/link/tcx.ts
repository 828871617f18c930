/**
 * tcx: BPF_LINK_CREATE with BPF_TCX_INGRESS / BPF_TCX_EGRESS (Linux 6.6+) for SCHED_CLS programs.
 * TODO: the classic clsact qdisc + cls_bpf (netlink) fallback for older kernels is not implemented.
 */
import type { KernelProgram } from '../load/program.js';
import { ifNameToIndex } from '../sys/net.js';
import { AttachTypeExt } from '../uapi-ext.js';
import { BpfLink, linkCreate } from './link.js';

/** Attach a SCHED_CLS program to an interface's ingress or egress with a tcx link. */
export function attachTcx(prog: KernelProgram, iface: string | number, direction: 'ingress' | 'egress'): BpfLink {
  const ifindex = typeof iface === 'number' ? iface : ifNameToIndex(iface);
  const name = typeof iface === 'string' ? iface : `ifindex ${iface}`;
  const fd = linkCreate(
    { prog_fd: prog.fd, target_ifindex: ifindex, attach_type: direction === 'ingress' ? AttachTypeExt.TCX_INGRESS : AttachTypeExt.TCX_EGRESS },
    `tcx ${direction} on ${name}`,
  );
  return new BpfLink(fd, 'tcx', `${name} ${direction}`);
}
