// tc (sched_cls): two programs in one section — one counts bytes and marks packets, returning TC_ACT_OK;
// one drops TCP/UDP packets to a configurable port (a `const volatile` setting in .rodata).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u16 blocked_port = 9999;
const volatile __u32 mark_value = 0x42;

struct filter_stats {
	__u64 packets;
	__u64 bytes;
	__u64 dropped;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct filter_stats);
} stats SEC(".maps");

SEC("tc")
int tc_count_mark(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct filter_stats *s = bpf_map_lookup_elem(&stats, &zero);

	if (s) {
		__sync_fetch_and_add(&s->packets, 1);
		__sync_fetch_and_add(&s->bytes, skb->len);
	}
	skb->mark = mark_value;
	return TC_ACT_OK;
}

SEC("tc")
int tc_drop_port(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u16 dport;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->ihl != 5)
		return TC_ACT_OK;
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)(ip + 1);
		if ((void *)(tcp + 1) > data_end)
			return TC_ACT_OK;
		dport = tcp->dest;
	} else if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = (void *)(ip + 1);
		if ((void *)(udp + 1) > data_end)
			return TC_ACT_OK;
		dport = udp->dest;
	} else {
		return TC_ACT_OK;
	}
	if (dport == bpf_htons(blocked_port)) {
		__u32 zero = 0;
		struct filter_stats *s = bpf_map_lookup_elem(&stats, &zero);
		if (s)
			__sync_fetch_and_add(&s->dropped, 1);
		return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
