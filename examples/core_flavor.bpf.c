// CO-RE without vmlinux.h: a local, reordered "flavor" of task_struct (`task_struct___local`) whose field
// offsets differ from the kernel's, so the loader must relocate them against the kernel BTF. Also a field
// existence check for a field no kernel has.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct___local {
	int tgid;
	int pid;
	struct task_struct___local *real_parent;
	int no_such_field_in_any_kernel;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} task_info SEC(".maps");

static __always_inline void put(__u32 key, __u64 val)
{
	bpf_map_update_elem(&task_info, &key, &val, BPF_ANY);
}

SEC("raw_tp/sys_enter")
int core_read_task(void *ctx)
{
	struct task_struct___local *task = (void *)bpf_get_current_task();

	put(0, BPF_CORE_READ(task, pid));
	put(1, BPF_CORE_READ(task, real_parent, tgid));
	put(2, bpf_core_field_exists(task->no_such_field_in_any_kernel));
	put(3, bpf_core_field_offset(task->pid));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
