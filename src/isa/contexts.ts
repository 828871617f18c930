/**
 * Program context layouts, defined once: for each context struct the fields with offset, size and access
 * rights, and which fields are packet pointers the kernel rewrites (convert_ctx_access) into real 64-bit
 * pointers. The ONE table: the runtime (src/vm) fills and reads contexts and its load-time ctx pass checks and
 * rewrites accesses with it, the classic BPF translation (src/cbpf) reads `__sk_buff` and `seccomp_data`
 * through it, the kernel backend sizes test-run contexts with it, and a verifier can use it for its ctx checks.
 * Offsets follow /usr/include/linux/bpf.h, asm/ptrace.h (x86-64) and linux/seccomp.h; a test
 * (test/vm/runtime/layouts.test.ts) checks them against the headers with gcc.
 */
import { ProgType } from './uapi.js';

/** What a packet-pointer field stands for. */
export type CtxPointer = 'data' | 'data_end' | 'data_meta';

/** One field of a context struct. */
export interface CtxField {
  name: string;
  offset: number;
  /** Size in bytes (for arrays: the whole array). */
  size: number;
  /** Element size for arrays (cb[5], remote_ip6[4]...). */
  elem?: number;
  /** Programs may write it. */
  writable: boolean;
  /** A 32-bit field the kernel turns into a full packet pointer on load. */
  pointer?: CtxPointer;
  /** Narrower loads (1 or 2 bytes of a 4-byte field) allowed. */
  narrow?: boolean;
}

/** A context struct. */
export interface CtxLayout {
  /** C struct name. */
  name: string;
  size: number;
  fields: readonly CtxField[];
}

function f(name: string, offset: number, size: number, writable = false, extra: Partial<CtxField> = {}): CtxField {
  return { name, offset, size, writable, narrow: !extra.pointer, ...extra };
}

/** `struct xdp_md`. */
export const XDP_MD: CtxLayout = {
  name: 'xdp_md',
  size: 24,
  fields: [
    f('data', 0, 4, false, { pointer: 'data' }),
    f('data_end', 4, 4, false, { pointer: 'data_end' }),
    f('data_meta', 8, 4, false, { pointer: 'data_meta' }),
    f('ingress_ifindex', 12, 4),
    f('rx_queue_index', 16, 4),
    f('egress_ifindex', 20, 4),
  ],
};

/** `struct __sk_buff` (writable fields as for tc programs: mark, priority, tc_index, cb, tc_classid, tstamp...). */
export const SK_BUFF: CtxLayout = {
  name: '__sk_buff',
  size: 192,
  fields: [
    f('len', 0, 4),
    f('pkt_type', 4, 4),
    f('mark', 8, 4, true),
    f('queue_mapping', 12, 4, true),
    f('protocol', 16, 4),
    f('vlan_present', 20, 4),
    f('vlan_tci', 24, 4),
    f('vlan_proto', 28, 4),
    f('priority', 32, 4, true),
    f('ingress_ifindex', 36, 4),
    f('ifindex', 40, 4),
    f('tc_index', 44, 4, true),
    f('cb', 48, 20, true, { elem: 4 }),
    f('hash', 68, 4),
    f('tc_classid', 72, 4, true),
    f('data', 76, 4, false, { pointer: 'data' }),
    f('data_end', 80, 4, false, { pointer: 'data_end' }),
    f('napi_id', 84, 4),
    f('family', 88, 4),
    f('remote_ip4', 92, 4),
    f('local_ip4', 96, 4),
    f('remote_ip6', 100, 16, false, { elem: 4 }),
    f('local_ip6', 116, 16, false, { elem: 4 }),
    f('remote_port', 132, 4),
    f('local_port', 136, 4),
    f('data_meta', 140, 4, false, { pointer: 'data_meta' }),
    f('flow_keys', 144, 8, false, { narrow: false }),
    f('tstamp', 152, 8, true, { narrow: false }),
    f('wire_len', 160, 4),
    f('gso_segs', 164, 4),
    f('sk', 168, 8, false, { narrow: false }),
    f('gso_size', 176, 4),
    f('tstamp_type', 180, 1),
    f('hwtstamp', 184, 8, false, { narrow: false }),
  ],
};

