// A prog array initialised in the object (tail calls between socket filters) and a map-in-map (array of
// hash maps) with an inner map placed in slot 0 at load time.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} inner0 SEC(".maps"), inner1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer SEC(".maps") = {
	.values = { [0] = &inner0, [2] = &inner1 },
};

int tail_target(struct __sk_buff *skb);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, int (void *));
} jump_table SEC(".maps") = {
	.values = { [1] = (void *)&tail_target },
};

SEC("socket")
int tail_target(struct __sk_buff *skb)
{
	__u32 outer_key = 0, key = 1;
	__u64 one = 1;
	void *inner = bpf_map_lookup_elem(&outer, &outer_key);

	if (inner)
		bpf_map_update_elem(inner, &key, &one, BPF_ANY);
	return skb->len;
}

SEC("socket")
int tail_entry(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jump_table, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
