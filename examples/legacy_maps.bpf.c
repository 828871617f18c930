// Legacy `maps` section (struct bpf_map_def, pre-BTF style) and a `version` section. libbpf >= 1.0 no longer
// loads these; bpfkit parses them for old objects. Defines bpf_map_def itself (newer headers dropped it).
#include <linux/bpf.h>
#include <linux/version.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") legacy_hash = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 128,
	.map_flags = BPF_F_NO_PREALLOC,
};

struct bpf_map_def SEC("maps") legacy_array = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 4,
};

SEC("socket")
int legacy_prog(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&legacy_hash, &key);
	__u32 *a = bpf_map_lookup_elem(&legacy_array, &key);

	if (v && a)
		*v += *a;
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
__u32 VERSION SEC("version") = LINUX_VERSION_CODE;
