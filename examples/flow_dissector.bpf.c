// A BPF flow dissector for a network namespace: IPv4 with TCP or UDP ports (fragments: addresses only), every
// other protocol refused (BPF_DROP, "cannot dissect"). The keys it fills are what BPF_PROG_TEST_RUN returns and
// what the kernel uses for flow hashing in that netns; dissect_calls counts runs per outcome.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

/* 0 runs, 1 BPF_OK, 2 BPF_DROP. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} dissect_calls SEC(".maps");

static __always_inline void bump(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&dissect_calls, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/*
 * The header at `off` in the linear data, or 0 when it is not all there. (Test runs have only linear data and
 * no skb, so bpf_skb_load_bytes would fail there; headers beyond the linear part are not dissected.)
 */
static __always_inline void *header(struct __sk_buff *skb, __u16 off, __u16 size)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	void *p;

	/* (A bounded offset: the verifier tracks packet ranges only for offsets well below 64 KiB.) */
	if (off > 1500)
		return 0;
	p = data + off;
	if (p + size > data_end)
		return 0;
	return p;
}

/* Fill the keys; BPF_OK when dissected, BPF_DROP when not (one return: the program ends in its exit). */
static __always_inline int dissect(struct __sk_buff *skb, struct bpf_flow_keys *keys)
{
	struct iphdr *ip = 0;
	__u16 *ports;
	__u16 nhoff = keys->nhoff, thoff;
	int ret = BPF_DROP;

	/* Offsets are relative to the start of the data the dissector was given. */
	if (keys->n_proto == bpf_htons(ETH_P_IP))
		ip = header(skb, nhoff, sizeof(*ip));
	if (ip && ip->ihl >= 5) {
		ret = BPF_OK;
		thoff = nhoff + ip->ihl * 4;
		keys->addr_proto = ETH_P_IP;
		keys->ipv4_src = ip->saddr;
		keys->ipv4_dst = ip->daddr;
		keys->ip_proto = ip->protocol;
		keys->thoff = thoff;
		if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) {
			keys->is_frag = 1;
			keys->is_first_frag = !(ip->frag_off & bpf_htons(IP_OFFSET));
		}
		/* Ports for TCP and UDP, unless this is a later fragment. */
		if ((ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) && !(ip->frag_off & bpf_htons(IP_OFFSET))) {
			ports = header(skb, thoff, 2 * sizeof(*ports));
			if (ports) {
				keys->sport = ports[0];
				keys->dport = ports[1];
			} else {
				ret = BPF_DROP;
			}
		}
	}
	return ret;
}

SEC("flow_dissector")
int dissect_ipv4(struct __sk_buff *skb)
{
	int ret;

	bump(0);
	ret = dissect(skb, skb->flow_keys);
	bump(ret == BPF_OK ? 1 : 2);
	return ret;
}

char LICENSE[] SEC("license") = "GPL";
