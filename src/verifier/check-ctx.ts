/**
 * Context access rules per program type (the kernel's *_is_valid_access callbacks), using the layouts of
 * src/isa/contexts.ts: which offsets and sizes may be read or written, and which fields load packet pointers.
 * Program types without rules here are reported as unsupported by the verifier. The socket-level types
 * (sock_addr, sysctl, sock_ops, sk_msg, sk_skb, flow_dissector) have their rules in check-ctx-sock.ts.
 */
import { SK_BUFF, XDP_MD, PT_REGS, PERF_EVENT_DATA, fieldAt, type CtxField } from '../isa/contexts.js';
import { AttachType, ProgType } from '../isa/uapi.js';
import type { RegType } from './state.js';
import { SK_SKB_DENIED, SK_SKB_WRITABLE, flowDissectorAccess, skMsgAccess, sockAddrAccess, sockOpsAccess, sysctlAccess } from './check-ctx-sock.js';

/** The outcome of a context access check. */
export type CtxAccess = { ok: true; result: RegType; ctxName: string; maybeNull?: boolean } | { ok: false; why: string; ctxName: string };

/** Tracepoint contexts may be read anywhere in [8, PERF_MAX_TRACE_SIZE). */
const PERF_MAX_TRACE_SIZE = 8192;
/** Raw tracepoint contexts are an array of up to 12 u64 arguments. */
const RAW_TP_ARGS = 12;

const skbField = (name: string) => SK_BUFF.fields.find((f) => f.name === name)!;
const inField = (off: number, name: string) => {
  const f = skbField(name);
  return off >= f.offset && off < f.offset + f.size;
};
const inRange = (off: number, from: string, to: string) => off >= skbField(from).offset && off < skbField(to).offset + skbField(to).size;

/** Program types the verifier has context rules for. */
export function ctxSupported(progType: number): boolean {
  return ([
    ProgType.SOCKET_FILTER,
    ProgType.SCHED_CLS,
    ProgType.SCHED_ACT,
    ProgType.CGROUP_SKB,
    ProgType.XDP,
    ProgType.KPROBE,
    ProgType.TRACEPOINT,
    ProgType.RAW_TRACEPOINT,
    ProgType.PERF_EVENT,
    ProgType.CGROUP_SOCK_ADDR,
    ProgType.CGROUP_SYSCTL,
    ProgType.SOCK_OPS,
    ProgType.SK_MSG,
    ProgType.SK_SKB,
    ProgType.FLOW_DISSECTOR,
  ] as number[]).includes(progType);
}

/** Program types that may read and write packet data directly. */
export function pktAccess(progType: number): { read: boolean; write: boolean } {
  switch (progType) {
    case ProgType.XDP:
    case ProgType.SCHED_CLS:
    case ProgType.SCHED_ACT:
    case ProgType.SK_SKB:
    case ProgType.SK_MSG:
      return { read: true, write: true };
    case ProgType.CGROUP_SKB:
    case ProgType.FLOW_DISSECTOR:
      return { read: true, write: false };
    // Like the kernel: any program holding a packet pointer may read through it; sock_ops may not write.
    case ProgType.SOCK_OPS:
      return { read: true, write: false };
    default:
      return { read: false, write: false };
  }
}

function ctxName(progType: number): string {
  switch (progType) {
    case ProgType.XDP:
      return 'struct xdp_md';
    case ProgType.SOCKET_FILTER:
    case ProgType.SCHED_CLS:
    case ProgType.SCHED_ACT:
    case ProgType.CGROUP_SKB:
    case ProgType.SK_SKB:
    case ProgType.FLOW_DISSECTOR:
      return 'struct __sk_buff';
    case ProgType.CGROUP_SOCK_ADDR:
      return 'struct bpf_sock_addr';
    case ProgType.CGROUP_SYSCTL:
      return 'struct bpf_sysctl';
    case ProgType.SOCK_OPS:
      return 'struct bpf_sock_ops';
    case ProgType.SK_MSG:
      return 'struct sk_msg_md';
    case ProgType.KPROBE:
      return 'struct pt_regs';
    case ProgType.PERF_EVENT:
      return 'struct bpf_perf_event_data';
    case ProgType.RAW_TRACEPOINT:
      return 'the raw tracepoint argument array (u64[12])';
    case ProgType.TRACEPOINT:
      return 'the tracepoint record';
    default:
      return 'the context';
  }
}

/** The socket-level rules' verdict as a CtxAccess. */
function fromSock(r: { ok: true; result: RegType; maybeNull?: boolean } | { ok: false; why: string }, name: string): CtxAccess {
  return r.ok ? { ok: true, result: r.result, ctxName: name, maybeNull: r.maybeNull } : { ok: false, why: r.why, ctxName: name };
}

