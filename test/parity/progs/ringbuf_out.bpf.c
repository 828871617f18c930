// XDP: ring buffer producer — bpf_ringbuf_output of the first bytes, reserve + submit of a record with the
// length, reserve + discard for ARP; a small ring so it fills up and later calls fail; every return value is
// counted. The ring's records are compared in order.
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __s64);
	__type(value, __u64);
} outcomes SEC(".maps");

struct rec {
	__u32 len;
	__u16 proto;
	__u16 kind;
	__u64 avail;
};

static __always_inline void note(__s64 k)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(&outcomes, &k);
	if (v)
		(*v)++;
	else
		bpf_map_update_elem(&outcomes, &k, &one, BPF_ANY);
}

SEC("xdp")
int xdp_ringbuf(struct xdp_md *ctx)
{
	void *data = PKT_DATA(ctx);
	void *data_end = PKT_END(ctx);
	__u8 head[24];

	if (data + 24 > data_end)
		return XDP_PASS;
	__builtin_memcpy(head, data, 24);
	note(bpf_ringbuf_output(&rb, head, (head[13] & 7) + 13, 0));
	struct rec *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
	if (!r) {
		note(1000);
		return XDP_PASS;
	}
	r->len = data_end - data;
	r->proto = (head[12] << 8) | head[13];
	r->kind = 1;
	r->avail = bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA);
	if (r->proto == ETH_P_ARP)
		bpf_ringbuf_discard(r, 0);
	else
		bpf_ringbuf_submit(r, 0);
	note(2000 + (bpf_ringbuf_query(&rb, BPF_RB_PROD_POS) & 0xfff ? 1 : 0));
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
