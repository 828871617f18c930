// .ksyms externs: kernel functions (kfuncs) called from a raw tracepoint, resolved by BTF id at load time.
// (A `__ksym` variable would also need CONFIG_KALLSYMS_ALL, which this test machine's kernel lacks.)
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} rcu_sections SEC(".maps");

SEC("raw_tp/sys_enter")
int rcu_count(void *ctx)
{
	__u32 key = 0;
	__u64 *v;

	bpf_rcu_read_lock();
	v = bpf_map_lookup_elem(&rcu_sections, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	bpf_rcu_read_unlock();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
