/**
 * Socket pointer cases (LLVM assembly) for the verifier: socket lookups and bpf_sk_release (reference tracking),
 * NULL checks, struct bpf_sock / bpf_tcp_sock field reads, `sk` loads from the contexts, casts (sk_fullsock,
 * tcp_sock, get_listener_sock) and sockmap lookups. `kernel` is the real kernel's verdict (root), which
 * sock-ptr.test.ts checks against the kernel itself; `why` is the reason bpfkit must give for a rejection.
 * Map placeholder: SOCKMAP (sockmap, u32 → u64).
 */

export interface SockCase {
  name: string;
  /** Key of `ProgType`. */
  type: 'SCHED_CLS' | 'XDP' | 'CGROUP_SKB' | 'SK_SKB' | 'CGROUP_SOCK_ADDR' | 'SOCK_OPS' | 'SK_MSG' | 'SOCKET_FILTER';
  /** Key of `AttachType`. */
  attach?: string;
  text: string;
  kernel: 'accept' | 'reject';
  /** bpfkit's reason for a rejection. */
  why?: RegExp;
}

/** r6 = ctx; a zeroed 12-byte IPv4 tuple at r10-16; lookup in the current netns. `fn`: the lookup helper. */
const lookup = (fn = 'bpf_sk_lookup_tcp') => `r6 = r1
r2 = 0
*(u64 *)(r10 - 16) = r2
*(u32 *)(r10 - 8) = r2
r1 = r6
r2 = r10
r2 += -16
r3 = 12
r4 = -1
r5 = 0
call ${fn}`;
/** Instructions of `lookup()`: the call is at pc 10, the next instruction at 11. */

const release = (reg = 'r0') => `r1 = ${reg}\ncall bpf_sk_release`;
const SKB_SK = 'r2 = *(u64 *)(r1 + 168)';
const SOCKMAP_LOOKUP = `r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map[fd:SOCKMAP]
call bpf_map_lookup_elem`;

