/**
 * The one table mapping libbpf `SEC()` names to program type, expected attach type, load flags and whether the
 * rest of the name is an attach target — following libbpf's section_defs (libbpf 1.x strict matching: an entry
 * ending in `+` matches the exact name or `name/...`; other entries match exactly).
 */
import { AttachType, ProgType, Uapi } from '../isa/uapi.js';

/** What kind of attach target the section suffix names (drives attach in the kernel backend). */
export type AttachKind =
  | 'none'
  | 'kprobe'
  | 'kretprobe'
  | 'ksyscall'
  | 'kretsyscall'
  | 'kprobe.multi'
  | 'kretprobe.multi'
  | 'uprobe'
  | 'uretprobe'
  | 'uprobe.multi'
  | 'uretprobe.multi'
  | 'usdt'
  | 'tracepoint'
  | 'raw_tracepoint'
  | 'btf'
  | 'iter'
  | 'struct_ops';

/** One row of the section table. */
export interface SectionDef {
  /** Section name or prefix (without the `+` marker). */
  prefix: string;
  /** True when `prefix/anything` also matches (libbpf's `+`), the part after `/` being the attach target. */
  hasTarget: boolean;
  progType: number;
  /** Expected attach type for BPF_PROG_LOAD, if any. */
  attachType?: number;
  /** True when the program may be loaded without the expected attach type on older kernels (libbpf's _OPT). */
  attachTypeOptional?: boolean;
  sleepable?: boolean;
  xdpFrags?: boolean;
  /** The attach target is a BTF type (fentry/fexit/lsm/tp_btf/iter). */
  btfTarget?: boolean;
  /** How the suffix is used for attaching. */
  attach: AttachKind;
}

const P = ProgType;
const A = AttachType;

function d(prefix: string, progType: number, attachType: number | undefined, extra: Partial<SectionDef> = {}): SectionDef {
  const hasTarget = prefix.endsWith('+');
  return { prefix: hasTarget ? prefix.slice(0, -1) : prefix, hasTarget, progType, attachType, attach: 'none', ...extra };
}

