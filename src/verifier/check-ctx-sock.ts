/**
 * Context access rules of the socket-level program types (the kernel's sock_addr_is_valid_access,
 * sysctl_is_valid_access, sock_ops_is_valid_access, sk_msg_is_valid_access, sk_skb_is_valid_access and
 * flow_dissector_is_valid_access), over the layouts of src/isa/contexts.ts. Loads of the `sk` socket pointers
 * give PTR_TO_SOCKET (sock_addr, sk_msg) or PTR_TO_SOCKET_OR_NULL (sock_ops); check-sock.ts has their field rules.
 * Offsets the kernel's is_valid_access lets through but its convert_ctx_access cannot rewrite (e.g. the upper
 * half of a 64-bit pointer field) are refused too, as the kernel refuses the load with EINVAL.
 */
import { BPF_SOCK_ADDR, BPF_SOCK_OPS, BPF_SYSCTL, SK_BUFF, SK_MSG_MD, fieldAt, type CtxLayout } from '../isa/contexts.js';
import { AttachType } from '../isa/uapi.js';
import type { RegType } from './state.js';

/** Why an access is refused (plain words), or the type a load produces. */
export type SockCtxResult = { ok: true; result: RegType; maybeNull?: boolean } | { ok: false; why: string };

const ok = (result: RegType = 'scalar', maybeNull?: boolean): SockCtxResult => (maybeNull ? { ok: true, result, maybeNull } : { ok: true, result });
const no = (why: string): SockCtxResult => ({ ok: false, why });

const field = (l: CtxLayout, name: string) => l.fields.find((x) => x.name === name)!;
const inF = (l: CtxLayout, name: string, off: number) => {
  const f = field(l, name);
  return off >= f.offset && off < f.offset + f.size;
};
/** A 64-bit access wholly inside an array field at an 8-aligned offset (bpf_ctx_wide_access_ok). */
const wideOk = (l: CtxLayout, name: string, off: number, size: number) => {
  const f = field(l, name);
  return size === 8 && off >= f.offset && off + size <= f.offset + f.size && off % 8 === 0;
};
/** 1, 2 or 4 bytes of a 4-byte field (bpf_ctx_narrow_access_ok). */
const narrowOk = (size: number) => size <= 4;

const IP4_HOOKS: number[] = [AttachType.CGROUP_INET4_BIND, AttachType.CGROUP_INET4_CONNECT, AttachType.CGROUP_INET4_GETPEERNAME, AttachType.CGROUP_INET4_GETSOCKNAME, AttachType.CGROUP_UDP4_SENDMSG, AttachType.CGROUP_UDP4_RECVMSG];
const IP6_HOOKS: number[] = [AttachType.CGROUP_INET6_BIND, AttachType.CGROUP_INET6_CONNECT, AttachType.CGROUP_INET6_GETPEERNAME, AttachType.CGROUP_INET6_GETSOCKNAME, AttachType.CGROUP_UDP6_SENDMSG, AttachType.CGROUP_UDP6_RECVMSG];

/** `struct bpf_sock_addr`: address fields per attach type, narrow reads of addresses and ports, 4-byte writes. */
export function sockAddrAccess(attach: number | undefined, off: number, size: number, write: boolean): SockCtxResult {
  const L = BPF_SOCK_ADDR;
  if (off >= L.size) return no(`offset ${off} is past the end of struct bpf_sock_addr (${L.size} bytes)`);
  const f = fieldAt(L, off)!;
  const a = attach ?? -1;
  if (f.name === 'user_ip4' && !IP4_HOOKS.includes(a)) return no('user_ip4 is only accessible to IPv4 hooks (bind4, connect4, sendmsg4, recvmsg4, getpeername4, getsockname4)');
  if (f.name === 'user_ip6' && !IP6_HOOKS.includes(a)) return no('user_ip6 is only accessible to IPv6 hooks (bind6, connect6, sendmsg6, recvmsg6, getpeername6, getsockname6)');
  if (f.name === 'msg_src_ip4' && a !== AttachType.CGROUP_UDP4_SENDMSG) return no('msg_src_ip4 is only accessible to sendmsg4 hooks');
  if (f.name === 'msg_src_ip6' && a !== AttachType.CGROUP_UDP6_SENDMSG) return no('msg_src_ip6 is only accessible to sendmsg6 hooks');
  switch (f.name) {
    case 'user_ip4':
    case 'user_ip6':
    case 'msg_src_ip4':
    case 'msg_src_ip6':
    case 'user_port':
      if (wideOk(L, 'user_ip6', off, size) || wideOk(L, 'msg_src_ip6', off, size)) return ok();
      if (write) return size === 4 ? ok() : no(`writes to ${f.name} must be 4 bytes (or 8 bytes at an 8-aligned offset of an IPv6 address)`);
      return narrowOk(size) ? ok() : no(`${f.name} is a 4-byte field`);
    case 'sk':
      if (write || size !== 8 || off !== f.offset) return no('sk is a read-only 64-bit pointer');
      return ok('sock');
    default:
      if (write) return no(`${f.name} is read-only`);
      return size === 4 ? ok() : no(`${f.name} must be read with a 4-byte load`);
  }
}

