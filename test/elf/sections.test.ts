// The SEC() name table: program type, expected attach type, attach target and flags as libbpf maps them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttachType, ProgType, Uapi } from '../../src/isa/uapi.js';
import { SECTION_DEFS, classifySection, progTypeName } from '../../src/elf/sections.js';

const P = ProgType;
const A = AttachType;

const cases: [string, number, number | undefined, string | undefined, number][] = [
  ['kprobe/do_sys_openat2', P.KPROBE, undefined, 'do_sys_openat2', 0],
  ['kretprobe/tcp_sendmsg', P.KPROBE, undefined, 'tcp_sendmsg', 0],
  ['ksyscall/openat', P.KPROBE, undefined, 'openat', 0],
  ['kretsyscall/openat', P.KPROBE, undefined, 'openat', 0],
  ['uprobe//lib/x86_64-linux-gnu/libc.so.6:getpid', P.KPROBE, undefined, '/lib/x86_64-linux-gnu/libc.so.6:getpid', 0],
  ['uretprobe//bin/bash:readline', P.KPROBE, undefined, '/bin/bash:readline', 0],
  ['uprobe.s//bin/bash:readline', P.KPROBE, undefined, '/bin/bash:readline', Uapi.BPF_F_SLEEPABLE],
  ['usdt/libc:setjmp', P.KPROBE, undefined, 'libc:setjmp', 0],
  ['usdt', P.KPROBE, undefined, undefined, 0],
  ['tracepoint/sched/sched_process_exec', P.TRACEPOINT, undefined, 'sched/sched_process_exec', 0],
  ['tp/syscalls/sys_enter_openat', P.TRACEPOINT, undefined, 'syscalls/sys_enter_openat', 0],
  ['raw_tp/sys_enter', P.RAW_TRACEPOINT, undefined, 'sys_enter', 0],
  ['raw_tracepoint/sched_switch', P.RAW_TRACEPOINT, undefined, 'sched_switch', 0],
  ['tp_btf/sched_switch', P.TRACING, A.TRACE_RAW_TP, 'sched_switch', 0],
  ['fentry/do_unlinkat', P.TRACING, A.TRACE_FENTRY, 'do_unlinkat', 0],
  ['fexit/do_unlinkat', P.TRACING, A.TRACE_FEXIT, 'do_unlinkat', 0],
  ['fmod_ret/security_file_open', P.TRACING, A.MODIFY_RETURN, 'security_file_open', 0],
  ['fentry.s/do_unlinkat', P.TRACING, A.TRACE_FENTRY, 'do_unlinkat', Uapi.BPF_F_SLEEPABLE],
  ['lsm/file_open', P.LSM, A.LSM_MAC, 'file_open', 0],
  ['lsm.s/file_open', P.LSM, A.LSM_MAC, 'file_open', Uapi.BPF_F_SLEEPABLE],
  ['iter/task', P.TRACING, A.TRACE_ITER, 'task', 0],
  ['iter.s/task', P.TRACING, A.TRACE_ITER, 'task', Uapi.BPF_F_SLEEPABLE],
  ['perf_event', P.PERF_EVENT, undefined, undefined, 0],
  ['xdp', P.XDP, A.XDP, undefined, 0],
  ['xdp.frags', P.XDP, A.XDP, undefined, Uapi.BPF_F_XDP_HAS_FRAGS],
  ['xdp/devmap', P.XDP, A.XDP_DEVMAP, undefined, 0],
  ['xdp/cpumap', P.XDP, A.XDP_CPUMAP, undefined, 0],
  ['tc', P.SCHED_CLS, undefined, undefined, 0],
  ['tcx/ingress', P.SCHED_CLS, 46 /* BPF_TCX_INGRESS */, undefined, 0],
  ['tcx/egress', P.SCHED_CLS, 47 /* BPF_TCX_EGRESS */, undefined, 0],
  ['classifier', P.SCHED_CLS, undefined, undefined, 0],
  ['action', P.SCHED_ACT, undefined, undefined, 0],
  ['socket', P.SOCKET_FILTER, undefined, undefined, 0],
  ['sk_reuseport', P.SK_REUSEPORT, A.SK_REUSEPORT_SELECT, undefined, 0],
  ['cgroup_skb/ingress', P.CGROUP_SKB, A.CGROUP_INET_INGRESS, undefined, 0],
  ['cgroup_skb/egress', P.CGROUP_SKB, A.CGROUP_INET_EGRESS, undefined, 0],
  ['cgroup/skb', P.CGROUP_SKB, undefined, undefined, 0],
  ['cgroup/sock_create', P.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE, undefined, 0],
  ['cgroup/sock_release', P.CGROUP_SOCK, A.CGROUP_INET_SOCK_RELEASE, undefined, 0],
  ['cgroup/post_bind4', P.CGROUP_SOCK, A.CGROUP_INET4_POST_BIND, undefined, 0],
  ['cgroup/post_bind6', P.CGROUP_SOCK, A.CGROUP_INET6_POST_BIND, undefined, 0],
  ['cgroup/connect4', P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_CONNECT, undefined, 0],
  ['cgroup/connect6', P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_CONNECT, undefined, 0],
  ['cgroup/bind4', P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_BIND, undefined, 0],
  ['cgroup/bind6', P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_BIND, undefined, 0],
  ['cgroup/sendmsg4', P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_SENDMSG, undefined, 0],
  ['cgroup/sendmsg6', P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_SENDMSG, undefined, 0],
  ['cgroup/recvmsg4', P.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_RECVMSG, undefined, 0],
  ['cgroup/recvmsg6', P.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_RECVMSG, undefined, 0],
  ['cgroup/getpeername4', P.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETPEERNAME, undefined, 0],
  ['cgroup/getsockname6', P.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETSOCKNAME, undefined, 0],
  ['cgroup/sysctl', P.CGROUP_SYSCTL, A.CGROUP_SYSCTL, undefined, 0],
  ['cgroup/getsockopt', P.CGROUP_SOCKOPT, A.CGROUP_GETSOCKOPT, undefined, 0],
  ['cgroup/setsockopt', P.CGROUP_SOCKOPT, A.CGROUP_SETSOCKOPT, undefined, 0],
  ['cgroup/dev', P.CGROUP_DEVICE, A.CGROUP_DEVICE, undefined, 0],
  ['sockops', P.SOCK_OPS, A.CGROUP_SOCK_OPS, undefined, 0],
  ['sk_msg', P.SK_MSG, A.SK_MSG_VERDICT, undefined, 0],
  ['sk_skb/stream_parser', P.SK_SKB, A.SK_SKB_STREAM_PARSER, undefined, 0],
  ['sk_skb/stream_verdict', P.SK_SKB, A.SK_SKB_STREAM_VERDICT, undefined, 0],
  ['sk_skb', P.SK_SKB, undefined, undefined, 0],
  ['sk_lookup', P.SK_LOOKUP, A.SK_LOOKUP, undefined, 0],
  ['flow_dissector', P.FLOW_DISSECTOR, A.FLOW_DISSECTOR, undefined, 0],
  ['lwt_in', P.LWT_IN, undefined, undefined, 0],
  ['lwt_out', P.LWT_OUT, undefined, undefined, 0],
  ['lwt_xmit', P.LWT_XMIT, undefined, undefined, 0],
  ['lwt_seg6local', P.LWT_SEG6LOCAL, undefined, undefined, 0],
  ['struct_ops/tcp_init', P.STRUCT_OPS, undefined, 'tcp_init', 0],
  ['syscall', P.SYSCALL, undefined, undefined, Uapi.BPF_F_SLEEPABLE],
  ['netfilter', 32 /* BPF_PROG_TYPE_NETFILTER */, 45 /* BPF_NETFILTER */, undefined, 0],
];