const REGS = ['r15', 'r14', 'r13', 'r12', 'bp', 'bx', 'r11', 'r10', 'r9', 'r8', 'ax', 'cx', 'dx', 'si', 'di', 'orig_ax', 'ip', 'cs', 'flags', 'sp', 'ss'];

/** x86-64 `struct pt_regs` (kprobes), register names as in the kernel's struct (di, si, dx, ...). */
export const PT_REGS: CtxLayout = {
  name: 'pt_regs',
  size: REGS.length * 8,
  fields: REGS.map((r, i) => f(r, i * 8, 8, false, { narrow: true })),
};

/** Registers holding the first six function arguments on x86-64 (PT_REGS_PARM1..6). */
export const PT_REGS_ARGS = ['di', 'si', 'dx', 'cx', 'r8', 'r9'] as const;

/** `struct bpf_perf_event_data`: pt_regs, then sample_period and addr. */
export const PERF_EVENT_DATA: CtxLayout = {
  name: 'bpf_perf_event_data',
  size: PT_REGS.size + 16,
  fields: [...PT_REGS.fields, f('sample_period', PT_REGS.size, 8, false, { narrow: true }), f('addr', PT_REGS.size + 8, 8, false, { narrow: true })],
};

/**
 * `struct seccomp_data`, the input of a seccomp classic BPF program (read-only, 32-bit loads only): the syscall
 * number, its AUDIT_ARCH, the instruction pointer and the six 64-bit arguments.
 */
export const SECCOMP_DATA: CtxLayout = {
  name: 'seccomp_data',
  size: 64,
  fields: [f('nr', 0, 4), f('arch', 4, 4), f('instruction_pointer', 8, 8), f('args', 16, 48, false, { elem: 8 })],
};

/**
 * `struct bpf_sock_addr` (cgroup sock_addr hooks: connect4/6, bind4/6, sendmsg4/6, ...). Which fields a hook may
 * touch depends on its attach type (the verifier's rules, src/verifier/check-ctx-sock.ts); `sk` is a socket
 * pointer. Data only: the userspace runtime does not run these program types.
 */
export const BPF_SOCK_ADDR: CtxLayout = {
  name: 'bpf_sock_addr',
  size: 72,
  fields: [
    f('user_family', 0, 4, false, { narrow: false }),
    f('user_ip4', 4, 4, true),
    f('user_ip6', 8, 16, true, { elem: 4 }),
    f('user_port', 24, 4, true),
    f('family', 28, 4, false, { narrow: false }),
    f('type', 32, 4, false, { narrow: false }),
    f('protocol', 36, 4, false, { narrow: false }),
    f('msg_src_ip4', 40, 4, true),
    f('msg_src_ip6', 44, 16, true, { elem: 4 }),
    f('sk', 64, 8, false, { narrow: false }),
  ],
};

/** `struct bpf_sysctl` (cgroup sysctl hooks): `write` (read-only) and `file_pos` (read-write). */
export const BPF_SYSCTL: CtxLayout = {
  name: 'bpf_sysctl',
  size: 8,
  fields: [f('write', 0, 4), f('file_pos', 4, 4, true)],
};

const SOCK_OPS_U32 = ['is_fullsock', 'snd_cwnd', 'srtt_us', 'bpf_sock_ops_cb_flags', 'state', 'rtt_min', 'snd_ssthresh', 'rcv_nxt', 'snd_nxt', 'snd_una', 'mss_cache', 'ecn_flags', 'rate_delivered', 'rate_interval_us', 'packets_out', 'retrans_out', 'total_retrans', 'segs_in', 'data_segs_in', 'segs_out', 'data_segs_out', 'lost_out', 'sacked_out', 'sk_txhash'];

