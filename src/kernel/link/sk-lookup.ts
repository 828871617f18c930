/** sk_lookup programs on a network namespace (BPF_LINK_CREATE, BPF_SK_LOOKUP, target = netns fd). */
import { closeSync, openSync } from 'node:fs';
import { KernelError } from '../../errors.js';
import { AttachType } from '../../isa/uapi.js';
import type { KernelProgram } from '../load/program.js';
import { BpfLink, linkCreate } from './link.js';

/** Open a network namespace file (`/proc/PID/ns/net`, `/run/netns/NAME`); a typed error naming it when that fails. */
function openNetns(netnsPath: string): number {
  try {
    return openSync(netnsPath, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new KernelError('open', -(err.errno ?? -2), err.code ?? 'ENOENT', { detail: netnsPath, hint: `cannot open network namespace: ${err.message}` });
  }
}

/** Attach an SK_LOOKUP program to a netns (default: this process's, /proc/self/ns/net). */
export function attachSkLookup(prog: KernelProgram, netnsPath = '/proc/self/ns/net'): BpfLink {
  const ns = openNetns(netnsPath);
  try {
    return new BpfLink(linkCreate({ prog_fd: prog.fd, target_fd: ns, attach_type: AttachType.SK_LOOKUP }, `sk_lookup ${netnsPath}`), 'sk_lookup', netnsPath);
  } finally {
    closeSync(ns);
  }
}

/** Attach a FLOW_DISSECTOR program to a netns. */
export function attachFlowDissector(prog: KernelProgram, netnsPath = '/proc/self/ns/net'): BpfLink {
  const ns = openNetns(netnsPath);
  try {
    return new BpfLink(linkCreate({ prog_fd: prog.fd, target_fd: ns, attach_type: AttachType.FLOW_DISSECTOR }, `flow_dissector ${netnsPath}`), 'flow_dissector', netnsPath);
  } finally {
    closeSync(ns);
  }
}
