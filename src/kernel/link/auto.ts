/**
 * Attaching a program by what its ELF section says (libbpf's auto-attach): tracepoints, raw tracepoints,
 * tp_btf / fentry / fexit / LSM, kprobes / ksyscalls / kprobe.multi, uprobes (`uprobe/<binary>:<symbol>`),
 * uprobe_multi links (`uprobe.multi/<binary>:<glob>`, `uretprobe.multi/...`),
 * USDT probes (`usdt/<binary>:<provider>:<name>`), iterators; network and cgroup programs need a target from
 * the caller (interface, cgroup path, socket, sockmap); sk_lookup and flow_dissector default to this process's
 * network namespace.
 */
import { KernelError } from '../../errors.js';
import { classifySection } from '../../elf/sections.js';
import { ProgType } from '../../isa/uapi.js';
import type { KernelProgram } from '../load/program.js';
import { progTypeName } from '../../isa/names.js';
import { AttachType } from '../../isa/uapi.js';
import { attachCgroup } from './cgroup.js';
import { attachIter } from './iter.js';
import { attachKprobe, attachKprobeMulti, attachKsyscall } from './kprobe.js';
import type { Link } from './link.js';
import { attachPerfEvent } from './perf-event.js';
import { attachRawTracepoint } from './raw-tracepoint.js';
import { attachFlowDissector, attachSkLookup } from './sk-lookup.js';
import { attachSockMap } from './sockmap.js';
import { attachNetkit } from './netkit.js';
import { attachSocketFilter } from './socket-filter.js';
import { attachTcx } from './tcx.js';
import { attachTracepoint } from './tracepoint.js';
import { attachTracing } from './tracing.js';
import { attachUprobe } from './uprobe.js';
import { attachUprobeMulti } from './uprobe-multi.js';
import { attachUsdt } from './usdt.js';
import { attachXdp } from './xdp.js';

/** Targets for programs whose section does not say where to attach. */
export interface AttachTargets {
  /** Interface for XDP and tc programs. */
  iface?: string;
  /** cgroup v2 directory for cgroup programs. */
  cgroup?: string;
  /** Socket fd for socket filters. */
  socketFd?: number;
  /** Sampling frequency for perf_event programs. */
  frequency?: number;
  /** Process id for uprobes. */
  pid?: number;
  xdpMode?: 'auto' | 'native' | 'generic';
  /** SOCKMAP / SOCKHASH (a KernelMap or a map fd) for sk_msg and sk_skb programs. */
  sockMap?: { readonly fd: number; readonly name?: string } | number;
  /** Network namespace file (default /proc/self/ns/net) for sk_lookup and flow_dissector programs. */
  netns?: string;
}

function need<T>(v: T | undefined, what: string, prog: KernelProgram): T {
  if (v === undefined) throw new KernelError('attach', 22, 'EINVAL', { detail: prog.name, hint: `this ${progTypeName(prog.type)} program needs ${what}` });
  return v;
}