/**
 * `struct bpf_sock_ops` as the running kernel (6.2+) has it, ending in skb_hwtstamp (224 bytes; older uapi
 * headers stop at skb_tcp_flags, 216). `args[4]` shares its bytes with `reply`/`replylong[4]`; `skb_data` and
 * `skb_data_end` are 64-bit packet pointers; `sk` is a socket pointer (possibly NULL).
 */
export const BPF_SOCK_OPS: CtxLayout = {
  name: 'bpf_sock_ops',
  size: 224,
  fields: [
    f('op', 0, 4, false, { narrow: false }),
    f('args', 4, 16, false, { elem: 4, narrow: false }),
    f('family', 20, 4, false, { narrow: false }),
    f('remote_ip4', 24, 4, false, { narrow: false }),
    f('local_ip4', 28, 4, false, { narrow: false }),
    f('remote_ip6', 32, 16, false, { elem: 4, narrow: false }),
    f('local_ip6', 48, 16, false, { elem: 4, narrow: false }),
    f('remote_port', 64, 4, false, { narrow: false }),
    f('local_port', 68, 4, false, { narrow: false }),
    ...SOCK_OPS_U32.map((n, i) => f(n, 72 + 4 * i, 4, n === 'sk_txhash', { narrow: false })),
    f('bytes_received', 168, 8, false, { narrow: false }),
    f('bytes_acked', 176, 8, false, { narrow: false }),
    f('sk', 184, 8, false, { narrow: false }),
    f('skb_data', 192, 8, false, { pointer: 'data' }),
    f('skb_data_end', 200, 8, false, { pointer: 'data_end' }),
    f('skb_len', 208, 4, false, { narrow: false }),
    f('skb_tcp_flags', 212, 4),
    f('skb_hwtstamp', 216, 8, false, { narrow: false }),
  ],
};

/** `struct sk_msg_md` (sk_msg programs): 64-bit data/data_end packet pointers, socket addresses, size, sk. */
export const SK_MSG_MD: CtxLayout = {
  name: 'sk_msg_md',
  size: 80,
  fields: [
    f('data', 0, 8, false, { pointer: 'data' }),
    f('data_end', 8, 8, false, { pointer: 'data_end' }),
    f('family', 16, 4, false, { narrow: false }),
    f('remote_ip4', 20, 4, false, { narrow: false }),
    f('local_ip4', 24, 4, false, { narrow: false }),
    f('remote_ip6', 28, 16, false, { elem: 4, narrow: false }),
    f('local_ip6', 44, 16, false, { elem: 4, narrow: false }),
    f('remote_port', 60, 4, false, { narrow: false }),
    f('local_port', 64, 4, false, { narrow: false }),
    f('size', 68, 4, false, { narrow: false }),
    f('sk', 72, 8, false, { narrow: false }),
  ],
};

/** `struct bpf_flow_keys`, what `__sk_buff->flow_keys` points to in flow dissectors (read-write, 56 bytes). */
export const BPF_FLOW_KEYS: CtxLayout = {
  name: 'bpf_flow_keys',
  size: 56,
  fields: [
    f('nhoff', 0, 2, true),
    f('thoff', 2, 2, true),
    f('addr_proto', 4, 2, true),
    f('is_frag', 6, 1, true),
    f('is_first_frag', 7, 1, true),
    f('is_encap', 8, 1, true),
    f('ip_proto', 9, 1, true),
    f('n_proto', 10, 2, true),
    f('sport', 12, 2, true),
    f('dport', 14, 2, true),
    f('ipv4_src', 16, 4, true),
    f('ipv4_dst', 20, 4, true),
    f('ipv6_src', 16, 16, true, { elem: 4 }),
    f('ipv6_dst', 32, 16, true, { elem: 4 }),
    f('flags', 48, 4, true),
    f('flow_label', 52, 4, true),
  ],
};

