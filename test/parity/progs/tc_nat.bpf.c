// tc: destination NAT of IPv4 TCP/UDP with bpf_skb_store_bytes + bpf_l3_csum_replace + bpf_l4_csum_replace
// (4-byte pseudo-header and 2-byte port updates, BPF_F_MARK_MANGLED_0 for UDP), skb field writes (mark,
// priority, tc_classid, cb), ICMP dropped; helper results recorded per packet.
#include "common.h"

SEQ_MAP(seq);

struct rets {
	__s64 store_ip;
	__s64 l3;
	__s64 l4_ip;
	__s64 store_port;
	__s64 l4_port;
	__s64 bad_store;
	__s64 bad_l3;
	__u32 len;
	__u32 protocol;
	__u32 pkt_type;
	__u32 ifindex;
};

RESULTS_MAP(results);

#define IP_DST_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))
#define IP_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))

SEC("tc")
int tc_dnat(struct __sk_buff *skb)
{
	struct rets r = {};
	__u64 n = next_seq(&seq);
	void *data, *data_end;
	struct iphdr *ip;

	r.len = skb->len;
	r.protocol = skb->protocol;
	r.pkt_type = skb->pkt_type;
	r.ifindex = skb->ifindex;
	skb->cb[0] = 0xabcd;
	skb->priority = 7;
	r.bad_store = bpf_skb_store_bytes(skb, 0xffff, &n, 8, 0);
	r.bad_l3 = bpf_l3_csum_replace(skb, 0, 0, 0, 3);
	ip = ipv4_header(PKT_DATA(skb), PKT_END(skb));
	if (!ip || ip->ihl != 5)
		goto out;
	if (ip->protocol == IPPROTO_ICMP) {
		bpf_map_update_elem(&results, &n, &r, BPF_ANY);
		return TC_ACT_SHOT;
	}
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		goto out;
	if (ip->frag_off & bpf_htons(0x3fff))
		goto out;
	__u8 proto = ip->protocol;
	__be32 old_ip = ip->daddr;
	__be32 new_ip = bpf_htonl(0x0a000001);
	__u32 l4_csum_off = ETH_HLEN + sizeof(struct iphdr) + (proto == IPPROTO_TCP ? offsetof(struct tcphdr, check) : offsetof(struct udphdr, check));
	__u32 dport_off = ETH_HLEN + sizeof(struct iphdr) + offsetof(struct tcphdr, dest);
	__u64 l4flags = BPF_F_PSEUDO_HDR | sizeof(new_ip) | (proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0);

	r.l4_ip = bpf_l4_csum_replace(skb, l4_csum_off, old_ip, new_ip, l4flags);
	r.l3 = bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_ip, new_ip, sizeof(new_ip));
	r.store_ip = bpf_skb_store_bytes(skb, IP_DST_OFF, &new_ip, sizeof(new_ip), 0);

	data = PKT_DATA(skb);
	data_end = PKT_END(skb);
	if (data + dport_off + 2 > data_end)
		goto out;
	__be16 old_port = *(__be16 *)(data + dport_off);
	__be16 new_port = bpf_htons(8080);
	r.l4_port = bpf_l4_csum_replace(skb, l4_csum_off, old_port, new_port, sizeof(new_port) | (proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0));
	r.store_port = bpf_skb_store_bytes(skb, dport_off, &new_port, sizeof(new_port), BPF_F_INVALIDATE_HASH);
	skb->mark = 0x1234;
	skb->tc_classid = 0x10001;
out:
	bpf_map_update_elem(&results, &n, &r, BPF_ANY);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
