// XDP: parse Ethernet (+ one VLAN tag), IPv4/IPv6, TCP/UDP; reflect TCP/UDP packets (swap MACs, addresses,
// ports; decrement TTL / hop limit with an incremental IPv4 checksum update) and XDP_TX them; drop ARP;
// pass the rest. Counts verdicts per ethertype class.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} verdicts SEC(".maps");

static __always_inline void count(__u32 k)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(&verdicts, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&verdicts, &k, &one, BPF_NOEXIST);
}

static __always_inline void csum_dec_ttl(struct iphdr *ip)
{
	__u32 sum = ip->check;
	/* RFC 1624: ttl is the high byte of the 16-bit word holding ttl/protocol. */
	sum += bpf_htons(0x0100);
	ip->check = (__u16)(sum + (sum >> 16));
	ip->ttl--;
}

SEC("xdp")
int xdp_reflect(struct xdp_md *ctx)
{
	void *data = PKT_DATA(ctx);
	void *data_end = PKT_END(ctx);
	struct ethhdr *eth = data;
	__u16 proto;
	void *l3;

	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	proto = eth->h_proto;
	l3 = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vh = l3;
		if ((void *)(vh + 1) > data_end)
			return XDP_DROP;
		proto = vh->proto;
		l3 = vh + 1;
	}
	if (proto == bpf_htons(ETH_P_ARP)) {
		count(1);
		return XDP_DROP;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		if ((void *)(ip + 1) > data_end || ip->ihl < 5)
			return XDP_PASS;
		void *l4 = (void *)ip + ip->ihl * 4;
		if (ip->protocol == IPPROTO_UDP || ip->protocol == IPPROTO_TCP) {
			__be16 *ports = l4;
			if ((void *)(ports + 2) > data_end || ip->ttl <= 1) {
				count(2);
				return XDP_PASS;
			}
			__be16 p = ports[0];
			ports[0] = ports[1];
			ports[1] = p;
			__be32 a = ip->saddr;
			ip->saddr = ip->daddr;
			ip->daddr = a;
			csum_dec_ttl(ip);
			unsigned char mac[ETH_ALEN];
			__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
			__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
			__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
			count(3);
			return XDP_TX;
		}
		count(4);
		return XDP_PASS;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;
		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		if (ip6->nexthdr == IPPROTO_UDP || ip6->nexthdr == IPPROTO_TCP) {
			struct in6_addr t = ip6->saddr;
			ip6->saddr = ip6->daddr;
			ip6->daddr = t;
			ip6->hop_limit--;
			count(6);
			return XDP_TX;
		}
		count(7);
		return XDP_PASS;
	}
	count(8);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
