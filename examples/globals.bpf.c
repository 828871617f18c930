// Global data and subprograms: .data, .bss, .rodata (`const volatile` settings), a custom .data.* section,
// static and global (non-inlined) subprograms called from two programs, a callback passed to bpf_loop
// (lddw of a function address), and .kconfig externs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* .rodata: settings fixed before load. */
const volatile __u32 multiplier = 3;
const volatile __u64 threshold = 1000;
const volatile char greeting[8] = "hello";

/* .data and .bss. */
__u64 total = 7;
__u32 calls;
__u64 last_value;

/* A named data section. */
__u32 custom_counter SEC(".data.custom") = 11;

/* .kconfig externs, resolved at load time (weak ones default to 0 when unknown). */
extern __u32 LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig __weak;
extern _Bool CONFIG_BPF_SYSCALL __kconfig __weak;
extern int CONFIG_BPFKIT_DOES_NOT_EXIST __kconfig __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} results SEC(".maps");

static __noinline __u64 scale(__u64 x)
{
	return x * multiplier;
}

__noinline __u64 accumulate(__u64 x)
{
	calls++;
	total += scale(x);
	custom_counter++;
	return total > threshold;
}

static int loop_body(__u32 index, void *ctx)
{
	__u64 *sum = ctx;

	*sum += index;
	return 0;
}

SEC("raw_tp/sys_enter")
int use_globals(void *ctx)
{
	__u64 sum = 0;
	__u32 key = 0;

	bpf_loop(4, loop_body, &sum, 0);
	last_value = accumulate(sum);
	bpf_map_update_elem(&results, &key, &sum, BPF_ANY);
	key = 1;
	__u64 kv = LINUX_KERNEL_VERSION;
	bpf_map_update_elem(&results, &key, &kv, BPF_ANY);
	key = 2;
	__u64 hz = CONFIG_HZ + (CONFIG_BPF_SYSCALL ? 1000000 : 0) + CONFIG_BPFKIT_DOES_NOT_EXIST;
	bpf_map_update_elem(&results, &key, &hz, BPF_ANY);
	return 0;
}

SEC("socket")
int socket_globals(struct __sk_buff *skb)
{
	if (greeting[0] != 'h')
		return 0;
	return accumulate(skb->len) ? 0 : skb->len;
}

char LICENSE[] SEC("license") = "GPL";