export const SOCK_CASES: SockCase[] = [
  // ---- lookups and bpf_sk_release ----
  { name: 'lookup, NULL check, release', type: 'SCHED_CLS', text: `${lookup()}\nif r0 == 0 goto +2\n${release()}\nr0 = 0\nexit`, kernel: 'accept' },
  { name: 'lookup never released', type: 'SCHED_CLS', text: `${lookup()}\nif r0 == 0 goto +0\nr0 = 0\nexit`, kernel: 'reject', why: /still holding the bpf_sk_lookup_tcp result from insn 10: it must be released \(bpf_sk_release\)/ },
  { name: 'lookup result dropped without a NULL check', type: 'SCHED_CLS', text: `${lookup()}\nr0 = 0\nexit`, kernel: 'reject', why: /still holding the bpf_sk_lookup_tcp result/ },
  { name: 'release without a NULL check', type: 'SCHED_CLS', text: `${lookup()}\n${release()}\nr0 = 0\nexit`, kernel: 'reject', why: /socket \(r1\) may be NULL/ },
  { name: 'double release', type: 'SCHED_CLS', text: `${lookup()}\nif r0 == 0 goto +5\nr7 = r0\n${release('r7')}\n${release('r7')}\nr0 = 0\nexit`, kernel: 'reject', why: /must be a socket pointer, but it is scalar/ },
  { name: 'field read after release', type: 'SCHED_CLS', text: `${lookup()}\nif r0 == 0 goto +4\nr7 = r0\n${release('r7')}\nr0 = *(u32 *)(r7 + 4)\nr0 = 0\nexit`, kernel: 'reject', why: /r7 holds a scalar/ },
  { name: 'released on one branch only', type: 'SCHED_CLS', text: `${lookup()}\nif r0 == 0 goto +4\nr1 = *(u32 *)(r0 + 4)\nif r1 == 2 goto +2\n${release()}\nr0 = 0\nexit`, kernel: 'reject', why: /still holding the bpf_sk_lookup_tcp result/ },
  { name: 'field read before the NULL check', type: 'SCHED_CLS', text: `${lookup()}\nr1 = *(u32 *)(r0 + 4)\nr0 = 0\nexit`, kernel: 'reject', why: /r0 may be NULL here: bpf_sk_lookup_tcp at insn 10/ },
  { name: 'udp lookup from xdp', type: 'XDP', text: `${lookup('bpf_sk_lookup_udp')}\nif r0 == 0 goto +2\n${release()}\nr0 = 2\nexit`, kernel: 'accept' },
  { name: 'lookup from sk_skb', type: 'SK_SKB', attach: 'SK_SKB_STREAM_VERDICT', text: `${lookup()}\nif r0 == 0 goto +2\n${release()}\nr0 = 1\nexit`, kernel: 'accept' },
  { name: 'lookup from cgroup_skb', type: 'CGROUP_SKB', attach: 'CGROUP_INET_INGRESS', text: `${lookup()}\nif r0 == 0 goto +2\n${release()}\nr0 = 1\nexit`, kernel: 'accept' },
  { name: 'lookup from a socket filter', type: 'SOCKET_FILTER', text: `${lookup()}\nif r0 == 0 goto +2\n${release()}\nr0 = 0\nexit`, kernel: 'reject', why: /cannot be called from/ },
  { name: 'lookup from sock_addr connect4', type: 'CGROUP_SOCK_ADDR', attach: 'CGROUP_INET4_CONNECT', text: `${lookup()}\nif r0 == 0 goto +2\n${release()}\nr0 = 1\nexit`, kernel: 'accept' },
  { name: 'tuple size past the stack top', type: 'SCHED_CLS', text: `${lookup().replace('r3 = 12', 'r3 = 24')}\nif r0 == 0 goto +2\n${release()}\nr0 = 0\nexit`, kernel: 'reject', why: /do not fit in the stack/ },
  { name: 'spilled socket released after a fill', type: 'SCHED_CLS', text: `${lookup()}\nif r0 == 0 goto +3\n*(u64 *)(r10 - 24) = r0\nr1 = *(u64 *)(r10 - 24)\ncall bpf_sk_release\nr0 = 0\nexit`, kernel: 'accept' },
  { name: 'pointer arithmetic on a socket', type: 'SCHED_CLS', text: `${lookup()}\nif r0 == 0 goto +3\nr0 += 4\n${release()}\nr0 = 0\nexit`, kernel: 'reject', why: /arithmetic on .*socket.* is not allowed/ },
  { name: 'write to a socket field', type: 'SCHED_CLS', text: `${lookup()}\nif r0 == 0 goto +4\nr1 = 1\n*(u32 *)(r0 + 16) = r1\n${release()}\nr0 = 0\nexit`, kernel: 'reject', why: /writes through a socket pointer/ },
  { name: 'tail call while holding a socket', type: 'SCHED_CLS', text: `${lookup()}\nif r0 == 0 goto +8\nr7 = r0\nr1 = r6\nr2 = map[fd:SOCKMAP]\nr3 = 0\ncall bpf_tail_call\n${release('r7')}\nr0 = 0\nexit`, kernel: 'reject', why: /bpf_tail_call while holding a reference|cannot be used with bpf_tail_call/ },
  { name: 'NULL check on a copy applies to the original', type: 'SCHED_CLS', text: `${lookup()}\nr7 = r0\nif r7 == 0 goto +3\nr8 = *(u32 *)(r0 + 4)\n${release()}\nr0 = 0\nexit`, kernel: 'accept' },
  { name: 'legacy packet load while holding a socket', type: 'SCHED_CLS', text: `${lookup()}\nif r0 == 0 goto +4\nr7 = r0\nr0 = *(u8 *)skb[0]\n${release('r7')}\nr0 = 0\nexit`, kernel: 'reject', why: /legacy packet loads cannot be mixed with held references/ },
  { name: 'released by a called function', type: 'SCHED_CLS', text: `${lookup()}\nif r0 == 0 goto +2\nr1 = r0\ncall rel\nr0 = 0\nexit\nrel:\ncall bpf_sk_release\nr0 = 0\nexit`, kernel: 'accept' },
  { name: 'released through bpf_tcp_sock of an skc lookup', type: 'SCHED_CLS', text: `${lookup('bpf_skc_lookup_tcp')}\nif r0 == 0 goto +10\nr7 = r0\nr1 = r0\ncall bpf_tcp_sock\nif r0 == 0 goto +4\n${release()}\nr0 = 0\nexit\n${release('r7')}\nr0 = 0\nexit`, kernel: 'accept' },
  {
    name: 'paths with and without the reference meet (no pruning across them)',
    type: 'SCHED_CLS',
    text: `${lookup()}\nif r0 == 0 goto +5\nr7 = r0\ncall bpf_get_prandom_u32\nif r0 > 5 goto +2\n${release('r7')}\nr0 = 0\nexit`,
    kernel: 'reject',
    why: /still holding the bpf_sk_lookup_tcp result from insn 10/,
  },
  // ---- struct bpf_sock fields ----
  ...(
    [
      ['family u32', 'u32', 4, 'accept'],
      ['family u16 (narrow)', 'u16', 4, 'accept'],
      ['family u8 at +5 (inside the field)', 'u8', 5, 'reject'],
      ['family u16 at +6 (inside the field)', 'u16', 6, 'reject'],
      ['state u8 (narrow at the start)', 'u8', 72, 'accept'],
      ['src_ip4 u8 at +27 (address: any byte)', 'u8', 27, 'accept'],
      ['dst_ip6[1] u16 at +62', 'u16', 62, 'accept'],
      ['src_port u16 at +46', 'u16', 46, 'reject'],
      ['type u32', 'u32', 8, 'accept'],
      ['mark u32', 'u32', 16, 'accept'],
      ['mark u16', 'u16', 16, 'reject'],
      ['bound_dev_if u8', 'u8', 0, 'reject'],
      ['src_ip6[3] u32', 'u32', 40, 'accept'],
      ['src_ip6 u64', 'u64', 32, 'reject'],
      ['dst_port u32 (port + padding)', 'u32', 48, 'accept'],
      ['dst_port u16', 'u16', 48, 'accept'],
      ['dst_port u8 at +49', 'u8', 49, 'accept'],
      ['padding after dst_port u16', 'u16', 50, 'reject'],
      ['padding after dst_port u8', 'u8', 51, 'reject'],
      ['rx_queue_mapping u32', 'u32', 76, 'accept'],
      ['past the end (80)', 'u32', 80, 'reject'],
      ['misaligned u32 at 6', 'u32', 6, 'reject'],
      ['u64 at 0', 'u64', 0, 'reject'],
    ] as const
  ).map(([what, size, off, kernel]): SockCase => ({
    name: `bpf_sock ${what}`,
    type: 'SCHED_CLS',
    text: `${lookup()}\nif r0 == 0 goto +3\nr7 = *(${size} *)(r0 + ${off})\n${release()}\nr0 = 0\nexit`,
    kernel,
    why: kernel === 'reject' ? /invalid read of struct bpf_sock/ : undefined,
  })),
  // ---- sock_common (skc_lookup_tcp, __sk_buff->sk) and casts ----
  { name: 'sock_common: family readable', type: 'SCHED_CLS', text: `${lookup('bpf_skc_lookup_tcp')}\nif r0 == 0 goto +3\nr7 = *(u32 *)(r0 + 4)\n${release()}\nr0 = 0\nexit`, kernel: 'accept' },
  { name: 'sock_common: type not readable', type: 'SCHED_CLS', text: `${lookup('bpf_skc_lookup_tcp')}\nif r0 == 0 goto +3\nr7 = *(u32 *)(r0 + 8)\n${release()}\nr0 = 0\nexit`, kernel: 'reject', why: /not readable through a sock_common pointer/ },
  {
    name: 'sk_fullsock of a looked-up sock_common, release the original',
    type: 'SCHED_CLS',
    text: `${lookup('bpf_skc_lookup_tcp')}\nif r0 == 0 goto +7\nr7 = r0\nr1 = r0\ncall bpf_sk_fullsock\nif r0 == 0 goto +1\nr8 = *(u32 *)(r0 + 8)\n${release('r7')}\nr0 = 0\nexit`,
    kernel: 'accept',
  },
  {
    name: 'sk_fullsock NULL does not drop the reference',
    type: 'SCHED_CLS',
    text: `${lookup('bpf_skc_lookup_tcp')}\nif r0 == 0 goto +6\nr7 = r0\nr1 = r0\ncall bpf_sk_fullsock\nif r0 == 0 goto +2\n${release()}\nr0 = 0\nexit`,
    kernel: 'reject',
    why: /still holding the bpf_skc_lookup_tcp result/,
  },
  {
    name: 'release through the sk_fullsock result',
    type: 'SCHED_CLS',
    text: `${lookup('bpf_skc_lookup_tcp')}\nif r0 == 0 goto +10\nr7 = r0\nr1 = r0\ncall bpf_sk_fullsock\nif r0 == 0 goto +4\n${release()}\nr0 = 0\nexit\n${release('r7')}\nr0 = 0\nexit`,
    kernel: 'accept',
  },
  {
    name: 'original unusable after releasing the cast',
    type: 'SCHED_CLS',
    text: `${lookup('bpf_skc_lookup_tcp')}\nif r0 == 0 goto +11\nr7 = r0\nr1 = r0\ncall bpf_sk_fullsock\nif r0 == 0 goto +5\n${release()}\nr0 = *(u32 *)(r7 + 4)\nr0 = 0\nexit\n${release('r7')}\nr0 = 0\nexit`,
    kernel: 'reject',
    why: /r7 holds a scalar/,
  },
  {
    name: 'tcp_sock fields: bytes_received u64',
    type: 'SCHED_CLS',
    text: `${lookup()}\nif r0 == 0 goto +7\nr7 = r0\nr1 = r0\ncall bpf_tcp_sock\nif r0 == 0 goto +1\nr8 = *(u64 *)(r0 + 80)\n${release('r7')}\nr0 = 0\nexit`,
    kernel: 'accept',
  },
  {
    name: 'tcp_sock fields: bytes_received u32',
    type: 'SCHED_CLS',
    text: `${lookup()}\nif r0 == 0 goto +7\nr7 = r0\nr1 = r0\ncall bpf_tcp_sock\nif r0 == 0 goto +1\nr8 = *(u32 *)(r0 + 80)\n${release('r7')}\nr0 = 0\nexit`,
    kernel: 'reject',
    why: /invalid read of struct bpf_tcp_sock/,
  },
  {
    name: 'tcp_sock fields: past the end',
    type: 'SCHED_CLS',
    text: `${lookup()}\nif r0 == 0 goto +7\nr7 = r0\nr1 = r0\ncall bpf_tcp_sock\nif r0 == 0 goto +1\nr8 = *(u32 *)(r0 + 112)\n${release('r7')}\nr0 = 0\nexit`,
    kernel: 'reject',
    why: /outside struct bpf_tcp_sock/,
  },
  {
    name: 'tcp_sock of a possibly-NULL socket',
    type: 'SCHED_CLS',
    text: `${lookup()}\nr7 = r0\nr1 = r0\ncall bpf_tcp_sock\nif r7 == 0 goto +2\n${release('r7')}\nr0 = 0\nexit`,
    kernel: 'reject',
    why: /may be NULL/,
  },
  // ---- __sk_buff->sk ----
  { name: 'skb->sk read after a NULL check', type: 'SCHED_CLS', text: `${SKB_SK}\nif r2 == 0 goto +1\nr0 = *(u32 *)(r2 + 4)\nr0 = 0\nexit`, kernel: 'accept' },
  { name: 'skb->sk read without a NULL check', type: 'SCHED_CLS', text: `${SKB_SK}\nr0 = *(u32 *)(r2 + 4)\nr0 = 0\nexit`, kernel: 'reject', why: /r2 may be NULL here/ },
  { name: 'skb->sk protocol (not sock_common)', type: 'SCHED_CLS', text: `${SKB_SK}\nif r2 == 0 goto +1\nr0 = *(u32 *)(r2 + 12)\nr0 = 0\nexit`, kernel: 'reject', why: /not readable through a sock_common pointer/ },
  { name: 'skb->sk as u32', type: 'SCHED_CLS', text: 'r2 = *(u32 *)(r1 + 168)\nr0 = 0\nexit', kernel: 'reject', why: /sk is a read-only 64-bit pointer/ },
  { name: 'skb->sk write', type: 'SCHED_CLS', text: 'r2 = 0\n*(u64 *)(r1 + 168) = r2\nr0 = 0\nexit', kernel: 'reject' },
  { name: 'skb->sk released (not referenced)', type: 'SCHED_CLS', text: `${SKB_SK}\nif r2 == 0 goto +2\n${release('r2')}\nr0 = 0\nexit`, kernel: 'reject', why: /was not acquired by a lookup/ },
  { name: 'sk_fullsock(skb->sk) then type', type: 'SCHED_CLS', text: `${SKB_SK}\nif r2 == 0 goto +4\nr1 = r2\ncall bpf_sk_fullsock\nif r0 == 0 goto +1\nr0 = *(u32 *)(r0 + 8)\nr0 = 0\nexit`, kernel: 'accept' },
  { name: 'sk_fullsock(skb->sk) without a NULL check of sk', type: 'SCHED_CLS', text: `${SKB_SK}\nr1 = r2\ncall bpf_sk_fullsock\nr0 = 0\nexit`, kernel: 'reject', why: /socket \(r1\) may be NULL/ },
  { name: 'sk_fullsock of a scalar', type: 'SCHED_CLS', text: 'r1 = 0\ncall bpf_sk_fullsock\nr0 = 0\nexit', kernel: 'reject', why: /must be a socket pointer/ },
  { name: 'get_listener_sock read', type: 'SCHED_CLS', text: `${SKB_SK}\nif r2 == 0 goto +4\nr1 = r2\ncall bpf_get_listener_sock\nif r0 == 0 goto +1\nr0 = *(u32 *)(r0 + 44)\nr0 = 0\nexit`, kernel: 'accept' },
  { name: 'get_listener_sock released', type: 'SCHED_CLS', text: `${SKB_SK}\nif r2 == 0 goto +5\nr1 = r2\ncall bpf_get_listener_sock\nif r0 == 0 goto +2\n${release()}\nr0 = 0\nexit`, kernel: 'reject', why: /was not acquired by a lookup/ },
  { name: 'skb->sk from cgroup_skb, tcp_sock', type: 'CGROUP_SKB', attach: 'CGROUP_INET_INGRESS', text: `${SKB_SK}\nif r2 == 0 goto +4\nr1 = r2\ncall bpf_tcp_sock\nif r0 == 0 goto +1\nr0 = *(u32 *)(r0 + 0)\nr0 = 1\nexit`, kernel: 'accept' },
  { name: 'skb->sk from a socket filter', type: 'SOCKET_FILTER', text: `${SKB_SK}\nif r2 == 0 goto +1\nr0 = *(u32 *)(r2 + 4)\nr0 = 0\nexit`, kernel: 'accept' },
  { name: 'skb->sk from sk_skb', type: 'SK_SKB', attach: 'SK_SKB_STREAM_VERDICT', text: `${SKB_SK}\nif r2 == 0 goto +1\nr0 = *(u32 *)(r2 + 4)\nr0 = 1\nexit`, kernel: 'accept' },
  // ---- sk of the socket-level contexts ----
  { name: 'sock_addr->sk needs no NULL check', type: 'CGROUP_SOCK_ADDR', attach: 'CGROUP_INET4_CONNECT', text: 'r2 = *(u64 *)(r1 + 64)\nr0 = *(u32 *)(r2 + 12)\nr0 = 1\nexit', kernel: 'accept' },
  { name: 'sock_addr->sk released', type: 'CGROUP_SOCK_ADDR', attach: 'CGROUP_INET4_CONNECT', text: `r2 = *(u64 *)(r1 + 64)\n${release('r2')}\nr0 = 1\nexit`, kernel: 'reject', why: /was not acquired by a lookup/ },
  { name: 'sock_ops->sk without a NULL check', type: 'SOCK_OPS', text: 'r2 = *(u64 *)(r1 + 184)\nr0 = *(u32 *)(r2 + 4)\nr0 = 1\nexit', kernel: 'reject', why: /r2 may be NULL here/ },
  { name: 'sock_ops->sk after a NULL check', type: 'SOCK_OPS', text: 'r2 = *(u64 *)(r1 + 184)\nif r2 == 0 goto +1\nr0 = *(u32 *)(r2 + 4)\nr0 = 1\nexit', kernel: 'accept' },
  { name: 'sk_msg->sk src_port', type: 'SK_MSG', text: 'r2 = *(u64 *)(r1 + 72)\nr0 = *(u32 *)(r2 + 44)\nr0 = 1\nexit', kernel: 'accept' },
  { name: 'sk_msg->sk written', type: 'SK_MSG', text: 'r2 = *(u64 *)(r1 + 72)\nr3 = 1\n*(u32 *)(r2 + 16) = r3\nr0 = 1\nexit', kernel: 'reject', why: /writes through a socket pointer/ },
  // ---- sockmap lookups ----
  { name: 'sockmap lookup, NULL check, read, release', type: 'SCHED_CLS', text: `${SOCKMAP_LOOKUP}\nif r0 == 0 goto +3\nr7 = *(u32 *)(r0 + 4)\n${release()}\nr0 = 0\nexit`, kernel: 'accept' },
  { name: 'sockmap lookup never released', type: 'SCHED_CLS', text: `${SOCKMAP_LOOKUP}\nif r0 == 0 goto +1\nr7 = *(u32 *)(r0 + 4)\nr0 = 0\nexit`, kernel: 'reject', why: /still holding the bpf_map_lookup_elem result/ },
  { name: 'sockmap value read as a u64', type: 'SCHED_CLS', text: `${SOCKMAP_LOOKUP}\nif r0 == 0 goto +3\nr7 = *(u64 *)(r0 + 0)\n${release()}\nr0 = 0\nexit`, kernel: 'reject', why: /invalid read of struct bpf_sock/ },
];
