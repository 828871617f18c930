// tc: VLAN tag handling (bpf_skb_vlan_pop on tagged frames, two bpf_skb_vlan_push on untagged IPv4 ones so one
// tag lands in the packet and one stays in the skb metadata), bpf_skb_change_tail (trim long frames, grow
// short ones by a few bytes), bpf_skb_pull_data; records the skb's vlan fields and helper results.
#include "common.h"

SEQ_MAP(seq);

struct rets {
	__s64 pop;
	__s64 push1;
	__s64 push2;
	__s64 bad_push;
	__s64 tail;
	__s64 pull;
	__s64 bad_pull;
	__u32 vlan_present;
	__u32 vlan_tci;
	__u32 vlan_proto;
	__u32 protocol;
	__u32 len;
};

RESULTS_MAP(results);

SEC("tc")
int tc_vlan(struct __sk_buff *skb)
{
	struct rets r = {};
	__u64 n = next_seq(&seq);

	r.bad_push = bpf_skb_vlan_push(skb, bpf_htons(0x1234), 1);
	if (skb->protocol == bpf_htons(ETH_P_8021Q) || skb->protocol == bpf_htons(ETH_P_8021AD)) {
		r.pop = bpf_skb_vlan_pop(skb);
	} else if (skb->protocol == bpf_htons(ETH_P_IP)) {
		r.push1 = bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), 100);
		r.push2 = bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021AD), 200 | (3 << 13));
	}
	if (skb->len > 300)
		r.tail = bpf_skb_change_tail(skb, 300, 0);
	else if (skb->len < 100)
		r.tail = bpf_skb_change_tail(skb, skb->len + 6, 0);
	r.pull = bpf_skb_pull_data(skb, 14);
	r.bad_pull = bpf_skb_pull_data(skb, 100000);
	r.vlan_present = skb->vlan_present;
	r.vlan_tci = skb->vlan_tci;
	r.vlan_proto = skb->vlan_proto;
	r.protocol = skb->protocol;
	r.len = skb->len;
	bpf_map_update_elem(&results, &n, &r, BPF_ANY);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
