/**
 * cgroup programs (skb ingress/egress, sock_create, connect4/6, bind4/6, sysctl, ...) on a cgroup v2
 * directory: a BPF cgroup link (BPF_LINK_CREATE), falling back to BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI
 * (then `close()` does BPF_PROG_DETACH).
 */
import { closeSync, openSync } from 'node:fs';
import { KernelError } from '../../errors.js';
import type { KernelProgram } from '../load/program.js';
import { bpf, bpfTry } from '../sys/bpf.js';
import { FdRef } from '../sys/fd.js';
import { dupFd } from '../sys/process.js';
import { attachTypeName } from '../../isa/names.js';
import { Uapi } from '../../isa/uapi.js';
import { BpfLink, DetachOnceLink, type Link } from './link.js';

/**
 * A legacy (PROG_ATTACH) cgroup attachment. It holds its own duplicate of the program's descriptor, so detaching
 * names the right program even when the caller closed the program first and its fd number was reused.
 */
export class CgroupAttachment extends DetachOnceLink {
  readonly kind = 'cgroup';
  private readonly prog: FdRef;
  constructor(
    readonly target: string,
    private readonly path: string,
    progFd: number,
    private readonly attachType: number,
  ) {
    super();
    this.prog = new FdRef(dupFd(progFd, target), `cgroup program ${target}`);
  }
  /** BPF_PROG_DETACH from the cgroup. */
  protected detach(): void {
    const fd = openSync(this.path, 'r');
    try {
      bpf('PROG_DETACH', { target_fd: fd, attach_bpf_fd: this.prog.fd, attach_type: this.attachType }, { detail: this.target });
    } finally {
      closeSync(fd);
      this.prog.close();
    }
  }
}

/** Attach a cgroup program to a cgroup v2 directory with the given attach type (default: the program's). */
export function attachCgroup(prog: KernelProgram, cgroupPath: string, attachType?: number): Link {
  const at = attachType ?? prog.expectedAttachType;
  if (at === undefined) throw new KernelError('LINK_CREATE', 22, 'EINVAL', { detail: prog.name, hint: 'cgroup attach needs an attach type (the program has no expected attach type)' });
  let dir: number;
  try {
    dir = openSync(cgroupPath, 'r');
  } catch (e) {
    throw new KernelError('open', 2, 'ENOENT', { detail: cgroupPath, hint: `cannot open cgroup directory: ${(e as Error).message}` });
  }
  const target = `${cgroupPath} ${attachTypeName(at)}`;
  try {
    const { ret } = bpfTry('LINK_CREATE', { prog_fd: prog.fd, target_fd: dir, attach_type: at });
    if (ret >= 0) return new BpfLink(new FdRef(ret, `cgroup link ${target}`), 'cgroup', target);
    bpf('PROG_ATTACH', { target_fd: dir, attach_bpf_fd: prog.fd, attach_type: at, attach_flags: Uapi.BPF_F_ALLOW_MULTI }, { detail: target });
    return new CgroupAttachment(target, cgroupPath, prog.fd, at);
  } finally {
    closeSync(dir);
  }
}
