// Counts calls per pid in a hash map: a kprobe (this kernel has no kprobes, so it only loads elsewhere)
// and a tracepoint twin on sys_enter_openat plus a raw tracepoint on sys_enter that can be tested here.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline void count_pid(void)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *val;

	val = bpf_map_lookup_elem(&counts, &pid);
	if (val)
		__sync_fetch_and_add(val, 1);
	else
		bpf_map_update_elem(&counts, &pid, &one, BPF_NOEXIST);
}

SEC("kprobe/do_sys_openat2")
int count_kprobe(void *ctx)
{
	count_pid();
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int count_openat(void *ctx)
{
	count_pid();
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} syscalls_total SEC(".maps");

SEC("raw_tp/sys_enter")
int count_sys_enter(void *ctx)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&syscalls_total, &zero);

	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
