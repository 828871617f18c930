/**
 * kprobes / kretprobes (perf `kprobe` PMU: config1 = function name, config2 = offset), ksyscall (the arch's
 * syscall wrapper symbol, `__x64_sys_<name>`), and kprobe.multi (BPF_LINK_CREATE BPF_TRACE_KPROBE_MULTI with
 * symbol names). Kernels without kprobes fail with the errno the kernel gives (ENOENT/EOPNOTSUPP): ask the
 * feature probe first (features.kprobes()).
 */
import { arch } from 'node:process';
import { KernelError } from '../../errors.js';
import { AttachType, Uapi } from '../../isa/uapi.js';
import type { KernelProgram } from '../load/program.js';
import { cString } from '../sys/bpf.js';
import { addressOf } from '../sys/ffi.js';
import { PerfAttrFlag } from '../sys/attr.js';
import { perfEventOpen } from '../sys/perf.js';
import { BpfLink, linkCreate } from './link.js';
import { attachPerfEventFd, type PerfEventLink } from './perf-event.js';
import { pmuType, retprobeBit } from './tracefs.js';

/** Attach a KPROBE program to a kernel function entry (or return with `retprobe`). */
export function attachKprobe(prog: KernelProgram, symbol: string, opts: { retprobe?: boolean; offset?: number; cookie?: bigint } = {}): PerfEventLink {
  const type = pmuType('kprobe');
  if (type === undefined) {
    throw new KernelError('perf_event_open', 2, 'ENOENT', { detail: `kprobe ${symbol}`, hint: 'this kernel has no kprobe PMU (CONFIG_KPROBE_EVENTS off)' });
  }
  const fd = perfEventOpen({
    type,
    config: opts.retprobe ? 1n << BigInt(retprobeBit('kprobe')) : 0n,
    config1: symbol,
    config2: opts.offset ?? 0,
    samplePeriod: 1,
    flags: PerfAttrFlag.disabled,
    pid: -1,
    cpu: 0,
  });
  return attachPerfEventFd(prog, fd, opts.retprobe ? 'kretprobe' : 'kprobe', symbol, opts);
}

/** The kernel symbol of a syscall's entry wrapper on this architecture (`getpid` → `__x64_sys_getpid`). */
export function syscallSymbol(name: string): string {
  const prefix = arch === 'arm64' ? '__arm64_sys_' : arch === 'x64' ? '__x64_sys_' : '__se_sys_';
  return prefix + name;
}

/** Attach to a syscall by name (libbpf's ksyscall): a kprobe on the arch's syscall wrapper. */
export function attachKsyscall(prog: KernelProgram, syscall: string, opts: { retprobe?: boolean } = {}): PerfEventLink {
  return attachKprobe(prog, syscallSymbol(syscall), opts);
}

/** Attach to many kernel functions at once (BPF_TRACE_KPROBE_MULTI, 5.18+). */
export function attachKprobeMulti(prog: KernelProgram, symbols: string[], opts: { retprobe?: boolean; cookies?: bigint[] } = {}): BpfLink {
  const strs = symbols.map(cString);
  const ptrs = Buffer.alloc(8 * symbols.length);
  strs.forEach((s, i) => ptrs.writeBigUInt64LE(addressOf(s), i * 8));
  let cookies: Buffer | undefined;
  if (opts.cookies) {
    cookies = Buffer.alloc(8 * symbols.length);
    opts.cookies.forEach((c, i) => cookies!.writeBigUInt64LE(c, i * 8));
  }
  const fd = linkCreate(
    {
      prog_fd: prog.fd,
      attach_type: AttachType.TRACE_KPROBE_MULTI,
      'kprobe_multi.flags': opts.retprobe ? Uapi.BPF_F_KPROBE_MULTI_RETURN : 0,
      'kprobe_multi.cnt': symbols.length,
      'kprobe_multi.syms': ptrs,
      'kprobe_multi.cookies': cookies,
    },
    `kprobe.multi ${symbols.slice(0, 3).join(',')}${symbols.length > 3 ? ',...' : ''}`,
  );
  void strs; // kept alive until here
  return new BpfLink(fd, opts.retprobe ? 'kretprobe.multi' : 'kprobe.multi', symbols.join(','));
}
