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
