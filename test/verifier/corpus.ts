/**
 * Hand-written verifier cases (LLVM assembly): programs that must be rejected, with the pc and reason bpfkit's
 * verifier must give, and a few that must be accepted. `kernel` is the verdict expected from the real kernel
 * loading as root; `strictOnly` marks programs the kernel lets root load but bpfkit refuses by default
 * (uninitialised stack reads, pointer return values): with `strict: false` bpfkit accepts them too.
 * Map placeholders: MAP_HASH (hash u32 → u64), MAP_ARR (array u32 → 16-byte value), MAP_RO (array, read-only
 * for programs), MAP_RB (ring buffer), MAP_PROG (prog array).
 */

export interface CorpusCase {
  name: string;
  /** Key of `ProgType`. */
  type: 'SOCKET_FILTER' | 'SCHED_CLS' | 'XDP' | 'CGROUP_SKB' | 'KPROBE' | 'TRACEPOINT' | 'RAW_TRACEPOINT';
  text: string;
  /** Expected rejection: pc and a pattern of the reason; absent for programs that must be accepted. */
  reject?: { pc: number; why: RegExp };
  /** Kernel (root) verdict. */
  kernel: 'accept' | 'reject';
  strictOnly?: boolean;
  /** Use a smaller instruction budget (unbounded loops), to keep the test fast. */
  maxInsns?: number;
}

const LOOKUP = `r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
r1 = map[fd:MAP_HASH]
call bpf_map_lookup_elem`;

const XDP_PKT = `r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)`;

/** Nested calls: main + `depth` functions, each calling the next. */
function nestedCalls(depth: number): string {
  const out = ['call f1', 'r0 = 0', 'exit'];
  for (let d = 1; d <= depth; d++) out.push(`f${d}:`, d < depth ? `call f${d + 1}` : 'r0 = 0', 'r0 = 0', 'exit');
  return out.join('\n');
}

