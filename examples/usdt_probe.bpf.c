// USDT probes through libbpf's <bpf/usdt.bpf.h>, unchanged: bpfkit fills the header's spec map and gives each
// call site its spec id as BPF cookie. Targets: examples/usdt_target.c (bpfkit:tick, two call sites) and
// examples/usdt_target_lib.c (bpfkit:gated, in a shared library, behind a semaphore). Every hit streams a
// struct usdt_event {probe, pid, argument count, USDT cookie, arguments} through a ring buffer.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#define PROBE_TICK 1
#define PROBE_GATED 2

struct usdt_event {
	__u32 probe;
	__u32 pid;
	__s32 arg_cnt;
	__s32 err;
	__u64 cookie;
	__s64 args[4];
	/* tick: the long its second argument points at */
	__s64 deref;
};

/* Makes struct usdt_event part of the object's BTF, for skeleton generators. */
const struct usdt_event *unused_usdt_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} usdt_events SEC(".maps");

/* Auto-attached: the bare binary name is looked up in $PATH, as libbpf does. */
SEC("usdt/bpfkit_usdt_target:bpfkit:tick")
int BPF_USDT(on_tick, int i, long *xp, long k)
{
	struct usdt_event *e = bpf_ringbuf_reserve(&usdt_events, sizeof(*e), 0);

	if (!e)
		return 0;
	e->probe = PROBE_TICK;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->arg_cnt = bpf_usdt_arg_cnt(ctx);
	e->cookie = bpf_usdt_cookie(ctx);
	e->args[0] = i;
	e->args[1] = (long)xp;
	e->args[2] = k;
	e->args[3] = 0;
	e->err = bpf_probe_read_user(&e->deref, sizeof(e->deref), xp);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Attached with attachUsdt() (a bare "usdt" section names no target). */
SEC("usdt")
int on_gated(struct pt_regs *ctx)
{
	struct usdt_event *e = bpf_ringbuf_reserve(&usdt_events, sizeof(*e), 0);
	long v;
	int err = 0;

	if (!e)
		return 0;
	e->probe = PROBE_GATED;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->arg_cnt = bpf_usdt_arg_cnt(ctx);
	e->cookie = bpf_usdt_cookie(ctx);
	for (int n = 0; n < 4; n++) {
		err |= bpf_usdt_arg(ctx, n, &v);
		e->args[n] = v;
	}
	/* A fifth argument does not exist: -ENOENT. */
	e->deref = bpf_usdt_arg(ctx, 4, &v);
	e->err = err;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
