// XDP: packet resizing — push or pop an 802.1Q tag with bpf_xdp_adjust_head, truncate long packets and grow
// short IPv6 ones with bpf_xdp_adjust_tail, store metadata with bpf_xdp_adjust_meta; every helper return value
// is recorded per packet, including failing calls (too much headroom, shrinking below ETH_HLEN...).
#include "common.h"

SEQ_MAP(seq);

struct rets {
	__s64 head;
	__s64 tail;
	__s64 meta;
	__s64 bad_head;
	__s64 bad_tail;
	__u32 len_after;
	__u32 meta_val;
};

RESULTS_MAP(results);

SEC("xdp")
int xdp_resize(struct xdp_md *ctx)
{
	struct rets r = {};
	__u64 n = next_seq(&seq);
	void *data = PKT_DATA(ctx);
	void *data_end = PKT_END(ctx);
	struct ethhdr *eth = data;
	int act = XDP_PASS;

	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	r.bad_head = bpf_xdp_adjust_head(ctx, -1000);
	r.bad_tail = bpf_xdp_adjust_tail(ctx, -(int)(ctx->data_end - ctx->data));
	data = PKT_DATA(ctx);
	data_end = PKT_END(ctx);
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	__u16 proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		/* Pop: move the MAC addresses 4 bytes forward, then drop 4 bytes of head. */
		struct vlan_hdr *vh = (void *)(eth + 1);
		if ((void *)(vh + 1) > data_end)
			return XDP_DROP;
		__u8 macs[12];
		__builtin_memcpy(macs, data, 12);
		__builtin_memcpy(data + 4, macs, 12);
		r.head = bpf_xdp_adjust_head(ctx, 4);
		act = XDP_TX;
	} else if (proto == bpf_htons(ETH_P_IP)) {
		/* Push: 4 more bytes of head, move the MACs back, insert tag 0x8100 / 100. */
		r.head = bpf_xdp_adjust_head(ctx, -4);
		data = PKT_DATA(ctx);
		data_end = PKT_END(ctx);
		if (data + 18 > data_end)
			return XDP_ABORTED;
		__u8 macs[12];
		__builtin_memcpy(macs, data + 4, 12);
		__builtin_memcpy(data, macs, 12);
		struct vlan_hdr *vh = data + 12;
		vh->tci = bpf_htons(ETH_P_8021Q);
		vh->proto = bpf_htons(100);
		act = XDP_TX;
	}
	int len = ctx->data_end - ctx->data;
	if (len > 200)
		r.tail = bpf_xdp_adjust_tail(ctx, 128 - len);
	else if (proto == bpf_htons(ETH_P_IPV6))
		r.tail = bpf_xdp_adjust_tail(ctx, 16);
	r.meta = bpf_xdp_adjust_meta(ctx, -8);
	if (r.meta == 0) {
		__u32 *m = (void *)(long)ctx->data_meta;
		if ((void *)(m + 2) <= PKT_DATA(ctx)) {
			m[0] = 0xfeedf00d;
			m[1] = len;
			r.meta_val = m[0] ^ m[1];
		}
	}
	r.len_after = ctx->data_end - ctx->data;
	bpf_map_update_elem(&results, &n, &r, BPF_ANY);
	return act;
}

char LICENSE[] SEC("license") = "GPL";
