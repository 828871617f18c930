// XDP: one program touching a map of each kind per packet — hash (NOEXIST insert / increment), LRU hash
// (large enough never to evict), per-CPU hash, LPM trie (prefixes inserted from userspace, value counters),
// queue and stack (push with BPF_EXIST when full), bloom filter (BPF_F_ZERO_SEED, push source, peek
// destination), array of counters.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u16);
	__type(value, __u64);
} by_proto SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} by_src SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} by_len_bucket SEC(".maps");

struct lpm_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, __u64);
} routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 16);
	__type(value, __u32);
} lens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 8);
	__type(value, __u16);
} protos SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_ZERO_SEED);
	__uint(map_extra, 3);
	__type(value, __u32);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void bump(__u32 i)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &i);
	if (c)
		(*c)++;
}

SEC("xdp")
int xdp_maps(struct xdp_md *ctx)
{
	void *data = PKT_DATA(ctx);
	void *data_end = PKT_END(ctx);
	struct ethhdr *eth = data;
	__u64 one = 1, *v;
	__u32 len = data_end - data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	__u16 proto = bpf_ntohs(eth->h_proto);
	if (bpf_map_update_elem(&by_proto, &proto, &one, BPF_NOEXIST)) {
		v = bpf_map_lookup_elem(&by_proto, &proto);
		if (v)
			(*v)++;
		bump(0);
	}
	__u32 bucket = len / 64;
	v = bpf_map_lookup_elem(&by_len_bucket, &bucket);
	if (v)
		*v += len;
	else
		bpf_map_update_elem(&by_len_bucket, &bucket, &len, BPF_ANY);
	if (bpf_map_push_elem(&lens, &len, 0))
		bpf_map_push_elem(&lens, &len, BPF_EXIST), bump(1);
	if (bpf_map_push_elem(&protos, &proto, 0)) {
		__u16 top;
		if (bpf_map_pop_elem(&protos, &top) == 0 && top == proto)
			bump(2);
		bpf_map_push_elem(&protos, &proto, 0);
	}
	struct iphdr *ip = ipv4_header(data, data_end);
	if (!ip)
		return XDP_PASS;
	__u32 src = ip->saddr;
	v = bpf_map_lookup_elem(&by_src, &src);
	if (v)
		(*v)++;
	else
		bpf_map_update_elem(&by_src, &src, &one, BPF_ANY);
	struct lpm_key k = { .prefixlen = 32 };
	__builtin_memcpy(k.addr, &ip->daddr, 4);
	v = bpf_map_lookup_elem(&routes, &k);
	if (v)
		(*v)++;
	else
		bump(3);
	bpf_map_push_elem(&seen, &src, 0);
	__u32 dst = ip->daddr;
	if (bpf_map_peek_elem(&seen, &dst) == 0)
		bump(4);
	__u64 hits = 0;
	if (bpf_map_peek_elem(&lens, &hits) == 0)
		bump(5);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