/** libbpf's section table, in match order (more specific names before their prefixes). */
export const SECTION_DEFS: readonly SectionDef[] = [
  d('socket', P.SOCKET_FILTER, undefined),
  d('sk_reuseport/migrate', P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT_OR_MIGRATE),
  d('sk_reuseport', P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT),
  d('kprobe+', P.KPROBE, undefined, { attach: 'kprobe' }),
  d('uprobe+', P.KPROBE, undefined, { attach: 'uprobe' }),
  d('uprobe.s+', P.KPROBE, undefined, { attach: 'uprobe', sleepable: true }),
  d('kretprobe+', P.KPROBE, undefined, { attach: 'kretprobe' }),
  d('uretprobe+', P.KPROBE, undefined, { attach: 'uretprobe' }),
  d('uretprobe.s+', P.KPROBE, undefined, { attach: 'uretprobe', sleepable: true }),
  d('kprobe.multi+', P.KPROBE, A.TRACE_KPROBE_MULTI, { attach: 'kprobe.multi' }),
  d('kretprobe.multi+', P.KPROBE, A.TRACE_KPROBE_MULTI, { attach: 'kretprobe.multi' }),
  d('kprobe.session+', P.KPROBE, A.TRACE_KPROBE_SESSION, { attach: 'kprobe.multi' }),
  d('uprobe.multi+', P.KPROBE, A.TRACE_UPROBE_MULTI, { attach: 'uprobe.multi' }),
  d('uretprobe.multi+', P.KPROBE, A.TRACE_UPROBE_MULTI, { attach: 'uretprobe.multi' }),
  d('uprobe.multi.s+', P.KPROBE, A.TRACE_UPROBE_MULTI, { attach: 'uprobe.multi', sleepable: true }),
  d('uretprobe.multi.s+', P.KPROBE, A.TRACE_UPROBE_MULTI, { attach: 'uretprobe.multi', sleepable: true }),
  d('ksyscall+', P.KPROBE, undefined, { attach: 'ksyscall' }),
  d('kretsyscall+', P.KPROBE, undefined, { attach: 'kretsyscall' }),
  d('usdt+', P.KPROBE, undefined, { attach: 'usdt' }),
  d('usdt.s+', P.KPROBE, undefined, { attach: 'usdt', sleepable: true }),
  d('tc/ingress', P.SCHED_CLS, A.TCX_INGRESS),
  d('tc/egress', P.SCHED_CLS, A.TCX_EGRESS),
  d('tcx/ingress', P.SCHED_CLS, A.TCX_INGRESS),
  d('tcx/egress', P.SCHED_CLS, A.TCX_EGRESS),
  d('netkit/primary', P.SCHED_CLS, A.NETKIT_PRIMARY),
  d('netkit/peer', P.SCHED_CLS, A.NETKIT_PEER),
  d('tc', P.SCHED_CLS, undefined),
  d('classifier', P.SCHED_CLS, undefined),
  d('action', P.SCHED_ACT, undefined),
  d('tracepoint+', P.TRACEPOINT, undefined, { attach: 'tracepoint' }),
  d('tp+', P.TRACEPOINT, undefined, { attach: 'tracepoint' }),
  d('raw_tracepoint+', P.RAW_TRACEPOINT, undefined, { attach: 'raw_tracepoint' }),
  d('raw_tp+', P.RAW_TRACEPOINT, undefined, { attach: 'raw_tracepoint' }),
  d('raw_tracepoint.w+', P.RAW_TRACEPOINT_WRITABLE, undefined, { attach: 'raw_tracepoint' }),
  d('raw_tp.w+', P.RAW_TRACEPOINT_WRITABLE, undefined, { attach: 'raw_tracepoint' }),
  d('tp_btf+', P.TRACING, A.TRACE_RAW_TP, { attach: 'btf', btfTarget: true }),
  d('fentry+', P.TRACING, A.TRACE_FENTRY, { attach: 'btf', btfTarget: true }),
  d('fmod_ret+', P.TRACING, A.MODIFY_RETURN, { attach: 'btf', btfTarget: true }),
  d('fexit+', P.TRACING, A.TRACE_FEXIT, { attach: 'btf', btfTarget: true }),
  d('fentry.s+', P.TRACING, A.TRACE_FENTRY, { attach: 'btf', btfTarget: true, sleepable: true }),
  d('fmod_ret.s+', P.TRACING, A.MODIFY_RETURN, { attach: 'btf', btfTarget: true, sleepable: true }),
  d('fexit.s+', P.TRACING, A.TRACE_FEXIT, { attach: 'btf', btfTarget: true, sleepable: true }),
  d('freplace+', P.EXT, undefined, { attach: 'btf', btfTarget: true }),
  d('lsm+', P.LSM, A.LSM_MAC, { attach: 'btf', btfTarget: true }),
  d('lsm.s+', P.LSM, A.LSM_MAC, { attach: 'btf', btfTarget: true, sleepable: true }),
  d('lsm_cgroup+', P.LSM, A.LSM_CGROUP, { attach: 'btf', btfTarget: true }),
  d('iter+', P.TRACING, A.TRACE_ITER, { attach: 'iter', btfTarget: true }),
  d('iter.s+', P.TRACING, A.TRACE_ITER, { attach: 'iter', btfTarget: true, sleepable: true }),
  d('syscall', P.SYSCALL, undefined, { sleepable: true }),
  d('xdp.frags/devmap', P.XDP, A.XDP_DEVMAP, { xdpFrags: true }),
  d('xdp/devmap', P.XDP, A.XDP_DEVMAP),
  d('xdp.frags/cpumap', P.XDP, A.XDP_CPUMAP, { xdpFrags: true }),
  d('xdp/cpumap', P.XDP, A.XDP_CPUMAP),
  d('xdp.frags', P.XDP, A.XDP, { xdpFrags: true }),
  d('xdp', P.XDP, A.XDP, { attachTypeOptional: true }),
  d('perf_event', P.PERF_EVENT, undefined),
  d('lwt_in', P.LWT_IN, undefined),
  d('lwt_out', P.LWT_OUT, undefined),
  d('lwt_xmit', P.LWT_XMIT, undefined),
  d('lwt_seg6local', P.LWT_SEG6LOCAL, undefined),
  d('sockops', P.SOCK_OPS, A.CGROUP_SOCK_OPS, { attachTypeOptional: true }),
  d('sk_skb/stream_parser', P.SK_SKB, A.SK_SKB_STREAM_PARSER, { attachTypeOptional: true }),
  d('sk_skb/stream_verdict', P.SK_SKB, A.SK_SKB_STREAM_VERDICT, { attachTypeOptional: true }),
  d('sk_skb/verdict', P.SK_SKB, A.SK_SKB_VERDICT, { attachTypeOptional: true }),
  d('sk_skb', P.SK_SKB, undefined),
  d('sk_msg', P.SK_MSG, A.SK_MSG_VERDICT, { attachTypeOptional: true }),
  d('lirc_mode2', P.LIRC_MODE2, A.LIRC_MODE2, { attachTypeOptional: true }),
  d('flow_dissector', P.FLOW_DISSECTOR, A.FLOW_DISSECTOR, { attachTypeOptional: true }),
  d('cgroup_skb/ingress', P.CGROUP_SKB, A.CGROUP_INET_INGRESS, { attachTypeOptional: true }),
  d('cgroup_skb/egress', P.CGROUP_SKB, A.CGROUP_INET_EGRESS, { attachTypeOptional: true }),
  d('cgroup/skb', P.CGROUP_SKB, undefined),
  d('cgroup/sock_create', P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE),
  d('cgroup/sock_release', P.CGROUP_SOCK, A.CGROUP_INET_SOCK_RELEASE),
  d('cgroup/sock', P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE, { attachTypeOptional: true }),
  d('cgroup/post_bind4', P.CGROUP_SOCK, A.CGROUP_INET4_POST_BIND),
  d('cgroup/post_bind6', P.CGROUP_SOCK, A.CGROUP_INET6_POST_BIND),
  d('cgroup/bind4', P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_BIND),
  d('cgroup/bind6', P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_BIND),
  d('cgroup/connect4', P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_CONNECT),
  d('cgroup/connect6', P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_CONNECT),
  d('cgroup/connect_unix', P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_CONNECT),
  d('cgroup/sendmsg4', P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_SENDMSG),
  d('cgroup/sendmsg6', P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_SENDMSG),
  d('cgroup/sendmsg_unix', P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_SENDMSG),
  d('cgroup/recvmsg4', P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_RECVMSG),
  d('cgroup/recvmsg6', P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_RECVMSG),
  d('cgroup/recvmsg_unix', P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_RECVMSG),
  d('cgroup/getpeername4', P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETPEERNAME),
  d('cgroup/getpeername6', P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETPEERNAME),
  d('cgroup/getpeername_unix', P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETPEERNAME),
  d('cgroup/getsockname4', P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETSOCKNAME),
  d('cgroup/getsockname6', P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETSOCKNAME),
  d('cgroup/getsockname_unix', P.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_GETSOCKNAME),
  d('cgroup/sysctl', P.CGROUP_SYSCTL, A.CGROUP_SYSCTL),
  d('cgroup/getsockopt', P.CGROUP_SOCKOPT, A.CGROUP_GETSOCKOPT),
  d('cgroup/setsockopt', P.CGROUP_SOCKOPT, A.CGROUP_SETSOCKOPT),
  d('cgroup/dev', P.CGROUP_DEVICE, A.CGROUP_DEVICE, { attachTypeOptional: true }),
  d('struct_ops+', P.STRUCT_OPS, undefined, { attach: 'struct_ops' }),
  d('struct_ops.s+', P.STRUCT_OPS, undefined, { attach: 'struct_ops', sleepable: true }),
  d('sk_lookup', P.SK_LOOKUP, A.SK_LOOKUP),
  d('netfilter', P.NETFILTER, A.NETFILTER),
];

/** The result of matching a section name. */
export interface SectionInfo {
  def: SectionDef;
  progType: number;
  expectedAttachType?: number;
  /** The attach target (the part after `prefix/`), when the section has one. */
  attachTo?: string;
  /** BPF_PROG_LOAD flags implied by the section (BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS). */
  flags: number;
}

/** Match a section name against the table; undefined when it is not a program section libbpf knows. */
export function classifySection(name: string): SectionInfo | undefined {
  for (const def of SECTION_DEFS) {
    let attachTo: string | undefined;
    if (name === def.prefix) attachTo = undefined;
    else if (def.hasTarget && name.startsWith(def.prefix + '/')) attachTo = name.slice(def.prefix.length + 1);
    else continue;
    let flags = 0;
    if (def.sleepable) flags |= Uapi.BPF_F_SLEEPABLE;
    if (def.xdpFrags) flags |= Uapi.BPF_F_XDP_HAS_FRAGS;
    return { def, progType: def.progType, expectedAttachType: def.attachType, attachTo: attachTo || undefined, flags };
  }
  return undefined;
}

/** Names of program and attach types live with the UAPI tables (src/isa/names.ts). */
export { progTypeName, attachTypeName } from '../isa/names.js';
