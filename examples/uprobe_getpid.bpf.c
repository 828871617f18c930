// uprobe / uretprobe on libc's getpid: counts calls and records the last return value.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} getpid_stats SEC(".maps");

SEC("uprobe//lib/x86_64-linux-gnu/libc.so.6:getpid")
int getpid_enter(void *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&getpid_stats, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

SEC("uretprobe//lib/x86_64-linux-gnu/libc.so.6:getpid")
int getpid_exit(void *ctx)
{
	__u32 key = 1;
	__u64 ret = bpf_get_current_pid_tgid() >> 32;

	bpf_map_update_elem(&getpid_stats, &key, &ret, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
