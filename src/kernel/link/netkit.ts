/**
 * netkit programs (Linux 6.7+, CONFIG_NETKIT): BPF_LINK_CREATE of a SCHED_CLS program with BPF_NETKIT_PRIMARY
 * or BPF_NETKIT_PEER on the primary netkit device's ifindex (the peer's programs are managed through the
 * primary). A kernel without netkit refuses the attach type (EINVAL); a device that is not a netkit primary
 * gives ENXIO.
 */
import { AttachType } from '../../isa/uapi.js';
import type { KernelProgram } from '../load/program.js';
import { bpfTry } from '../sys/bpf.js';
import { kernelError } from '../sys/errno.js';
import { FdRef } from '../sys/fd.js';
import { ifNameToIndex } from '../sys/net.js';
import { BpfLink } from './link.js';

/** A netkit link. */
export class NetkitLink extends BpfLink {
  constructor(
    fd: FdRef,
    target: string,
    readonly ifindex: number,
    readonly side: 'primary' | 'peer',
  ) {
    super(fd, 'netkit', target);
  }
}

/** Attach a SCHED_CLS program to a netkit pair: `side` 'primary' or 'peer', `iface` the primary device. */
export function attachNetkit(prog: KernelProgram, iface: string | number, side: 'primary' | 'peer'): NetkitLink {
  const ifindex = typeof iface === 'number' ? iface : ifNameToIndex(iface);
  const name = typeof iface === 'string' ? iface : `ifindex ${iface}`;
  const what = `netkit ${side} on ${name}`;
  const { ret } = bpfTry('LINK_CREATE', { prog_fd: prog.fd, target_ifindex: ifindex, attach_type: side === 'primary' ? AttachType.NETKIT_PRIMARY : AttachType.NETKIT_PEER });
  if (ret >= 0) return new NetkitLink(new FdRef(ret, `link ${what}`), `${name} ${side}`, ifindex, side);
  const hint =
    -ret === 6 /* ENXIO */
      ? `${name} is not the primary device of a netkit pair`
      : -ret === 22 /* EINVAL */
        ? 'the kernel refused the netkit attach type (no CONFIG_NETKIT, or a kernel older than 6.7)'
        : undefined;
  throw kernelError('LINK_CREATE', -ret, { detail: what, hint });
}
