/**
 * The scheduler probes of the scheduling tools (cpudist, runqlat, offcputime), as raw tracepoints with the
 * task pointers typed through BTF — like libbpf-tools (tp_btf/raw_tp), not perf tracepoints. A perf-tracepoint
 * program is skipped whenever its CPU's bpf_prog_active count is already taken, which happens at every
 * context switch that preempts a task in the middle of a bpf(2) map operation (the kernel raises the count
 * around those and they run preemptible): tools on `tracepoint:sched:*` silently lose such switches on a busy
 * machine. Raw tracepoints only guard against their own recursion.
 */

/**
 * `rawtracepoint:sched_switch` (args: preempt, prev, next, prev_state — the last since Linux 5.18) with
 * `$prev` and `$next` bound to the outgoing and incoming `struct task_struct *`, then `body`.
 */
export function schedSwitchProbe(body: string): string {
  return `rawtracepoint:sched_switch { $prev = (struct task_struct *)arg1; $next = (struct task_struct *)arg2;\n${body}\n}`;
}

/** `rawtracepoint:sched_wakeup` and `sched_wakeup_new` (arg0: the woken task) with `$task` bound, then `body`. */
export function schedWakeupProbes(body: string): string {
  return `rawtracepoint:sched_wakeup, rawtracepoint:sched_wakeup_new { $task = (struct task_struct *)arg0;\n${body}\n}`;
}
