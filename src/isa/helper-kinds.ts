/**
 * Helper prototypes at the kernel's level of detail (used by the verifier): what each argument must be (the
 * kernel's ARG_* kinds, which the C types of helpers.ts cannot express: key vs value vs raw memory, size pairs,
 * callbacks), what the result is, which
 * program types may call the helper, and whether it invalidates packet pointers. Helpers missing here are refused
 * as unsupported rather than guessed.
 */
import { HelperId } from './helpers.js';
import { ProgType } from './uapi.js';

/** Argument kinds (kernel ARG_*). */
export type ArgKind =
  /** ARG_ANYTHING: any initialised value. */
  | 'any'
  /** CONST_PTR_TO_MAP. */
  | 'map'
  /** Pointer to an initialised key of the map's key_size. */
  | 'key'
  /** Pointer to an initialised value of the map's value_size. */
  | 'value'
  /** Pointer to value_size writable bytes (pop/peek). */
  | 'uninit_value'
  /** Pointer to initialised readable memory; its size is the next argument. */
  | 'mem'
  /** Like `mem`, or NULL with a zero size. */
  | 'mem_or_null'
  /** Pointer to writable memory the helper fills; size is the next argument. */
  | 'uninit_mem'
  /** Size of the previous memory argument, > 0. */
  | 'size'
  /** Size of the previous memory argument, may be 0. */
  | 'size_or_zero'
  /** The program's context pointer. */
  | 'ctx'
  /** The context pointer or NULL (ARG_PTR_TO_CTX_OR_NULL). */
  | 'ctx_or_null'
  /** A constant allocation size (ringbuf reserve). */
  | 'alloc_size'
  /** A ring buffer record to release (submit/discard). */
  | 'ringbuf_mem'
  /** A callback function (lddw of a function). */
  | 'func'
  /** A stack pointer or NULL (callback context). */
  | 'stack_or_null'
  /** ARG_PTR_TO_SOCK_COMMON: a non-NULL socket pointer (sock_common, sock or tcp_sock). */
  | 'sock_common'
  /** A referenced socket to release (bpf_sk_release: ARG_PTR_TO_BTF_ID_SOCK_COMMON | OBJ_RELEASE). */
  | 'sock_release';

export type RetKind =
  | 'int'
  | 'void'
  | 'map_value_or_null'
  | 'ringbuf_mem_or_null'
  /** PTR_TO_SOCKET_OR_NULL holding a new reference (bpf_sk_lookup_tcp/udp). */
  | 'sock_or_null_acquire'
  /** PTR_TO_SOCK_COMMON_OR_NULL holding a new reference (bpf_skc_lookup_tcp). */
  | 'sock_common_or_null_acquire'
  /** PTR_TO_SOCKET_OR_NULL sharing the argument's reference (bpf_sk_fullsock). */
  | 'sock_or_null_cast'
  /** PTR_TO_TCP_SOCK_OR_NULL sharing the argument's reference (bpf_tcp_sock). */
  | 'tcp_sock_or_null_cast'
  /** PTR_TO_SOCKET_OR_NULL without a reference (bpf_get_listener_sock). */
  | 'sock_or_null';

/** Who may call a helper. */
type Group = 'base' | 'trace' | 'skb' | 'tc' | 'xdp' | 'net' | 'perfmon' | 'sock_addr' | 'sysctl' | 'sock_ops' | 'sk_msg' | 'sk_skb' | 'flow_dissector' | 'cgroup_skb';

export interface VerifierProto {
  args: ArgKind[];
  ret: RetKind;
  groups: Group[];
  /** Invalidates packet pointers (bpf_helper_changes_pkt_data). */
  changesPkt?: boolean;
  /** Calls a callback: bpf_loop or for_each_map_elem. */
  callback?: 'loop' | 'for_each';
}

const P = (args: ArgKind[], ret: RetKind, groups: Group[], extra: Partial<VerifierProto> = {}): VerifierProto => ({ args, ret, groups, ...extra });

