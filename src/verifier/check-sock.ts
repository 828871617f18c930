/**
 * Reads through socket pointers (the kernel's check_sock_access with bpf_sock_is_valid_access,
 * bpf_sock_common_is_valid_access and bpf_tcp_sock_is_valid_access): which offsets and sizes of struct bpf_sock /
 * struct bpf_tcp_sock may be read. Socket pointers are never writable and take no pointer arithmetic (check-alu.ts
 * refuses it), so the offset is the instruction's.
 */
import { BPF_SOCK, BPF_TCP_SOCK, fieldAt } from '../isa/contexts.js';
import type { RegType } from './state.js';

/** bpf_sock fields readable with 1, 2 or 4 bytes, but only from the field's first byte (the kernel matches its offset). */
const SOCK_NARROW_AT_START = ['family', 'type', 'protocol', 'src_port', 'state', 'rx_queue_mapping'];
/** Address fields readable with 1, 2 or 4 bytes anywhere inside them. */
const SOCK_NARROW_ANYWHERE = ['src_ip4', 'src_ip6', 'dst_ip4', 'dst_ip6'];
/** Fields a PTR_TO_SOCK_COMMON may not read (they live past struct sock_common). */
const NOT_COMMON = ['type', 'protocol', 'mark', 'priority'];

const narrowOk = (size: number, max: number) => size <= max && (size & (size - 1)) === 0;

/** Why reading `size` bytes at `off` of a socket of `type` is refused, or undefined when it is allowed. */
export function sockReadRefusal(type: RegType, off: number, size: number): string | undefined {
  if (type === 'tcp_sock') {
    const L = BPF_TCP_SOCK;
    if (off < 0 || off >= L.size) return `offset ${off} is outside struct bpf_tcp_sock (${L.size} bytes)`;
    if (off % size !== 0) return `offset ${off} is not a multiple of the access size ${size}`;
    const f = fieldAt(L, off)!;
    const want = f.size === 8 ? 8 : 4;
    if (off !== f.offset || size !== want) return `bpf_tcp_sock.${f.name} must be read whole (${want} bytes at offset ${f.offset})`;
    return undefined;
  }
  const L = BPF_SOCK;
  if (off < 0 || off >= L.size) return `offset ${off} is outside struct bpf_sock (${L.size} bytes)`;
  if (off % size !== 0) return `offset ${off} is not a multiple of the access size ${size}`;
  const f = fieldAt(L, off);
  if (!f) {
    // The 16 bits of padding after dst_port: only reachable by a 4-byte read at dst_port itself.
    return `offset ${off} is the padding after dst_port`;
  }
  if (type === 'sock_common' && NOT_COMMON.includes(f.name)) {
    return `bpf_sock.${f.name} is not readable through a sock_common pointer (use bpf_sk_fullsock first)`;
  }
  if (f.name === 'dst_port') {
    // 16-bit network-order port in a 32-bit slot: a 4-byte read at its offset, or a narrow read within the port.
    if (size === 4) return off === f.offset ? undefined : 'dst_port may be read with 4 bytes only at its offset';
    return narrowOk(size, 2) ? undefined : 'dst_port is a 16-bit field';
  }
  if (SOCK_NARROW_ANYWHERE.includes(f.name)) return narrowOk(size, 4) ? undefined : `bpf_sock.${f.name} is read at most 4 bytes at a time`;
  if (SOCK_NARROW_AT_START.includes(f.name)) {
    if (off !== f.offset) return `bpf_sock.${f.name} may only be read from its first byte (offset ${f.offset})`;
    return narrowOk(size, 4) ? undefined : `bpf_sock.${f.name} is a 4-byte field`;
  }
  return size === 4 ? undefined : `bpf_sock.${f.name} must be read with a 4-byte load`;
}