/** Attach a program loaded from an ELF section, working out how from the section name. */
export function attachBySection(prog: KernelProgram, t: AttachTargets = {}): Link {
  const section = prog.spec?.section ?? '';
  const info = classifySection(section);
  const to = prog.spec?.attachTo ?? info?.attachTo;
  const kind = info?.def.attach ?? 'none';
  switch (kind) {
    case 'tracepoint': {
      const [cat, name] = need(to, 'a tracepoint category/name', prog).split('/');
      return attachTracepoint(prog, cat!, need(name, 'a tracepoint name (tracepoint/<category>/<name>)', prog));
    }
    case 'raw_tracepoint':
      return attachRawTracepoint(prog, need(to, 'a raw tracepoint name', prog));
    case 'btf':
      return attachTracing(prog);
    case 'iter':
      return attachIter(prog);
    case 'kprobe':
    case 'kretprobe': {
      const target = need(to, 'a kernel function', prog);
      const [sym, off] = target.split('+');
      return attachKprobe(prog, sym!, { retprobe: kind === 'kretprobe', offset: off ? Number(off) : 0 });
    }
    case 'ksyscall':
    case 'kretsyscall':
      return attachKsyscall(prog, need(to, 'a syscall name', prog), { retprobe: kind === 'kretsyscall' });
    case 'kprobe.multi':
    case 'kretprobe.multi':
      return attachKprobeMulti(prog, need(to, 'kernel function names', prog).split(','), { retprobe: kind === 'kretprobe.multi' });
    case 'uprobe':
    case 'uretprobe': {
      const target = need(to, 'binary:function', prog);
      const i = target.lastIndexOf(':');
      if (i < 0) throw new KernelError('attach', 22, 'EINVAL', { detail: prog.name, hint: `uprobe target ${target} is not binary:function` });
      const fn = target.slice(i + 1);
      const [sym, off] = fn.split('+');
      return attachUprobe(prog, { binary: target.slice(0, i), symbol: sym || undefined, offset: off ? Number(off) : undefined, pid: t.pid, retprobe: kind === 'uretprobe' });
    }
    case 'uprobe.multi':
    case 'uretprobe.multi': {
      // uprobe.multi/<binary>:<glob pattern> (libbpf: the path runs to the first ':').
      const target = need(to, 'binary:pattern (uprobe.multi/<binary>:<pattern>, or call attachUprobeMulti)', prog);
      const i = target.indexOf(':');
      if (i <= 0 || i === target.length - 1) throw new KernelError('attach', 22, 'EINVAL', { detail: prog.name, hint: `uprobe.multi target ${target} is not binary:pattern` });
      return attachUprobeMulti(prog, { binary: target.slice(0, i), symbols: target.slice(i + 1), pid: t.pid, retprobe: kind === 'uretprobe.multi' });
    }
    case 'usdt': {
      // usdt/<binary>:<provider>:<name> (libbpf); a bare SEC("usdt") needs attachUsdt().
      const target = need(to, 'a USDT target (usdt/<binary>:<provider>:<name>, or call attachUsdt)', prog);
      const parts = target.split(':');
      if (parts.length < 3 || parts.some((p) => p === '')) throw new KernelError('attach', 22, 'EINVAL', { detail: prog.name, hint: `usdt target ${target} is not binary:provider:name` });
      const name = parts.pop()!;
      const provider = parts.pop()!;
      return attachUsdt(prog, { binary: parts.join(':'), provider, name, pid: t.pid });
    }
  }
  switch (prog.type) {
    case ProgType.XDP:
      return attachXdp(prog, need(t.iface, 'an interface (--iface)', prog), { mode: t.xdpMode });
    case ProgType.SCHED_CLS: {
      // netkit/primary, netkit/peer: the interface is the netkit pair's primary device.
      const nk = prog.expectedAttachType ?? info?.expectedAttachType;
      if (nk === AttachType.NETKIT_PRIMARY || nk === AttachType.NETKIT_PEER) {
        return attachNetkit(prog, need(t.iface, 'the primary netkit device (--iface)', prog), nk === AttachType.NETKIT_PEER ? 'peer' : 'primary');
      }
      const egress = prog.expectedAttachType === AttachType.TCX_EGRESS || /egress/.test(section);
      return attachTcx(prog, need(t.iface, 'an interface (--iface)', prog), egress ? 'egress' : 'ingress');
    }
    case ProgType.CGROUP_SKB:
    case ProgType.CGROUP_SOCK:
    case ProgType.CGROUP_SOCK_ADDR:
    case ProgType.CGROUP_SOCKOPT:
    case ProgType.CGROUP_SYSCTL:
    case ProgType.CGROUP_DEVICE:
    case ProgType.SOCK_OPS:
      return attachCgroup(prog, need(t.cgroup, 'a cgroup v2 directory (--cgroup)', prog), prog.expectedAttachType ?? info?.expectedAttachType);
    case ProgType.SOCKET_FILTER:
      return attachSocketFilter(prog, need(t.socketFd, 'a socket fd', prog));
    case ProgType.SK_LOOKUP:
      return attachSkLookup(prog, t.netns);
    case ProgType.FLOW_DISSECTOR:
      return attachFlowDissector(prog, t.netns);
    case ProgType.SK_MSG:
    case ProgType.SK_SKB:
      return attachSockMap(prog, need(t.sockMap, 'a SOCKMAP or SOCKHASH map', prog), prog.expectedAttachType ?? info?.expectedAttachType);
    case ProgType.PERF_EVENT:
      return attachPerfEvent(prog, { frequency: t.frequency });
  }
  throw new KernelError('attach', 95, 'EOPNOTSUPP', { detail: `${prog.name} (${section || progTypeName(prog.type)})`, hint: 'bpfkit does not know how to attach this program type automatically' });
}
