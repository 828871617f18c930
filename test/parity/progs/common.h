// Shared includes and packet-parsing helpers for the parity programs (kernel vs userspace runtime).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#ifndef offsetof
#define offsetof(t, m) __builtin_offsetof(t, m)
#endif
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef ETH_P_8021Q
#define ETH_P_8021Q 0x8100
#endif
#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* A per-program sequence number (array slot 0) so results can be stored per packet. */
#define SEQ_MAP(name)                                  \
	struct {                                       \
		__uint(type, BPF_MAP_TYPE_ARRAY);      \
		__uint(max_entries, 1);                \
		__type(key, __u32);                    \
		__type(value, __u64);                  \
	} name SEC(".maps")

static __always_inline __u64 next_seq(void *map)
{
	__u32 zero = 0;
	__u64 *s = bpf_map_lookup_elem(map, &zero);
	if (!s)
		return 0;
	return (*s)++;
}

/* Per-packet results: a hash from the packet's sequence number to the program's `struct rets`. */
#define RESULTS_MAP(name)                              \
	struct {                                       \
		__uint(type, BPF_MAP_TYPE_HASH);       \
		__uint(max_entries, 4096);             \
		__type(key, __u64);                    \
		__type(value, struct rets);            \
	} name SEC(".maps")

/* The packet bounds of an XDP or skb context (read them again after a helper that may move the packet). */
#define PKT_DATA(ctx) ((void *)(long)(ctx)->data)
#define PKT_END(ctx) ((void *)(long)(ctx)->data_end)

/* The IPv4 header after the Ethernet header at `data`; 0 when the frame is not IPv4 or too short for both. */
static __always_inline struct iphdr *ipv4_header(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || (void *)(ip + 1) > data_end)
		return 0;
	return ip;
}
