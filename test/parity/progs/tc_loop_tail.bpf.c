// tc: bpf_loop over the first bytes of the packet, bpf_for_each_map_elem over an array, and a tail call
// through a prog array initialised in the object (the target classifies by ethertype).
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} acc SEC(".maps");

struct loop_ctx {
	struct __sk_buff *skb;
	__u64 sum;
};

static long sum_byte(__u32 i, void *c)
{
	struct loop_ctx *lc = c;
	__u8 b;
	if (bpf_skb_load_bytes(lc->skb, i, &b, 1))
		return 1;
	lc->sum += b;
	return 0;
}

static long visit(void *map, __u32 *key, __u64 *val, void *c)
{
	__u64 *total = c;
	*total += *val + *key;
	return *key >= 10;
}

SEC("tc")
int tc_target(struct __sk_buff *skb)
{
	__u32 k = 15;
	__u64 *v = bpf_map_lookup_elem(&acc, &k);
	if (v)
		*v += skb->protocol;
	return skb->protocol == bpf_htons(ETH_P_IP) ? TC_ACT_OK : TC_ACT_SHOT;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(__u32));
	__array(values, int(void *));
} jmp SEC(".maps") = {
	.values = { [1] = (void *)&tc_target },
};

SEC("tc")
int tc_entry(struct __sk_buff *skb)
{
	struct loop_ctx lc = { .skb = skb };
	long iters = bpf_loop(40, sum_byte, &lc, 0);
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&acc, &k);
	if (v)
		*v += lc.sum;
	k = 1;
	v = bpf_map_lookup_elem(&acc, &k);
	if (v)
		*v += iters;
	__u64 total = 0;
	long visited = bpf_for_each_map_elem(&acc, visit, &total, 0);
	k = 2;
	v = bpf_map_lookup_elem(&acc, &k);
	if (v)
		*v += visited + (total & 0xff);
	if (skb->len & 1)
		bpf_tail_call(skb, &jmp, 1);
	bpf_tail_call(skb, &jmp, 0);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