test('section names map to libbpf program types, attach types, targets and flags', () => {
  for (const [name, type, attach, target, flags] of cases) {
    const info = classifySection(name);
    assert.ok(info, `${name} recognised`);
    assert.equal(info.progType, type, `${name} type`);
    assert.equal(info.expectedAttachType, attach, `${name} attach type`);
    assert.equal(info.attachTo, target, `${name} target`);
    assert.equal(info.flags, flags, `${name} flags`);
  }
});

test('exact-match entries do not match with a suffix; prefix entries need a slash', () => {
  assert.equal(classifySection('xdpfoo'), undefined);
  assert.equal(classifySection('socketx'), undefined);
  assert.equal(classifySection('kprobefoo'), undefined);
  assert.equal(classifySection('.text'), undefined);
  assert.equal(classifySection('cgroup_skb/sideways'), undefined);
  // A bare prefix section is accepted (attach target given at attach time).
  assert.equal(classifySection('kprobe')?.progType, P.KPROBE);
  assert.equal(classifySection('kprobe')?.attachTo, undefined);
});

test('the table has no duplicate entries and names types', () => {
  const seen = new Set<string>();
  for (const d of SECTION_DEFS) {
    const key = `${d.prefix}${d.hasTarget ? '+' : ''}`;
    assert.ok(!seen.has(key), key);
    seen.add(key);
  }
  assert.equal(progTypeName(P.XDP), 'xdp');
  assert.equal(progTypeName(32 /* BPF_PROG_TYPE_NETFILTER */), 'netfilter');
});
