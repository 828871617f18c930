// Exec logger: on every exec, stream {pid, ppid, uid, comm, filename} through a ring buffer.
// Reads task_struct fields with CO-RE (BPF_CORE_READ), so it needs vmlinux.h and BTF relocations.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define TASK_COMM_LEN 16
#define MAX_FILENAME 64

struct exec_event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__u32 filename_len;
	char comm[TASK_COMM_LEN];
	char filename[MAX_FILENAME];
};

/* Makes struct exec_event part of the object's BTF, for skeleton generators (bpfkit gen types --type). */
const struct exec_event *unused_exec_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct exec_event *e;
	unsigned int off;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	off = ctx->__data_loc_filename & 0xFFFF;
	e->filename_len = bpf_probe_read_str(e->filename, sizeof(e->filename), (void *)ctx + off);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
