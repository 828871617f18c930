/**
 * Context and helper rules of the socket-level program types (cgroup sock_addr, cgroup sysctl, sock_ops, sk_msg,
 * sk_skb, flow_dissector): each case is a kernel rule (net/core/filter.c *_is_valid_access / *_func_proto,
 * kernel/bpf/cgroup.c) checked against bpfkit's verdict. (The kernel's own verdicts on these rules were compared
 * with a sweep of every context offset, size and direction on Linux 6.18; socket pointer loads are the known gap.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../src/asm/index.js';
import { AttachType, MapType, ProgType } from '../../src/isa/uapi.js';
import type { MapSpec } from '../../src/spec/map.js';
import { verify } from '../../src/verifier/index.js';

const SOCKMAP: MapSpec = { name: 'sm', type: MapType.SOCKMAP, keySize: 4, valueSize: 8, maxEntries: 2, flags: 0 };
const HASH: MapSpec = { name: 'h', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 2, flags: 0 };

function run(text: string, type: number, expectedAttachType?: number, maps: Record<number, MapSpec> = {}) {
  return verify({ insns: assemble(text, { syntax: 'llvm' }), type, expectedAttachType, name: 't' }, { maps });
}
const accepts = (text: string, type: number, att?: number, maps?: Record<number, MapSpec>) => {
  const r = run(text, type, att, maps);
  assert.equal(r.ok, true, `${text}: ${r.errors[0]?.message}`);
};
const rejects = (text: string, type: number, att: number | undefined, why: RegExp, maps?: Record<number, MapSpec>) => {
  const r = run(text, type, att, maps);
  assert.equal(r.ok, false, `${text}: expected a rejection`);
  assert.match(r.errors[0]!.reason, why);
};

test('cgroup sock_addr: address fields per attach type, narrow reads, 4-byte writes, return range', () => {
  const C4 = AttachType.CGROUP_INET4_CONNECT;
  const C6 = AttachType.CGROUP_INET6_CONNECT;
  accepts('r2 = *(u32 *)(r1 + 4)\nr0 = 1\nexit', ProgType.CGROUP_SOCK_ADDR, C4);
  rejects('r2 = *(u32 *)(r1 + 4)\nr0 = 1\nexit', ProgType.CGROUP_SOCK_ADDR, C6, /user_ip4 is only accessible to IPv4 hooks/);
  rejects('r2 = *(u32 *)(r1 + 8)\nr0 = 1\nexit', ProgType.CGROUP_SOCK_ADDR, C4, /user_ip6 is only accessible to IPv6 hooks/);
  accepts('r2 = *(u16 *)(r1 + 26)\nr0 = 1\nexit', ProgType.CGROUP_SOCK_ADDR, C4); // narrow read of user_port
  accepts('r2 = *(u64 *)(r1 + 16)\nr0 = 1\nexit', ProgType.CGROUP_SOCK_ADDR, C6); // wide read of user_ip6[2..3]
  rejects('r2 = *(u64 *)(r1 + 48)\nr0 = 1\nexit', ProgType.CGROUP_SOCK_ADDR, C6, /msg_src_ip6 is only accessible to sendmsg6/);
  accepts('r2 = *(u64 *)(r1 + 48)\nr0 = 1\nexit', ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UDP6_SENDMSG);
  rejects('r2 = 1\n*(u16 *)(r1 + 24) = r2\nr0 = 1\nexit', ProgType.CGROUP_SOCK_ADDR, C4, /writes to user_port must be 4 bytes/);
  rejects('r2 = 1\n*(u32 *)(r1 + 28) = r2\nr0 = 1\nexit', ProgType.CGROUP_SOCK_ADDR, C4, /family is read-only/);
  rejects('r2 = *(u16 *)(r1 + 28)\nr0 = 1\nexit', ProgType.CGROUP_SOCK_ADDR, C4, /4-byte load/);
  rejects('r0 = 2\nexit', ProgType.CGROUP_SOCK_ADDR, C4, /must be in \[0, 1\]/);
  accepts('r0 = 3\nexit', ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET4_BIND);
  rejects('r0 = 0\nexit', ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_UDP4_RECVMSG, /must be in \[1, 1\]/);
  // sk is a PTR_TO_SOCKET (never NULL here); socket pointers are covered by sock-ptr.test.ts.
  accepts('r2 = *(u64 *)(r1 + 64)\nr2 = *(u32 *)(r2 + 4)\nr0 = 1\nexit', ProgType.CGROUP_SOCK_ADDR, C4);
  rejects('r2 = *(u32 *)(r1 + 64)\nr0 = 1\nexit', ProgType.CGROUP_SOCK_ADDR, C4, /sk is a read-only 64-bit pointer/);
});

test('cgroup sysctl: write is read-only, file_pos is read-write, sysctl helpers', () => {
  const S = ProgType.CGROUP_SYSCTL;
  accepts('r2 = *(u8 *)(r1 + 0)\nr2 = *(u32 *)(r1 + 4)\nr0 = 1\nexit', S, AttachType.CGROUP_SYSCTL);
  rejects('r2 = 0\n*(u32 *)(r1 + 0) = r2\nr0 = 1\nexit', S, AttachType.CGROUP_SYSCTL, /write is read-only/);
  accepts('r2 = 0\n*(u32 *)(r1 + 4) = r2\nr0 = 1\nexit', S, AttachType.CGROUP_SYSCTL);
  rejects('r0 = *(u32 *)(r1 + 8)\nr0 = 1\nexit', S, AttachType.CGROUP_SYSCTL, /past the end of struct bpf_sysctl/);
  accepts('r2 = r10\nr2 += -16\nr3 = 16\nr4 = 0\ncall bpf_sysctl_get_name\nr0 = 1\nexit', S, AttachType.CGROUP_SYSCTL);
  rejects('r2 = r10\nr2 += -16\nr3 = 32\nr4 = 0\ncall bpf_sysctl_get_name\nr0 = 1\nexit', S, AttachType.CGROUP_SYSCTL, /do not fit in the stack/);
  rejects('r2 = r10\nr2 += -16\nr3 = 16\nr4 = 0\ncall bpf_sysctl_get_name\nr0 = 1\nexit', ProgType.SOCK_OPS, undefined, /cannot be called from/);
});

test('sock_ops: 4-byte reads, 8-byte counters, reply/sk_txhash writes, skb_data as a read-only packet', () => {
  const O = ProgType.SOCK_OPS;
  accepts('r2 = *(u32 *)(r1 + 0)\nr2 = *(u64 *)(r1 + 168)\nr2 = 1\n*(u32 *)(r1 + 4) = r2\n*(u32 *)(r1 + 164) = r2\nr0 = 1\nexit', O);
  rejects('r2 = *(u16 *)(r1 + 68)\nr0 = 1\nexit', O, undefined, /local_port must be read with a 4-byte load/);
  rejects('r2 = 1\n*(u32 *)(r1 + 8) = r2\nr0 = 1\nexit', O, undefined, /read-only \(only reply and sk_txhash/);
  const pkt = 'r2 = *(u64 *)(r1 + 192)\nr3 = *(u64 *)(r1 + 200)\nr4 = r2\nr4 += 1\nif r4 > r3 goto +1\n';
  accepts(`${pkt}r0 = *(u8 *)(r2 + 0)\nr0 = 1\nexit`, O);
  rejects(`${pkt}*(u8 *)(r2 + 0) = 1\nr0 = 1\nexit`, O, undefined, /may only read/);
  rejects('r2 = *(u8 *)(r1 + 213)\nr0 = 1\nexit', O, undefined, /skb_tcp_flags must be read at its start/);
});

test('sk_msg: 64-bit packet pointers, read-only context, msg helpers and their map types', () => {
  const M = ProgType.SK_MSG;
  accepts('r2 = *(u64 *)(r1 + 0)\nr3 = *(u64 *)(r1 + 8)\nr4 = r2\nr4 += 4\nif r4 > r3 goto +1\n*(u32 *)(r2 + 0) = r4\nr0 = 1\nexit', M);
  rejects('r2 = *(u32 *)(r1 + 0)\nr0 = 1\nexit', M, undefined, /data must be read with an 8-byte load/);
  rejects('r2 = 0\n*(u32 *)(r1 + 68) = r2\nr0 = 1\nexit', M, undefined, /read-only/);
  accepts('r2 = map[fd:3]\nr3 = 0\nr4 = 0\ncall bpf_msg_redirect_map\nexit', M, undefined, { 3: SOCKMAP });
  rejects('r2 = map[fd:3]\nr3 = 0\nr4 = 0\ncall bpf_msg_redirect_map\nexit', M, undefined, /cannot be used with bpf_msg_redirect_map/, { 3: HASH });
  rejects('r6 = r1\nr2 = *(u64 *)(r1 + 0)\nr3 = *(u64 *)(r1 + 8)\nr4 = r2\nr4 += 1\nif r4 > r3 goto +6\nr7 = r2\nr1 = r6\nr2 = 0\nr3 = 1\nr4 = 0\ncall bpf_msg_pull_data\nr0 = *(u8 *)(r7 + 0)\nr0 = 1\nexit', M, undefined, /r7 holds a scalar/);
});

test('sk_skb: __sk_buff with packet access, no mark, writes only to tc_index and priority', () => {
  const K = ProgType.SK_SKB;
  const V = AttachType.SK_SKB_STREAM_VERDICT;
  accepts('r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = r2\nr4 += 2\nif r4 > r3 goto +1\n*(u16 *)(r2 + 0) = r4\nr2 = *(u32 *)(r1 + 92)\nr0 = 1\nexit', K, V);
  rejects('r2 = *(u32 *)(r1 + 8)\nr0 = 1\nexit', K, V, /mark is not accessible to sk_skb/);
  rejects('r2 = 0\n*(u32 *)(r1 + 48) = r2\nr0 = 1\nexit', K, V, /read-only for sk_skb/);
  accepts('r2 = 0\n*(u32 *)(r1 + 32) = r2\nr0 = 1\nexit', K, V);
  accepts('r2 = map[fd:3]\nr3 = 0\nr4 = 0\ncall bpf_sk_redirect_map\nexit', K, V, { 3: SOCKMAP });
});

test('flow dissector: data/data_end/flow_keys only; flow keys readable and writable within 56 bytes', () => {
  const F = ProgType.FLOW_DISSECTOR;
  const A = AttachType.FLOW_DISSECTOR;
  accepts('r2 = *(u64 *)(r1 + 144)\nr3 = *(u16 *)(r2 + 0)\n*(u32 *)(r2 + 52) = r3\nr2 += 8\n*(u8 *)(r2 + 1) = r3\nr0 = 0\nexit', F, A);
  rejects('r2 = *(u64 *)(r1 + 144)\nr3 = *(u32 *)(r2 + 56)\nr0 = 0\nexit', F, A, /outside the 56-byte struct bpf_flow_keys/);
  rejects('r2 = *(u64 *)(r1 + 144)\nr3 = *(u16 *)(r2 - 2)\nr0 = 0\nexit', F, A, /outside the 56-byte struct bpf_flow_keys/);
  rejects('r2 = *(u64 *)(r1 + 144)\nr3 = 1\nlock *(u32 *)(r2 + 0) += r3\nr0 = 0\nexit', F, A, /atomic operation on the flow keys/);
  rejects('r2 = *(u32 *)(r1 + 0)\nr0 = 0\nexit', F, A, /not accessible to flow dissectors/);
  rejects('r2 = *(u32 *)(r1 + 144)\nr0 = 0\nexit', F, A, /flow_keys must be read with an 8-byte load/);
  rejects('r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = r2\nr4 += 1\nif r4 > r3 goto +1\n*(u8 *)(r2 + 0) = 1\nr0 = 0\nexit', F, A, /may only read/);
});