function pointerResult(f: CtxField | undefined): RegType {
  if (f?.pointer === 'data') return 'pkt';
  if (f?.pointer === 'data_end') return 'pkt_end';
  if (f?.pointer === 'data_meta') return 'pkt_meta';
  return 'scalar';
}

/** Common `__sk_buff` rules (the kernel's bpf_skb_is_valid_access). */
function skbCommon(off: number, size: number, write: boolean): string | undefined {
  const f = fieldAt(SK_BUFF, off);
  if (!f) return 'outside the struct or in padding';
  if (inField(off, 'cb')) {
    if (off + size > skbField('cb').offset + skbField('cb').size) return 'runs past cb[4]';
    return undefined;
  }
  if (f.pointer || f.name === 'remote_ip6' || f.name === 'local_ip6' || f.name === 'remote_ip4' || f.name === 'local_ip4') {
    return size !== 4 ? `${f.name} must be accessed with a 4-byte access` : undefined;
  }
  if (f.name === 'flow_keys') return 'flow_keys is not accessible here';
  if (f.name === 'hwtstamp') return write || size !== 8 ? 'hwtstamp is a read-only u64' : undefined;
  if (f.name === 'tstamp') return size !== 8 ? 'tstamp must be accessed as a u64' : undefined;
  if (f.name === 'sk') return write || size !== 8 || off !== f.offset ? 'sk is a read-only 64-bit pointer' : undefined;
  if (f.name === 'tstamp_type') return 'tstamp_type is not accessible';
  if (write) return size !== 4 ? `writes to ${f.name} must be 4 bytes` : undefined;
  if (size > 4) return `${f.name} is a 4-byte field`;
  return undefined;
}

/**
 * May a program of `progType` access `size` bytes at context offset `off` (reading, or writing when `write`)?
 * On success, `result` is the type a load produces (scalar or a packet pointer).
 */