const TABLE: Record<string, VerifierProto> = {
  map_lookup_elem: P(['map', 'key'], 'map_value_or_null', ['base']),
  map_update_elem: P(['map', 'key', 'value', 'any'], 'int', ['base']),
  map_delete_elem: P(['map', 'key'], 'int', ['base']),
  map_push_elem: P(['map', 'value', 'any'], 'int', ['base']),
  map_pop_elem: P(['map', 'uninit_value'], 'int', ['base']),
  map_peek_elem: P(['map', 'uninit_value'], 'int', ['base']),
  probe_read: P(['uninit_mem', 'size_or_zero', 'any'], 'int', ['trace']),
  probe_read_str: P(['uninit_mem', 'size_or_zero', 'any'], 'int', ['trace']),
  probe_read_user: P(['uninit_mem', 'size_or_zero', 'any'], 'int', ['perfmon']),
  probe_read_kernel: P(['uninit_mem', 'size_or_zero', 'any'], 'int', ['perfmon']),
  probe_read_user_str: P(['uninit_mem', 'size_or_zero', 'any'], 'int', ['perfmon']),
  probe_read_kernel_str: P(['uninit_mem', 'size_or_zero', 'any'], 'int', ['perfmon']),
  ktime_get_ns: P([], 'int', ['base']),
  ktime_get_boot_ns: P([], 'int', ['base']),
  ktime_get_coarse_ns: P([], 'int', ['base']),
  jiffies64: P([], 'int', ['base']),
  trace_printk: P(['mem', 'size'], 'int', ['perfmon']),
  get_prandom_u32: P([], 'int', ['base']),
  get_smp_processor_id: P([], 'int', ['base']),
  get_numa_node_id: P([], 'int', ['base']),
  tail_call: P(['ctx', 'map', 'any'], 'int', ['base']),
  get_current_pid_tgid: P([], 'int', ['trace']),
  get_current_uid_gid: P([], 'int', ['trace']),
  get_attach_cookie: P(['ctx'], 'int', ['trace']),
  get_current_comm: P(['uninit_mem', 'size'], 'int', ['trace']),
  get_current_task: P([], 'int', ['perfmon']),
  get_current_cgroup_id: P([], 'int', ['trace']),
  send_signal: P(['any'], 'int', ['trace']),
  send_signal_thread: P(['any'], 'int', ['trace']),
  get_stackid: P(['ctx', 'map', 'any'], 'int', ['trace']),
  get_stack: P(['ctx', 'uninit_mem', 'size_or_zero', 'any'], 'int', ['trace']),
  perf_event_output: P(['ctx', 'map', 'any', 'mem', 'size_or_zero'], 'int', ['trace', 'skb', 'xdp', 'sock_addr', 'sysctl', 'sock_ops', 'sk_msg', 'sk_skb']),
  ringbuf_output: P(['map', 'mem', 'size_or_zero', 'any'], 'int', ['base']),
  ringbuf_reserve: P(['map', 'alloc_size', 'any'], 'ringbuf_mem_or_null', ['base']),
  ringbuf_submit: P(['ringbuf_mem', 'any'], 'void', ['base']),
  ringbuf_discard: P(['ringbuf_mem', 'any'], 'void', ['base']),
  ringbuf_query: P(['map', 'any'], 'int', ['base']),
  loop: P(['any', 'func', 'stack_or_null', 'any'], 'int', ['base'], { callback: 'loop' }),
  for_each_map_elem: P(['map', 'func', 'stack_or_null', 'any'], 'int', ['base'], { callback: 'for_each' }),
  redirect: P(['any', 'any'], 'int', ['tc', 'xdp']),
  redirect_map: P(['map', 'any', 'any'], 'int', ['xdp']),
  skb_load_bytes: P(['ctx', 'any', 'uninit_mem', 'size'], 'int', ['skb', 'sk_skb', 'flow_dissector']),
  skb_load_bytes_relative: P(['ctx', 'any', 'uninit_mem', 'size', 'any'], 'int', ['skb']),
  get_socket_cookie: P(['ctx'], 'int', ['skb', 'sk_skb', 'sock_addr', 'sock_ops']),
  get_socket_uid: P(['ctx'], 'int', ['skb', 'sk_skb']),
  skb_store_bytes: P(['ctx', 'any', 'mem', 'size', 'any'], 'int', ['tc', 'sk_skb'], { changesPkt: true }),
  l3_csum_replace: P(['ctx', 'any', 'any', 'any', 'any'], 'int', ['tc'], { changesPkt: true }),
  l4_csum_replace: P(['ctx', 'any', 'any', 'any', 'any'], 'int', ['tc'], { changesPkt: true }),
  clone_redirect: P(['ctx', 'any', 'any'], 'int', ['tc'], { changesPkt: true }),
  skb_vlan_push: P(['ctx', 'any', 'any'], 'int', ['tc'], { changesPkt: true }),
  skb_vlan_pop: P(['ctx'], 'int', ['tc'], { changesPkt: true }),
  skb_change_proto: P(['ctx', 'any', 'any'], 'int', ['tc'], { changesPkt: true }),
  skb_change_type: P(['ctx', 'any'], 'int', ['tc']),
  skb_change_tail: P(['ctx', 'any', 'any'], 'int', ['tc', 'sk_skb'], { changesPkt: true }),
  skb_change_head: P(['ctx', 'any', 'any'], 'int', ['tc', 'sk_skb'], { changesPkt: true }),
  skb_adjust_room: P(['ctx', 'any', 'any', 'any'], 'int', ['tc', 'sk_skb'], { changesPkt: true }),
  skb_pull_data: P(['ctx', 'any'], 'int', ['tc', 'sk_skb'], { changesPkt: true }),
  get_hash_recalc: P(['ctx'], 'int', ['tc']),
  set_hash_invalid: P(['ctx'], 'void', ['tc']),
  set_hash: P(['ctx', 'any'], 'int', ['tc']),
  csum_update: P(['ctx', 'any'], 'int', ['tc']),
  csum_level: P(['ctx', 'any'], 'int', ['tc']),
  get_cgroup_classid: P(['ctx'], 'int', ['tc']),
  get_route_realm: P(['ctx'], 'int', ['tc']),
  csum_diff: P(['mem_or_null', 'size_or_zero', 'mem_or_null', 'size_or_zero', 'any'], 'int', ['tc', 'xdp']),
  xdp_adjust_head: P(['ctx', 'any'], 'int', ['xdp'], { changesPkt: true }),
  xdp_adjust_meta: P(['ctx', 'any'], 'int', ['xdp'], { changesPkt: true }),
  xdp_adjust_tail: P(['ctx', 'any'], 'int', ['xdp'], { changesPkt: true }),
  // Socket-level program types (net/core/filter.c *_func_proto, kernel/bpf/cgroup.c sysctl_func_proto).
  // Partial: sk_lookup_*, sk_release, bind, get/setsockopt from sock_addr, strtol/strtoul and the sk_storage
  // helpers are not listed and so refused as unsupported.
  get_netns_cookie: P(['ctx_or_null'], 'int', ['sock_addr', 'sock_ops', 'sk_msg']),
  sysctl_get_name: P(['ctx', 'uninit_mem', 'size', 'any'], 'int', ['sysctl']),
  sysctl_get_current_value: P(['ctx', 'uninit_mem', 'size'], 'int', ['sysctl']),
  sysctl_get_new_value: P(['ctx', 'uninit_mem', 'size'], 'int', ['sysctl']),
  sysctl_set_new_value: P(['ctx', 'mem', 'size'], 'int', ['sysctl']),
  setsockopt: P(['ctx', 'any', 'any', 'mem', 'size'], 'int', ['sock_ops']),
  getsockopt: P(['ctx', 'any', 'any', 'uninit_mem', 'size'], 'int', ['sock_ops']),
  sock_ops_cb_flags_set: P(['ctx', 'any'], 'int', ['sock_ops']),
  sock_map_update: P(['ctx', 'map', 'key', 'any'], 'int', ['sock_ops']),
  sock_hash_update: P(['ctx', 'map', 'key', 'any'], 'int', ['sock_ops']),
  load_hdr_opt: P(['ctx', 'uninit_mem', 'size', 'any'], 'int', ['sock_ops']),
  store_hdr_opt: P(['ctx', 'mem', 'size', 'any'], 'int', ['sock_ops']),
  reserve_hdr_opt: P(['ctx', 'any', 'any'], 'int', ['sock_ops']),
  msg_redirect_map: P(['ctx', 'map', 'any', 'any'], 'int', ['sk_msg']),
  msg_redirect_hash: P(['ctx', 'map', 'key', 'any'], 'int', ['sk_msg']),
  msg_apply_bytes: P(['ctx', 'any'], 'int', ['sk_msg']),
  msg_cork_bytes: P(['ctx', 'any'], 'int', ['sk_msg']),
  msg_pull_data: P(['ctx', 'any', 'any', 'any'], 'int', ['sk_msg'], { changesPkt: true }),
  msg_push_data: P(['ctx', 'any', 'any', 'any'], 'int', ['sk_msg'], { changesPkt: true }),
  msg_pop_data: P(['ctx', 'any', 'any', 'any'], 'int', ['sk_msg'], { changesPkt: true }),
  sk_redirect_map: P(['ctx', 'map', 'any', 'any'], 'int', ['sk_skb']),
  sk_redirect_hash: P(['ctx', 'map', 'key', 'any'], 'int', ['sk_skb']),
  // Socket pointers (net/core/filter.c): lookups acquire a reference that bpf_sk_release must drop.
  sk_lookup_tcp: P(['ctx', 'mem', 'size', 'any', 'any'], 'sock_or_null_acquire', ['tc', 'xdp', 'cgroup_skb', 'sk_skb', 'sock_addr']),
  sk_lookup_udp: P(['ctx', 'mem', 'size', 'any', 'any'], 'sock_or_null_acquire', ['tc', 'xdp', 'cgroup_skb', 'sk_skb', 'sock_addr']),
  skc_lookup_tcp: P(['ctx', 'mem', 'size', 'any', 'any'], 'sock_common_or_null_acquire', ['tc', 'xdp', 'cgroup_skb', 'sk_skb', 'sock_addr']),
  sk_release: P(['sock_release'], 'int', ['tc', 'xdp', 'cgroup_skb', 'sk_skb', 'sock_addr']),
  sk_fullsock: P(['sock_common'], 'sock_or_null_cast', ['tc', 'cgroup_skb']),
  tcp_sock: P(['sock_common'], 'tcp_sock_or_null_cast', ['tc', 'cgroup_skb']),
  get_listener_sock: P(['sock_common'], 'sock_or_null', ['tc', 'cgroup_skb']),
};