/** `struct bpf_sysctl`: `write` is read-only, `file_pos` may be written (4 bytes); narrow reads allowed. */
export function sysctlAccess(off: number, size: number, write: boolean): SockCtxResult {
  if (off + size > BPF_SYSCTL.size) return no(`access at ${off} size ${size} runs past the end of struct bpf_sysctl (${BPF_SYSCTL.size} bytes)`);
  const f = fieldAt(BPF_SYSCTL, off)!;
  if (f.name === 'write') {
    if (write) return no('write is read-only');
    return narrowOk(size) ? ok() : no('write is a 4-byte field');
  }
  if (write) return size === 4 ? ok() : no('writes to file_pos must be 4 bytes');
  return narrowOk(size) ? ok() : no('file_pos is a 4-byte field');
}

/** `struct bpf_sock_ops`: 4-byte reads; u64 counters, skb pointers, hwtstamp 8 bytes; only reply and sk_txhash writable. */
export function sockOpsAccess(off: number, size: number, write: boolean): SockCtxResult {
  const L = BPF_SOCK_OPS;
  if (off >= L.size) return no(`offset ${off} is past the end of struct bpf_sock_ops (${L.size} bytes)`);
  const f = fieldAt(L, off)!;
  if (write) {
    if (off === field(L, 'args').offset || off === field(L, 'sk_txhash').offset) return size === 4 ? ok() : no('writes to reply and sk_txhash must be 4 bytes');
    return no(`${f.name === 'args' ? 'args (other than reply)' : f.name} is read-only (only reply and sk_txhash may be written)`);
  }
  const whole8 = size === 8 && off === f.offset;
  switch (f.name) {
    case 'bytes_received':
    case 'bytes_acked':
    case 'skb_hwtstamp':
      return whole8 ? ok() : no(`${f.name} must be read with an 8-byte load`);
    case 'sk':
      return whole8 ? ok('sock', true) : no('sk must be read with an 8-byte load');
    case 'skb_data':
      return whole8 ? ok('pkt') : no('skb_data must be read with an 8-byte load');
    case 'skb_data_end':
      return whole8 ? ok('pkt_end') : no('skb_data_end must be read with an 8-byte load');
    case 'skb_tcp_flags':
      // Narrow reads only from the field's first byte (the kernel matches its exact offset).
      return narrowOk(size) && off === f.offset ? ok() : no('skb_tcp_flags must be read at its start (1, 2 or 4 bytes)');
    default:
      return size === 4 ? ok() : no(`${f.name} must be read with a 4-byte load`);
  }
}

/** `struct sk_msg_md`: read-only; data/data_end/sk are 64-bit pointers, the rest 4-byte fields. */
export function skMsgAccess(off: number, size: number, write: boolean): SockCtxResult {
  const L = SK_MSG_MD;
  if (off >= L.size) return no(`offset ${off} is past the end of struct sk_msg_md (${L.size} bytes)`);
  if (write) return no('struct sk_msg_md is read-only');
  const f = fieldAt(L, off)!;
  const whole8 = size === 8 && off === f.offset;
  switch (f.name) {
    case 'data':
      return whole8 ? ok('pkt') : no('data must be read with an 8-byte load');
    case 'data_end':
      return whole8 ? ok('pkt_end') : no('data_end must be read with an 8-byte load');
    case 'sk':
      return whole8 ? ok('sock') : no('sk must be read with an 8-byte load');
    default:
      return size === 4 ? ok() : no(`${f.name} must be read with a 4-byte load`);
  }
}

/** `__sk_buff` fields sk_skb programs may not touch at all, and those they may write. */
export const SK_SKB_DENIED = ['tc_classid', 'data_meta', 'tstamp', 'wire_len', 'hwtstamp', 'mark'];
export const SK_SKB_WRITABLE = ['tc_index', 'priority'];

/** Flow dissectors: only data, data_end (4 bytes, packet pointers) and flow_keys (8 bytes), read-only. */
export function flowDissectorAccess(off: number, size: number, write: boolean): SockCtxResult {
  if (off >= SK_BUFF.size) return no(`offset ${off} is past the end of struct __sk_buff (${SK_BUFF.size} bytes)`);
  if (write) return no('the context of a flow dissector is read-only');
  const f = fieldAt(SK_BUFF, off);
  if (f?.name === 'data' && inF(SK_BUFF, 'data', off)) return size === 4 && off === f.offset ? ok('pkt') : no('data must be read with a 4-byte load');
  if (f?.name === 'data_end') return size === 4 && off === f.offset ? ok('pkt_end') : no('data_end must be read with a 4-byte load');
  if (f?.name === 'flow_keys') return size === 8 && off === f.offset ? ok('flow_keys') : no('flow_keys must be read with an 8-byte load');
  return no(`${f ? `__sk_buff.${f.name}` : `offset ${off}`} is not accessible to flow dissectors (only data, data_end and flow_keys)`);
}
