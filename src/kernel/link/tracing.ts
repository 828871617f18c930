/**
 * BTF-attached tracing programs: tp_btf, fentry, fexit, fmod_ret, LSM (the target was fixed at load time by
 * attach_btf_id). BPF_LINK_CREATE with the program's expected attach type, falling back to
 * BPF_RAW_TRACEPOINT_OPEN with no name on kernels without tracing links.
 */
import { AttachType } from '../../isa/uapi.js';
import type { KernelProgram } from '../load/program.js';
import { bpf, bpfTry } from '../sys/bpf.js';
import { FdRef } from '../sys/fd.js';
import { attachTypeName } from '../../isa/names.js';
import { BpfLink } from './link.js';

/** Attach a loaded TRACING / LSM program to the target it was loaded for. */
export function attachTracing(prog: KernelProgram, opts: { cookie?: bigint } = {}): BpfLink {
  const at = prog.expectedAttachType ?? AttachType.TRACE_FENTRY;
  const target = `${attachTypeName(at)} ${prog.spec?.attachTo ?? ''}`.trim();
  const { ret } = bpfTry('LINK_CREATE', { prog_fd: prog.fd, attach_type: at, 'tracing.cookie': opts.cookie });
  if (ret >= 0) return new BpfLink(new FdRef(ret, target), 'tracing', target);
  const { ret: fd } = bpf('RAW_TRACEPOINT_OPEN', { prog_fd: prog.fd }, { detail: target });
  return new BpfLink(new FdRef(fd, target), 'tracing', target);
}
