// XDP: checksum arithmetic with bpf_csum_diff — verifies IPv4 header checksums (valid / invalid counts),
// records raw csum_diff results for several from/to sizes and seeds per packet, and bad-size errors.
#include "common.h"

SEQ_MAP(seq);

struct rets {
	__s64 hdr_sum;
	__s64 diff_to;
	__s64 diff_from;
	__s64 diff_both;
	__s64 bad_size;
	__u16 folded;
	__u16 check;
};

RESULTS_MAP(results);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} valid SEC(".maps");

static __always_inline __u16 fold(__s64 s)
{
	__u32 x = (__u32)s;
	x = (x & 0xffff) + (x >> 16);
	x = (x & 0xffff) + (x >> 16);
	return ~x;
}

SEC("xdp")
int xdp_csum(struct xdp_md *ctx)
{
	struct rets r = {};
	__u64 n = next_seq(&seq);
	void *data = PKT_DATA(ctx);
	void *data_end = PKT_END(ctx);
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	__u32 words[4] = { 0x01020304, 0xffffffff, (__u32)n, 0x80000001 };
	r.diff_to = bpf_csum_diff(0, 0, words, 16, 0);
	r.diff_from = bpf_csum_diff(words, 8, 0, 0, 0x1234);
	r.diff_both = bpf_csum_diff(words, 4, words + 1, 12, 0xffffffff);
	r.bad_size = bpf_csum_diff(words, 3, 0, 0, 0);
	struct iphdr *ip = ipv4_header(data, data_end);
	if (ip) {
		__u16 check = ip->check;
		r.check = check;
		ip->check = 0;
		r.hdr_sum = bpf_csum_diff(0, 0, (__be32 *)ip, sizeof(*ip), 0);
		ip->check = check;
		r.folded = fold(r.hdr_sum);
		__u32 k = ip->ihl == 5 && r.folded == check ? 1 : 0;
		__u64 *c = bpf_map_lookup_elem(&valid, &k);
		if (c)
			(*c)++;
	}
	bpf_map_update_elem(&results, &n, &r, BPF_ANY);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
