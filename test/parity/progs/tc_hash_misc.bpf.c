// tc: skb hash and type helpers — bpf_set_hash then bpf_get_hash_recalc (returns the set hash),
// bpf_set_hash_invalid, bpf_skb_change_type, bpf_csum_level, csum_update; reads the results back from the ctx.
#include "common.h"

SEQ_MAP(seq);

struct rets {
	__s64 set;
	__u32 hash_after_set;
	__u32 recalc;
	__u32 hash_after_invalid;
	__s64 change_type;
	__s64 bad_change_type;
	__u32 pkt_type_after;
	__s64 csum_level_query;
	__s64 csum_level_reset;
	__s64 csum_update;
	__u32 mark;
	__u32 priority;
};

RESULTS_MAP(results);

SEC("tc")
int tc_hash(struct __sk_buff *skb)
{
	struct rets r = {};
	__u64 n = next_seq(&seq);

	r.set = bpf_set_hash(skb, 0x1000 + (__u32)n);
	r.hash_after_set = skb->hash;
	r.recalc = bpf_get_hash_recalc(skb);
	bpf_set_hash_invalid(skb);
	r.hash_after_invalid = skb->hash;
	r.change_type = bpf_skb_change_type(skb, n & 3);
	r.bad_change_type = bpf_skb_change_type(skb, 9);
	r.pkt_type_after = skb->pkt_type;
	r.csum_level_query = bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY);
	r.csum_level_reset = bpf_csum_level(skb, BPF_CSUM_LEVEL_RESET);
	r.csum_update = bpf_csum_update(skb, 0x1234);
	r.mark = skb->mark;
	r.priority = skb->priority;
	bpf_map_update_elem(&results, &n, &r, BPF_ANY);
	return n & 1 ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