/** The context layout a program type uses, when it has a fixed one (tracepoints, raw_tp and tracing do not). */
export function layoutFor(progType: number): CtxLayout | undefined {
  switch (progType) {
    case ProgType.XDP:
      return XDP_MD;
    case ProgType.SOCKET_FILTER:
    case ProgType.SCHED_CLS:
    case ProgType.SCHED_ACT:
    case ProgType.CGROUP_SKB:
    case ProgType.LWT_IN:
    case ProgType.LWT_OUT:
    case ProgType.LWT_XMIT:
    case ProgType.SK_SKB:
      return SK_BUFF;
    case ProgType.KPROBE:
      return PT_REGS;
    case ProgType.PERF_EVENT:
      return PERF_EVENT_DATA;
    default:
      return undefined;
  }
}

/** The field of `layout` containing byte `offset`, if any. */
export function fieldAt(layout: CtxLayout, offset: number): CtxField | undefined {
  for (const fl of layout.fields) if (offset >= fl.offset && offset < fl.offset + fl.size) return fl;
  return undefined;
}

/** Field by name (`cb` or `cb[2]`-style element names are resolved by the caller). */
export function fieldNamed(layout: CtxLayout, name: string): CtxField | undefined {
  return layout.fields.find((x) => x.name === name);
}

/**
 * `struct bpf_sock`, what a socket pointer (the verifier's PTR_TO_SOCKET / PTR_TO_SOCK_COMMON) points to: read
 * only. `dst_port` is a 16-bit network-order port followed by 16 bits of zero padding (a 4-byte read at its
 * offset is allowed too). Data only: used by the verifier's socket field rules (src/verifier/check-sock.ts).
 */
export const BPF_SOCK: CtxLayout = {
  name: 'bpf_sock',
  size: 80,
  fields: [
    f('bound_dev_if', 0, 4, false, { narrow: false }),
    f('family', 4, 4),
    f('type', 8, 4),
    f('protocol', 12, 4),
    f('mark', 16, 4, false, { narrow: false }),
    f('priority', 20, 4, false, { narrow: false }),
    f('src_ip4', 24, 4),
    f('src_ip6', 28, 16, false, { elem: 4 }),
    f('src_port', 44, 4),
    f('dst_port', 48, 2),
    f('dst_ip4', 52, 4),
    f('dst_ip6', 56, 16, false, { elem: 4 }),
    f('state', 72, 4),
    f('rx_queue_mapping', 76, 4),
  ],
};

const TCP_SOCK_U32 = ['snd_cwnd', 'srtt_us', 'rtt_min', 'snd_ssthresh', 'rcv_nxt', 'snd_nxt', 'snd_una', 'mss_cache', 'ecn_flags', 'rate_delivered', 'rate_interval_us', 'packets_out', 'retrans_out', 'total_retrans', 'segs_in', 'data_segs_in', 'segs_out', 'data_segs_out', 'lost_out', 'sacked_out'];

/** `struct bpf_tcp_sock` (what bpf_tcp_sock returns, PTR_TO_TCP_SOCK): read-only u32 counters and two u64 byte counts. */
export const BPF_TCP_SOCK: CtxLayout = {
  name: 'bpf_tcp_sock',
  size: 112,
  fields: [
    ...TCP_SOCK_U32.map((n, i) => f(n, 4 * i, 4, false, { narrow: false })),
    f('bytes_received', 80, 8, false, { narrow: false }),
    f('bytes_acked', 88, 8, false, { narrow: false }),
    f('dsack_dups', 96, 4, false, { narrow: false }),
    f('delivered', 100, 4, false, { narrow: false }),
    f('delivered_ce', 104, 4, false, { narrow: false }),
    f('icsk_retransmits', 108, 4, false, { narrow: false }),
  ],
};