export function checkCtxAccess(progType: number, expectedAttachType: number | undefined, off: number, size: number, write: boolean): CtxAccess {
  const name = ctxName(progType);
  const fail = (why: string): CtxAccess => ({ ok: false, why, ctxName: name });
  if (off < 0) return fail('negative offset');
  if (off % size !== 0) return fail(`offset ${off} is not a multiple of the access size ${size}`);
  switch (progType) {
    case ProgType.XDP: {
      if (off >= XDP_MD.size) return fail(`offset ${off} is past the end of struct xdp_md (${XDP_MD.size} bytes)`);
      const f = fieldAt(XDP_MD, off)!;
      if (f.name === 'egress_ifindex' && expectedAttachType !== AttachType.XDP_DEVMAP) return fail('egress_ifindex is only readable by devmap programs');
      if (write) return fail(`xdp_md.${f.name} is read-only`);
      if (size !== 4) return fail(`xdp_md fields must be read with 4-byte loads (xdp_md.${f.name})`);
      return { ok: true, result: pointerResult(f), ctxName: name };
    }
    case ProgType.CGROUP_SOCK_ADDR:
      return fromSock(sockAddrAccess(expectedAttachType, off, size, write), name);
    case ProgType.CGROUP_SYSCTL:
      return fromSock(sysctlAccess(off, size, write), name);
    case ProgType.SOCK_OPS:
      return fromSock(sockOpsAccess(off, size, write), name);
    case ProgType.SK_MSG:
      return fromSock(skMsgAccess(off, size, write), name);
    case ProgType.FLOW_DISSECTOR:
      return fromSock(flowDissectorAccess(off, size, write), name);
    case ProgType.SOCKET_FILTER:
    case ProgType.SCHED_CLS:
    case ProgType.SCHED_ACT:
    case ProgType.SK_SKB:
    case ProgType.CGROUP_SKB: {
      if (off >= SK_BUFF.size) return fail(`offset ${off} is past the end of struct __sk_buff (${SK_BUFF.size} bytes)`);
      const f = fieldAt(SK_BUFF, off);
      if (!f) return fail(`offset ${off} is padding in struct __sk_buff`);
      const label = `__sk_buff.${f.name}`;
      if (progType === ProgType.SOCKET_FILTER) {
        if (['tc_classid', 'data', 'data_meta', 'data_end', 'tstamp', 'wire_len', 'hwtstamp'].includes(f.name) || inRange(off, 'family', 'local_port')) {
          return fail(`${label} is not accessible to socket filters`);
        }
        if (write && f.name !== 'cb') return fail(`${label} is read-only for socket filters (only cb[] is writable)`);
      } else if (progType === ProgType.SK_SKB) {
        // sk_skb_is_valid_access: no mark/tc_classid/data_meta/tstamp/wire_len/hwtstamp; writes only tc_index, priority.
        if (SK_SKB_DENIED.includes(f.name)) return fail(`${label} is not accessible to sk_skb programs`);
        if (write && !SK_SKB_WRITABLE.includes(f.name)) return fail(`${label} is read-only for sk_skb programs (only tc_index and priority are writable)`);
      } else if (progType === ProgType.CGROUP_SKB) {
        if (['tc_classid', 'data_meta', 'wire_len'].includes(f.name)) return fail(`${label} is not accessible to cgroup skb programs`);
        if (write && !['mark', 'priority', 'cb', 'tstamp'].includes(f.name)) return fail(`${label} is read-only for cgroup skb programs`);
      } else {
        if (write && !['mark', 'tc_index', 'priority', 'tc_classid', 'cb', 'tstamp', 'queue_mapping'].includes(f.name)) return fail(`${label} is read-only for tc programs`);
        if (inRange(off, 'family', 'local_port')) return fail(`${label} is not accessible to tc programs`);
      }
      const why = skbCommon(off, size, write);
      if (why) return why.startsWith('unsupported') ? fail(why) : fail(`${label}: ${why}`);
      // __sk_buff->sk: PTR_TO_SOCK_COMMON_OR_NULL (bpf_skb_is_valid_access).
      if (f.name === 'sk') return { ok: true, result: 'sock_common', ctxName: name, maybeNull: true };
      return { ok: true, result: write ? 'scalar' : pointerResult(f), ctxName: name };
    }
    case ProgType.KPROBE:
    case ProgType.PERF_EVENT: {
      const layout = progType === ProgType.KPROBE ? PT_REGS : PERF_EVENT_DATA;
      if (off + size > layout.size) return fail(`access at ${off} size ${size} runs past the end of ${name} (${layout.size} bytes)`);
      if (write) return fail(`${name} is read-only`);
      if (progType === ProgType.PERF_EVENT && off < PT_REGS.size && size !== 8) return fail('pt_regs fields must be read with 8-byte loads');
      return { ok: true, result: 'scalar', ctxName: name };
    }
    case ProgType.TRACEPOINT:
      if (off < 8) return fail('the first 8 bytes (common fields) of a tracepoint record are not readable');
      if (off >= PERF_MAX_TRACE_SIZE) return fail(`offset ${off} is past the largest tracepoint record (${PERF_MAX_TRACE_SIZE})`);
      if (write) return fail('tracepoint records are read-only');
      return { ok: true, result: 'scalar', ctxName: name };
    case ProgType.RAW_TRACEPOINT:
      if (off >= RAW_TP_ARGS * 8) return fail(`offset ${off} is past the ${RAW_TP_ARGS} arguments`);
      if (write) return fail('raw tracepoint arguments are read-only');
      return { ok: true, result: 'scalar', ctxName: name };
  }
  return { ok: false, why: 'unsupported: no context rules for this program type', ctxName: name };
}

/** Allowed return values of a program type at exit (the kernel's check_return_code), when restricted. */
export function returnRange(progType: number, expectedAttachType: number | undefined): [number, number] | undefined {
  switch (progType) {
    case ProgType.CGROUP_SKB:
      return expectedAttachType === AttachType.CGROUP_INET_EGRESS ? [0, 3] : [0, 1];
    case ProgType.CGROUP_SOCK_ADDR:
      switch (expectedAttachType) {
        case AttachType.CGROUP_UDP4_RECVMSG:
        case AttachType.CGROUP_UDP6_RECVMSG:
        case AttachType.CGROUP_UNIX_RECVMSG:
        case AttachType.CGROUP_INET4_GETPEERNAME:
        case AttachType.CGROUP_INET6_GETPEERNAME:
        case AttachType.CGROUP_UNIX_GETPEERNAME:
        case AttachType.CGROUP_INET4_GETSOCKNAME:
        case AttachType.CGROUP_INET6_GETSOCKNAME:
        case AttachType.CGROUP_UNIX_GETSOCKNAME:
          return [1, 1];
        case AttachType.CGROUP_INET4_BIND:
        case AttachType.CGROUP_INET6_BIND:
          return [0, 3];
        default:
          return [0, 1];
      }
    case ProgType.CGROUP_SYSCTL:
    case ProgType.SOCK_OPS:
      return [0, 1];
    default:
      return undefined;
  }
}