export const CORPUS: CorpusCase[] = [
  // ---- registers ----
  { name: 'uninitialised register read', type: 'SOCKET_FILTER', text: 'r0 = r2\nexit', reject: { pc: 0, why: /r2 is read before anything was written/ }, kernel: 'reject' },
  { name: 'exit without r0', type: 'SOCKET_FILTER', text: 'r1 = 0\nexit', reject: { pc: 1, why: /exits without setting r0/ }, kernel: 'reject' },
  { name: 'write to r10', type: 'SOCKET_FILTER', text: 'r10 = 0\nr0 = 0\nexit', reject: { pc: 0, why: /r10 .* read-only/ }, kernel: 'reject' },
  { name: 'add to r10', type: 'SOCKET_FILTER', text: 'r10 += 8\nr0 = 0\nexit', reject: { pc: 0, why: /r10 .* read-only/ }, kernel: 'reject' },
  { name: 'uninitialised r1 after a helper call', type: 'SOCKET_FILTER', text: 'call bpf_ktime_get_ns\nr0 = r1\nexit', reject: { pc: 1, why: /r1 is read before/ }, kernel: 'reject' },
  // ---- stack ----
  { name: 'uninitialised stack read', type: 'SOCKET_FILTER', text: 'r0 = *(u64 *)(r10 - 8)\nexit', reject: { pc: 0, why: /never written \(uninitialised stack\)/ }, kernel: 'accept', strictOnly: true },
  { name: 'stack read below the frame', type: 'SOCKET_FILTER', text: 'r0 = *(u64 *)(r10 - 520)\nexit', reject: { pc: 0, why: /outside the 512-byte stack/ }, kernel: 'reject' },
  { name: 'stack write above the frame pointer', type: 'SOCKET_FILTER', text: '*(u64 *)(r10 + 0) = 1\nr0 = 0\nexit', reject: { pc: 0, why: /outside the 512-byte stack/ }, kernel: 'reject' },
  { name: 'misaligned stack access', type: 'SOCKET_FILTER', text: 'r1 = 0\n*(u64 *)(r10 - 8) = r1\nr0 = *(u32 *)(r10 - 6)\nexit', reject: { pc: 2, why: /misaligned stack access/ }, kernel: 'reject' },
  { name: 'stack pointer plus unbounded scalar', type: 'SOCKET_FILTER', text: 'call bpf_get_prandom_u32\nr2 = r10\nr2 += r0\nr0 = 0\nexit', reject: { pc: 2, why: /no lower bound/ }, kernel: 'reject' },
  // ---- maps ----
  { name: 'NULL map value dereference', type: 'SOCKET_FILTER', text: `${LOOKUP}\nr1 = *(u64 *)(r0 + 0)\nr0 = 0\nexit`, reject: { pc: 7, why: /r0 may be NULL here: bpf_map_lookup_elem at insn 6/ }, kernel: 'reject' },
  { name: 'dereference on the NULL branch', type: 'SOCKET_FILTER', text: `${LOOKUP}\nif r0 != 0 goto +1\nr1 = *(u64 *)(r0 + 0)\nr0 = 0\nexit`, reject: { pc: 8, why: /holds a scalar/ }, kernel: 'reject' },
  { name: 'map value read past value_size', type: 'SOCKET_FILTER', text: `${LOOKUP}\nif r0 == 0 goto +1\nr1 = *(u64 *)(r0 + 8)\nr0 = 0\nexit`, reject: { pc: 8, why: /outside the 8-byte map value/ }, kernel: 'reject' },
  { name: 'map value negative offset', type: 'SOCKET_FILTER', text: `${LOOKUP}\nif r0 == 0 goto +1\nr1 = *(u32 *)(r0 - 4)\nr0 = 0\nexit`, reject: { pc: 8, why: /outside the 8-byte map value/ }, kernel: 'reject' },
  {
    name: 'map value unbounded variable index',
    type: 'SOCKET_FILTER',
    text: `${LOOKUP}\nif r0 == 0 goto +5\nr6 = r0\ncall bpf_get_prandom_u32\nr0 &= 0xffff\nr6 += r0\nr1 = *(u8 *)(r6 + 0)\nr0 = 0\nexit`,
    reject: { pc: 12, why: /may run past the end of the 8-byte map value/ },
    kernel: 'reject',
  },
  { name: 'map key not initialised', type: 'SOCKET_FILTER', text: 'r2 = r10\nr2 += -4\nr1 = map[fd:MAP_HASH]\ncall bpf_map_lookup_elem\nr0 = 0\nexit', reject: { pc: 4, why: /key \(r2\): stack byte r10-4 .* not initialised/ }, kernel: 'accept', strictOnly: true },
  { name: 'map key pointer is a scalar', type: 'SOCKET_FILTER', text: 'r2 = 0\nr1 = map[fd:MAP_HASH]\ncall bpf_map_lookup_elem\nr0 = 0\nexit', reject: { pc: 3, why: /key \(r2\) must point to the stack/ }, kernel: 'reject' },
  { name: 'map argument is not a map', type: 'SOCKET_FILTER', text: 'r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = 0\ncall bpf_map_lookup_elem\nr0 = 0\nexit', reject: { pc: 5, why: /argument 1 \(r1\) must be a map/ }, kernel: 'reject' },
  { name: 'key runs past the stack top', type: 'SOCKET_FILTER', text: 'r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -2\nr1 = map[fd:MAP_HASH]\ncall bpf_map_lookup_elem\nr0 = 0\nexit', reject: { pc: 6, why: /do not fit in the stack/ }, kernel: 'reject' },
  {
    name: 'write to a read-only map',
    type: 'SOCKET_FILTER',
    text: 'r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map[fd:MAP_RO]\ncall bpf_map_lookup_elem\nif r0 == 0 goto +2\nr1 = 1\n*(u64 *)(r0 + 0) = r1\nr0 = 0\nexit',
    reject: { pc: 9, why: /read-only for programs/ },
    kernel: 'reject',
  },
  { name: 'tail call with a hash map', type: 'SOCKET_FILTER', text: 'r2 = map[fd:MAP_HASH]\nr3 = 0\ncall bpf_tail_call\nr0 = 0\nexit', reject: { pc: 3, why: /cannot be used with bpf_tail_call/ }, kernel: 'reject' },
  { name: 'pointer arithmetic on a map pointer', type: 'SOCKET_FILTER', text: 'r1 = map[fd:MAP_HASH]\nr1 += 8\nr0 = 0\nexit', reject: { pc: 2, why: /arithmetic on map MAP_HASH is not allowed|arithmetic on map/ }, kernel: 'reject' },
  { name: 'arithmetic on a possibly-NULL map value', type: 'SOCKET_FILTER', text: `${LOOKUP}\nr0 += 4\nr0 = 0\nexit`, reject: { pc: 7, why: /may be NULL/ }, kernel: 'reject' },
  // ---- ring buffer references ----
  { name: 'ring buffer record never submitted', type: 'SOCKET_FILTER', text: 'r1 = map[fd:MAP_RB]\nr2 = 8\nr3 = 0\ncall bpf_ringbuf_reserve\nif r0 == 0 goto +0\nr0 = 0\nexit', reject: { pc: 7, why: /still holding the bpf_ringbuf_reserve result from insn 4/ }, kernel: 'reject' },
  { name: 'ring buffer record NULL dereference', type: 'SOCKET_FILTER', text: 'r1 = map[fd:MAP_RB]\nr2 = 8\nr3 = 0\ncall bpf_ringbuf_reserve\nr1 = 1\n*(u64 *)(r0 + 0) = r1\nr0 = 0\nexit', reject: { pc: 6, why: /r0 may be NULL here/ }, kernel: 'reject' },
  {
    name: 'ring buffer record used after submit',
    type: 'SOCKET_FILTER',
    text: 'r1 = map[fd:MAP_RB]\nr2 = 8\nr3 = 0\ncall bpf_ringbuf_reserve\nif r0 == 0 goto +6\nr6 = r0\nr1 = r0\nr2 = 0\ncall bpf_ringbuf_submit\nr1 = 1\n*(u64 *)(r6 + 0) = r1\nr0 = 0\nexit',
    reject: { pc: 11, why: /holds a scalar/ },
    kernel: 'reject',
  },
  { name: 'ring buffer record written past its size', type: 'SOCKET_FILTER', text: 'r1 = map[fd:MAP_RB]\nr2 = 8\nr3 = 0\ncall bpf_ringbuf_reserve\nif r0 == 0 goto +5\nr1 = 1\n*(u64 *)(r0 + 4) = r1\nr1 = r0\nr2 = 0\ncall bpf_ringbuf_submit\nr0 = 0\nexit', reject: { pc: 7, why: /outside the 8-byte ring buffer record/ }, kernel: 'reject' },
  // ---- packets ----
  { name: 'packet read without a bounds check', type: 'XDP', text: `${XDP_PKT}\nr0 = *(u8 *)(r2 + 0)\nr0 = 2\nexit`, reject: { pc: 2, why: /without a bounds check/ }, kernel: 'reject' },
  { name: 'packet read past the checked range', type: 'XDP', text: `${XDP_PKT}\nr4 = r2\nr4 += 8\nif r4 > r3 goto +1\nr0 = *(u32 *)(r2 + 6)\nr0 = 2\nexit`, reject: { pc: 5, why: /only 8 bytes .* were checked/ }, kernel: 'reject' },
  { name: 'packet read on the failed-check branch', type: 'XDP', text: `${XDP_PKT}\nr4 = r2\nr4 += 8\nif r4 > r3 goto +2\nr0 = 2\nexit\nr0 = *(u8 *)(r2 + 0)\nr0 = 2\nexit`, reject: { pc: 7, why: /without a bounds check/ }, kernel: 'reject' },
  { name: 'arithmetic on data_end', type: 'XDP', text: `${XDP_PKT}\nr3 += 1\nr0 = 2\nexit`, reject: { pc: 2, why: /arithmetic on the packet end pointer/ }, kernel: 'reject' },
  { name: 'packet write from cgroup_skb', type: 'CGROUP_SKB', text: 'r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = r2\nr4 += 1\nif r4 > r3 goto +1\n*(u8 *)(r2 + 0) = 0\nr0 = 1\nexit', reject: { pc: 5, why: /may only read/ }, kernel: 'reject' },
  { name: 'packet pointer from a socket filter', type: 'SOCKET_FILTER', text: 'r2 = *(u32 *)(r1 + 76)\nr0 = 0\nexit', reject: { pc: 0, why: /not accessible to socket filters/ }, kernel: 'reject' },
  { name: 'stale packet pointer after bpf_xdp_adjust_head', type: 'XDP', text: `r6 = r1\n${XDP_PKT}\nr4 = r2\nr4 += 1\nif r4 > r3 goto +5\nr7 = r2\nr1 = r6\nr2 = 0\ncall bpf_xdp_adjust_head\nr0 = *(u8 *)(r7 + 0)\nr0 = 2\nexit`, reject: { pc: 10, why: /holds a scalar/ }, kernel: 'reject' },
  // ---- context ----
  { name: 'write to a read-only context field', type: 'SCHED_CLS', text: 'r2 = 1\n*(u32 *)(r1 + 0) = r2\nr0 = 0\nexit', reject: { pc: 1, why: /__sk_buff.len is read-only for tc programs/ }, kernel: 'reject' },
  { name: 'context read past the end', type: 'XDP', text: 'r0 = *(u32 *)(r1 + 24)\nr0 = 2\nexit', reject: { pc: 0, why: /past the end of struct xdp_md/ }, kernel: 'reject' },
  { name: 'misaligned narrow context read', type: 'SCHED_CLS', text: 'r0 = *(u16 *)(r1 + 1)\nr0 = 0\nexit', reject: { pc: 0, why: /not a multiple of the access size/ }, kernel: 'reject' },
  { name: '8-byte read of xdp_md.data', type: 'XDP', text: 'r0 = *(u64 *)(r1 + 0)\nr0 = 2\nexit', reject: { pc: 0, why: /4-byte loads/ }, kernel: 'reject' },
  { name: 'modified context pointer', type: 'SOCKET_FILTER', text: 'r1 += 4\nr0 = *(u32 *)(r1 + 0)\nexit', reject: { pc: 1, why: /modified context pointer/ }, kernel: 'reject' },
  { name: 'tracepoint common fields', type: 'TRACEPOINT', text: 'r0 = *(u64 *)(r1 + 0)\nr0 = 0\nexit', reject: { pc: 0, why: /common fields/ }, kernel: 'reject' },
  { name: 'raw tracepoint context write', type: 'RAW_TRACEPOINT', text: 'r2 = 1\n*(u64 *)(r1 + 0) = r2\nr0 = 0\nexit', reject: { pc: 1, why: /read-only/ }, kernel: 'reject' },
  { name: 'kprobe read past pt_regs', type: 'KPROBE', text: 'r0 = *(u64 *)(r1 + 168)\nr0 = 0\nexit', reject: { pc: 0, why: /runs past the end of struct pt_regs/ }, kernel: 'reject' },
  // ---- pointer arithmetic ----
  { name: 'pointer plus pointer', type: 'SOCKET_FILTER', text: 'r2 = r10\nr2 += r1\nr0 = 0\nexit', reject: { pc: 1, why: /arithmetic between two pointers/ }, kernel: 'reject' },
  { name: 'bitwise and on a pointer', type: 'SOCKET_FILTER', text: 'r2 = r10\nr2 &= 0xff\nr0 = 0\nexit', reject: { pc: 1, why: /&= on a pointer/ }, kernel: 'reject' },
  { name: '32-bit pointer arithmetic', type: 'SOCKET_FILTER', text: 'w1 += 4\nr0 = 0\nexit', reject: { pc: 0, why: /32-bit arithmetic on a pointer/ }, kernel: 'reject' },
  { name: 'scalar minus pointer', type: 'SOCKET_FILTER', text: 'r2 = 8\nr2 -= r10\nr0 = 0\nexit', reject: { pc: 1, why: /subtracting a pointer from a scalar/ }, kernel: 'reject' },
  { name: 'dereference of a scalar', type: 'SOCKET_FILTER', text: 'r1 = 4096\nr0 = *(u64 *)(r1 + 0)\nexit', reject: { pc: 1, why: /holds a scalar .* not a pointer/ }, kernel: 'reject' },
  { name: 'shift out of range', type: 'SOCKET_FILTER', text: 'r0 = 1\nr0 <<= 64\nexit', reject: { pc: 1, why: /shift by 64 is out of range/ }, kernel: 'reject' },
  // ---- control flow ----
  { name: 'jump out of range', type: 'SOCKET_FILTER', text: 'r0 = 0\ngoto +5\nexit', reject: { pc: 1, why: /outside the program/ }, kernel: 'reject' },
  { name: 'jump into the middle of lddw', type: 'SOCKET_FILTER', text: 'r0 = 0\ngoto +1\nr1 = 0x100000000 ll\nexit', reject: { pc: 1, why: /middle of the 16-byte lddw/ }, kernel: 'reject' },
  { name: 'unreachable instruction', type: 'SOCKET_FILTER', text: 'r0 = 0\nexit\nr0 = 1\nexit', reject: { pc: 2, why: /can never be reached/ }, kernel: 'reject' },
  { name: 'falls off the end', type: 'SOCKET_FILTER', text: 'r0 = 0', reject: { pc: 0, why: /must be exit or goto/ }, kernel: 'reject' },
  { name: 'infinite loop', type: 'SOCKET_FILTER', text: 'r0 = 0\nl: goto l', reject: { pc: 1, why: /infinite loop/ }, kernel: 'reject' },
  { name: 'loop on an unknown value', type: 'SOCKET_FILTER', text: 'call bpf_get_prandom_u32\nl: r0 += -1\nif r0 != 0 goto l\nexit', reject: { pc: 2, why: /infinite loop|too complex/ }, kernel: 'reject', maxInsns: 50_000 },
  {
    name: 'unbounded loop',
    type: 'SOCKET_FILTER',
    text: 'call bpf_ktime_get_ns\nr6 = r0\nr1 = 0\nl: r1 += 1\nif r1 < r6 goto l\nr0 = 0\nexit',
    reject: { pc: 4, why: /too complex/ },
    kernel: 'reject',
    maxInsns: 50_000,
  },
  { name: 'calls nested too deep', type: 'SOCKET_FILTER', text: nestedCalls(8), reject: { pc: 21, why: /9 deep; at most 8/ }, kernel: 'reject' },
  { name: 'recursion', type: 'SOCKET_FILTER', text: 'call f\nexit\nf: call f\nr0 = 0\nexit', reject: { pc: 2, why: /recursive call/ }, kernel: 'reject' },
  { name: 'unknown helper', type: 'SOCKET_FILTER', text: 'call 9999\nr0 = 0\nexit', reject: { pc: 0, why: /unknown helper|invalid instruction/ }, kernel: 'reject' },
  { name: 'helper not available to the program type', type: 'XDP', text: 'r2 = 0\nr3 = r10\nr3 += -8\nr4 = 8\ncall bpf_skb_load_bytes\nr0 = 2\nexit', reject: { pc: 4, why: /cannot be called from xdp programs/ }, kernel: 'reject' },
  { name: 'helper size without an upper bound', type: 'KPROBE', text: 'r6 = r1\ncall bpf_get_prandom_u32\nr2 = r0\nr1 = r10\nr1 += -16\nr3 = 0\ncall bpf_probe_read_kernel\nr0 = 0\nexit', reject: { pc: 6, why: /may be negative|no usable upper bound/ }, kernel: 'reject' },
  { name: 'callback without BTF func_info', type: 'SOCKET_FILTER', text: 'r1 = 4\nld_pseudo r2, 4, 6\nr3 = 0\nr4 = 0\ncall bpf_loop\nr0 = 0\nexit\nr0 = 2\nexit', reject: { pc: 1, why: /func_info/ }, kernel: 'reject' },
  // ---- return values ----
  { name: 'returning a pointer from cgroup_skb', type: 'CGROUP_SKB', text: 'r0 = r1\nexit', reject: { pc: 1, why: /must be a number in \[0, 1\]/ }, kernel: 'reject' },
  { name: 'cgroup_skb returns 2', type: 'CGROUP_SKB', text: 'r0 = 2\nexit', reject: { pc: 1, why: /must be in \[0, 1\]/ }, kernel: 'reject' },
  { name: 'returning a pointer from a socket filter', type: 'SOCKET_FILTER', text: 'r0 = r10\nexit', reject: { pc: 1, why: /returns a pointer/ }, kernel: 'accept', strictOnly: true },
  // ---- accepted ----
  { name: 'null-checked map lookup', type: 'SOCKET_FILTER', text: `${LOOKUP}\nif r0 == 0 goto +2\nr1 = 1\nlock *(u64 *)(r0 + 0) += r1\nr0 = 0\nexit`, kernel: 'accept' },
  { name: 'bounds-checked packet read', type: 'XDP', text: `${XDP_PKT}\nr4 = r2\nr4 += 14\nif r4 > r3 goto +1\nr0 = *(u16 *)(r2 + 12)\nr0 = 2\nexit`, kernel: 'accept' },
  { name: 'bounded loop', type: 'SOCKET_FILTER', text: 'r0 = 0\nr1 = 0\nl: r0 += r1\nr1 += 1\nif r1 < 100 goto l\nexit', kernel: 'accept' },
  { name: 'division by a possibly-zero register', type: 'SOCKET_FILTER', text: 'call bpf_get_prandom_u32\nr1 = 100\nr1 /= r0\nr0 = r1\nexit', kernel: 'accept' },
  {
    name: 'bounded variable map index',
    type: 'SOCKET_FILTER',
    text: `${LOOKUP}\nif r0 == 0 goto +5\nr6 = r0\ncall bpf_get_prandom_u32\nr0 &= 7\nr6 += r0\nr1 = *(u8 *)(r6 + 0)\nr0 = 0\nexit`,
    kernel: 'accept',
  },
  { name: 'bpf_loop callback without BTF func_info', type: 'SOCKET_FILTER', text: 'r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = 10\nld_pseudo r2, 4, 7\nr3 = r10\nr3 += -8\nr4 = 0\ncall bpf_loop\nr0 = *(u64 *)(r10 - 8)\nexit\nr3 = *(u64 *)(r2 + 0)\nr3 += r1\n*(u64 *)(r2 + 0) = r3\nr0 = 0\nexit', reject: { pc: 3, why: /func_info/ }, kernel: 'reject' },
  { name: 'data_end minus data', type: 'XDP', text: `${XDP_PKT}\nr3 -= r2\nr0 = 2\nexit`, kernel: 'accept' },
];