const GROUP_TYPES: Record<Exclude<Group, 'base' | 'perfmon'>, number[]> = {
  trace: [ProgType.KPROBE, ProgType.TRACEPOINT, ProgType.RAW_TRACEPOINT, ProgType.PERF_EVENT],
  skb: [ProgType.SOCKET_FILTER, ProgType.SCHED_CLS, ProgType.SCHED_ACT, ProgType.CGROUP_SKB],
  tc: [ProgType.SCHED_CLS, ProgType.SCHED_ACT],
  xdp: [ProgType.XDP],
  net: [ProgType.SOCKET_FILTER, ProgType.SCHED_CLS, ProgType.SCHED_ACT, ProgType.CGROUP_SKB, ProgType.XDP],
  sock_addr: [ProgType.CGROUP_SOCK_ADDR],
  sysctl: [ProgType.CGROUP_SYSCTL],
  sock_ops: [ProgType.SOCK_OPS],
  sk_msg: [ProgType.SK_MSG],
  sk_skb: [ProgType.SK_SKB],
  flow_dissector: [ProgType.FLOW_DISSECTOR],
  cgroup_skb: [ProgType.CGROUP_SKB],
};

const BY_ID = new Map<number, VerifierProto>();
for (const [name, p] of Object.entries(TABLE)) {
  const id = HelperId[name];
  if (id !== undefined) BY_ID.set(id, p);
}

/** The verifier prototype of helper `id`, when bpfkit models it. */
export function verifierProto(id: number): VerifierProto | undefined {
  return BY_ID.get(id);
}

/** May a program of `progType` call a helper of these groups (privileged loader)? */
export function helperAllowed(p: VerifierProto, progType: number): boolean {
  return p.groups.some((g) => g === 'base' || g === 'perfmon' || GROUP_TYPES[g].includes(progType));
}
