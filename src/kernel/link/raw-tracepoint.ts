/** Raw tracepoints (BPF_RAW_TRACEPOINT_OPEN): no tracefs needed, ~0.13 ms to detach. Also tp_btf programs. */
import type { KernelProgram } from '../load/program.js';
import { bpf } from '../sys/bpf.js';
import { FdRef } from '../sys/fd.js';
import { BpfLink } from './link.js';

/** Attach a RAW_TRACEPOINT program to the raw tracepoint `name` (`sys_enter`, `sched_switch`...). */
export function attachRawTracepoint(prog: KernelProgram, name: string): BpfLink {
  const { ret } = bpf('RAW_TRACEPOINT_OPEN', { name, prog_fd: prog.fd }, { detail: `raw_tracepoint ${name}` });
  return new BpfLink(new FdRef(ret, `raw_tp ${name}`), 'raw_tracepoint', name);
}
