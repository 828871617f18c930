/**
 * XDP: BPF_LINK_CREATE with attach type BPF_XDP on an interface, in native (driver) mode when the driver
 * supports it, generic (skb) mode otherwise — or as asked. The mode used is reported on the link.
 */
import { AttachType, XdpFlags } from '../../isa/uapi.js';
import type { KernelProgram } from '../load/program.js';
import { bpfTry } from '../sys/bpf.js';
import { kernelError } from '../sys/errno.js';
import { FdRef } from '../sys/fd.js';
import { ifNameToIndex } from '../sys/net.js';
import { BpfLink } from './link.js';

/** XDP_FLAGS_* (linux/if_link.h), generated into src/isa/uapi.ts. */
export { XdpFlags };

/** An XDP attachment. */
export class XdpLink extends BpfLink {
  constructor(
    fd: FdRef,
    target: string,
    readonly ifindex: number,
    readonly mode: 'native' | 'generic',
  ) {
    super(fd, 'xdp', target);
  }
}

/** Attach an XDP program to an interface (name or index). `mode` 'auto' tries native then generic. */
export function attachXdp(prog: KernelProgram, iface: string | number, opts: { mode?: 'auto' | 'native' | 'generic' } = {}): XdpLink {
  const ifindex = typeof iface === 'number' ? iface : ifNameToIndex(iface);
  const name = typeof iface === 'string' ? iface : `ifindex ${iface}`;
  const mode = opts.mode ?? 'auto';
  const tries: ('native' | 'generic')[] = mode === 'auto' ? ['native', 'generic'] : [mode];
  let last = 0;
  for (const m of tries) {
    const { ret } = bpfTry('LINK_CREATE', {
      prog_fd: prog.fd,
      target_ifindex: ifindex,
      attach_type: AttachType.XDP,
      flags: m === 'native' ? XdpFlags.DRV_MODE : XdpFlags.SKB_MODE,
    });
    if (ret >= 0) return new XdpLink(new FdRef(ret, `xdp ${name}`), `${name} (${m})`, ifindex, m);
    last = -ret;
    // EBUSY: something else is attached — no point trying another mode.
    if (last === 16) break;
  }
  throw kernelError('LINK_CREATE', last, { detail: `xdp on ${name} (${mode})` });
}
