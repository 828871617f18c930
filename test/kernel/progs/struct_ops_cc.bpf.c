// SPDX-License-Identifier: GPL-2.0
/*
 * A minimal TCP congestion control as BPF struct_ops, for test/kernel/struct-ops.test.ts: "bpfkit_cc", Reno
 * through the kernel's tcp_reno_* kfuncs, counting its cong_avoid calls in a global. The struct is declared
 * here with only the members it sets (struct_ops members are matched to the kernel's by name, as libbpf does),
 * so it needs no vmlinux.h. Build: clang -O2 -g -target bpf -c struct_ops_cc.bpf.c
 */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char _license[] SEC("license") = "GPL";

struct sock;
struct tcp_congestion_ops {
	__u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
	__u32 (*undo_cwnd)(struct sock *sk);
	char name[16];
};

extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

__u64 cong_avoid_calls = 0;

SEC("struct_ops/bk_cc_ssthresh")
__u32 BPF_PROG(bk_cc_ssthresh, struct sock *sk)
{
	return tcp_reno_ssthresh(sk);
}

SEC("struct_ops/bk_cc_cong_avoid")
void BPF_PROG(bk_cc_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	__sync_fetch_and_add(&cong_avoid_calls, 1);
	tcp_reno_cong_avoid(sk, ack, acked);
}

SEC("struct_ops/bk_cc_undo_cwnd")
__u32 BPF_PROG(bk_cc_undo_cwnd, struct sock *sk)
{
	return tcp_reno_undo_cwnd(sk);
}

SEC(".struct_ops.link")
struct tcp_congestion_ops bk_cc = {
	.ssthresh = (void *)bk_cc_ssthresh,
	.cong_avoid = (void *)bk_cc_cong_avoid,
	.undo_cwnd = (void *)bk_cc_undo_cwnd,
	.name = "bpfkit_cc",
};
