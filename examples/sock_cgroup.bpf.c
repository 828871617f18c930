// A socket filter that counts bytes and keeps packets whole, and cgroup_skb programs counting packets per
// direction (allowing all traffic).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} pkt_stats SEC(".maps");

static __always_inline void bump(__u32 key, __u64 by)
{
	__u64 *v = bpf_map_lookup_elem(&pkt_stats, &key);

	if (v)
		__sync_fetch_and_add(v, by);
}

SEC("socket")
int sock_count(struct __sk_buff *skb)
{
	bump(0, skb->len);
	return skb->len;
}

SEC("cgroup_skb/ingress")
int cg_ingress(struct __sk_buff *skb)
{
	bump(1, 1);
	return 1;
}

SEC("cgroup_skb/egress")
int cg_egress(struct __sk_buff *skb)
{
	bump(2, 1);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
