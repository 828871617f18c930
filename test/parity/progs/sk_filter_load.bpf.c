// Socket filter: reads the packet with bpf_skb_load_bytes (in and out of range), bpf_skb_load_bytes_relative
// (MAC and network header bases) and legacy LD_ABS loads; accepts IPv4 UDP/TCP truncated to 64 bytes, the rest
// in full or not at all by a byte of the source address; records skb fields and results per packet.
#include "common.h"

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

SEQ_MAP(seq);

struct rets {
	__s64 lb_ok;
	__s64 lb_bad;
	__s64 rel_mac;
	__s64 rel_net;
	__s64 rel_bad;
	__u32 first4;
	__u32 mac_first4;
	__u32 ld_abs_word;
	__u32 ld_abs_byte;
	__u32 len;
	__u32 protocol;
	__u32 pkt_type;
	__u32 ifindex;
};

RESULTS_MAP(results);

SEC("socket")
int sk_load(struct __sk_buff *skb)
{
	struct rets r = {};
	__u64 n = next_seq(&seq);
	__u8 buf[8];

	r.len = skb->len;
	r.protocol = skb->protocol;
	r.pkt_type = skb->pkt_type;
	r.ifindex = skb->ifindex;
	r.lb_ok = bpf_skb_load_bytes(skb, 0, &r.first4, 4);
	r.lb_bad = bpf_skb_load_bytes(skb, skb->len - 2, buf, 8);
	r.rel_mac = bpf_skb_load_bytes_relative(skb, 6, &r.mac_first4, 4, BPF_HDR_START_MAC);
	r.rel_net = bpf_skb_load_bytes_relative(skb, 0, buf, 8, BPF_HDR_START_NET);
	r.rel_bad = bpf_skb_load_bytes_relative(skb, 0, buf, 4, 7);
	int ret = skb->len;
	if (skb->protocol == bpf_htons(ETH_P_IP) && skb->len >= 20) {
		r.ld_abs_word = load_word(skb, 12);
		r.ld_abs_byte = load_byte(skb, 9);
		if (r.ld_abs_byte == IPPROTO_UDP || r.ld_abs_byte == IPPROTO_TCP)
			ret = 64;
		else if (r.ld_abs_word & 1)
			ret = 0;
	}
	bpf_map_update_elem(&results, &n, &r, BPF_ANY);
	return ret;
}

char LICENSE[] SEC("license") = "GPL";
