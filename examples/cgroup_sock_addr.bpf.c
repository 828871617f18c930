// cgroup sock_addr and sysctl hooks for the processes of one cgroup: connect4/connect6 rewrite a connect to a
// loopback port into another port, bind4 refuses one port (EPERM), sendmsg4 rewrites a UDP destination port,
// and sysctl refuses reads of kernel/domainname (EPERM). The ports are .rodata settings fixed before load;
// each hook counts what it did in hook_stats.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Host byte order, set before load (like a libbpf skeleton's rodata); 0 turns a hook off. The defaults are
 * non-zero so that a verifier sees every path of every hook. */
const volatile __u16 connect_from_port = 8080;
const volatile __u16 connect_to_port = 8081;
const volatile __u16 bind_denied_port = 9999;
const volatile __u16 udp_from_port = 5353;
const volatile __u16 udp_to_port = 5354;

/* 0 connect4 rewrites, 1 bind4 refusals, 2 sendmsg4 rewrites, 3 sysctl refusals, 4 connect6 rewrites. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __u64);
} hook_stats SEC(".maps");

static __always_inline void bump(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&hook_stats, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
}

#define LOOPBACK4 0x7f000001

SEC("cgroup/connect4")
int connect4_redirect(struct bpf_sock_addr *ctx)
{
	if (connect_from_port && ctx->user_ip4 == bpf_htonl(LOOPBACK4) && ctx->user_port == bpf_htons(connect_from_port)) {
		ctx->user_port = bpf_htons(connect_to_port);
		bump(0);
	}
	return 1;
}

SEC("cgroup/connect6")
int connect6_redirect(struct bpf_sock_addr *ctx)
{
	if (connect_from_port && ctx->user_ip6[0] == 0 && ctx->user_ip6[1] == 0 && ctx->user_ip6[2] == 0 &&
	    ctx->user_ip6[3] == bpf_htonl(1) && ctx->user_port == bpf_htons(connect_from_port)) {
		ctx->user_port = bpf_htons(connect_to_port);
		bump(4);
	}
	return 1;
}

SEC("cgroup/bind4")
int bind4_deny(struct bpf_sock_addr *ctx)
{
	if (bind_denied_port && ctx->user_port == bpf_htons(bind_denied_port)) {
		bump(1);
		return 0; /* bind(2) fails with EPERM */
	}
	return 1;
}

SEC("cgroup/sendmsg4")
int sendmsg4_redirect(struct bpf_sock_addr *ctx)
{
	if (udp_from_port && ctx->user_ip4 == bpf_htonl(LOOPBACK4) && ctx->user_port == bpf_htons(udp_from_port)) {
		ctx->user_port = bpf_htons(udp_to_port);
		bump(2);
	}
	return 1;
}

static const char denied_sysctl[] = "kernel/domainname";

SEC("cgroup/sysctl")
int sysctl_deny(struct bpf_sysctl *ctx)
{
	char name[sizeof(denied_sysctl)] = {};
	long n;

	if (ctx->write)
		return 1;
	/* The full name (net/ipv4/...), its length without the NUL; -E2BIG when longer than the buffer. */
	n = bpf_sysctl_get_name(ctx, name, sizeof(name), 0);
	if (n != sizeof(denied_sysctl) - 1)
		return 1;
#pragma unroll
	for (int i = 0; i < sizeof(denied_sysctl) - 1; i++)
		if (name[i] != denied_sysctl[i])
			return 1;
	bump(3);
	return 0; /* the read fails with EPERM */
}

char LICENSE[] SEC("license") = "GPL";
