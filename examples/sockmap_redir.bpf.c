// TCP socket programs: sockops counting the connection callbacks of a cgroup's sockets (optionally on one port), an
// sk_msg verdict on a sockmap that counts what sockets send and can redirect it to the receive queue of a
// socket in the map (msg_cfg[0] = slot + 1; 0 = pass), and an sk_skb stream parser + verdict on another
// sockmap that bounces what a socket receives back out of that same socket (an in-kernel echo).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* The TCP port sockops watches (host byte order); 0 = every connection. */
const volatile __u16 watch_port;

/*
 * 0 TCP_CONNECT_CB, 1 ACTIVE_ESTABLISHED_CB, 2 PASSIVE_ESTABLISHED_CB (sockops);
 * 3 messages, 4 bytes (sk_msg); 5 skbs, 6 bytes (sk_skb verdict); 7 parser calls.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} sock_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} msg_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} msg_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} echo_map SEC(".maps");

static __always_inline void bump(__u32 key, __u64 by)
{
	__u64 *v = bpf_map_lookup_elem(&sock_stats, &key);

	if (v)
		__sync_fetch_and_add(v, by);
}

SEC("sockops")
int count_established(struct bpf_sock_ops *skops)
{
	/* local_port is in host order, remote_port in network order (in the upper half on little endian). */
	if (watch_port && skops->local_port != watch_port && bpf_ntohl(skops->remote_port) != watch_port)
		return 1;
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		bump(0, 1);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		bump(1, 1);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		bump(2, 1);
		break;
	}
	return 1;
}

SEC("sk_msg")
int msg_verdict(struct sk_msg_md *msg)
{
	__u32 k = 0;
	__u32 *slot = bpf_map_lookup_elem(&msg_cfg, &k);

	bump(3, 1);
	bump(4, msg->size);
	if (slot && *slot)
		return bpf_msg_redirect_map(msg, &msg_map, *slot - 1, BPF_F_INGRESS);
	return SK_PASS;
}

SEC("sk_skb/stream_parser")
int echo_parser(struct __sk_buff *skb)
{
	bump(7, 1);
	return skb->len; /* every chunk is a whole message */
}

SEC("sk_skb/stream_verdict")
int echo_verdict(struct __sk_buff *skb)
{
	bump(5, 1);
	bump(6, skb->len);
	/* Out through the egress of the socket in slot 0: back to its peer. */
	return bpf_sk_redirect_map(skb, &echo_map, 0, 0);
}

char LICENSE[] SEC("license") = "GPL";
