/**
 * Asking the kernel what is attached where: BPF_PROG_QUERY (programs and links on a cgroup, an interface's
 * tcx/netkit hooks, a network namespace's flow dissector / sk_lookup) and BPF_TASK_FD_QUERY (what a perf-event,
 * raw-tracepoint or link descriptor of some process runs).
 */
import { Uapi } from '../../isa/uapi.js';
import { bpfTry, textBeforeNul } from '../sys/bpf.js';
import { kernelError } from '../sys/errno.js';

/** What BPF_PROG_QUERY returned for one hook. */
export interface AttachQuery {
  /** The hook's attach flags (cgroup: BPF_F_ALLOW_OVERRIDE / ALLOW_MULTI of the non-effective query). */
  attachFlags: number;
  /** Programs, in run order. */
  progIds: number[];
  /** Per-program attach flags (cgroup, non-effective query; zeros otherwise). */
  progAttachFlags: number[];
  /** The link of each program (0 when attached without a link), for mprog hooks (tcx, netkit) on 6.6+. */
  linkIds: number[];
  /** The hook's revision counter (mprog hooks; 0 elsewhere). */
  revision: bigint;
}

/** Options of `queryAttached`. */
export interface AttachQueryOptions {
  /** BPF_F_QUERY_EFFECTIVE: for cgroups, include what is inherited from ancestors. */
  effective?: boolean;
}

/**
 * BPF_PROG_QUERY for one hook. `target` is a descriptor (cgroup directory, netns) or `{ ifindex }` (tcx, netkit).
 * Returns undefined when the kernel does not know this attach type for that target (EINVAL / EOPNOTSUPP / ENOTSUPP)
 * or the hook does not exist (ENODEV, or ENXIO: netkit on a non-netkit device); throws `KernelError` otherwise.
 */
export function queryAttached(target: { fd: number } | { ifindex: number }, attachType: number, opts: AttachQueryOptions = {}): AttachQuery | undefined {
  const base = {
    ...('fd' in target ? { target_fd: target.fd } : { target_ifindex: target.ifindex }),
    attach_type: attachType,
    query_flags: opts.effective ? Uapi.BPF_F_QUERY_EFFECTIVE : 0,
  };
  const soft = new Set([22 /* EINVAL */, 95 /* EOPNOTSUPP */, 524 /* ENOTSUPP */, 19 /* ENODEV */, 6 /* ENXIO */]);
  // The hook may change between the two calls: retry while the kernel says the buffer is too small (ENOSPC).
  for (let attempt = 0; attempt < 4; attempt++) {
    const first = bpfTry('PROG_QUERY', base);
    if (first.ret < 0) {
      if (soft.has(-first.ret)) return undefined;
      throw kernelError('PROG_QUERY', -first.ret);
    }
    const count = first.attr.get('prog_cnt');
    const attachFlags = first.attr.get('attach_flags');
    const revision = first.attr.get64('revision');
    if (count === 0) return { attachFlags, progIds: [], progAttachFlags: [], linkIds: [], revision };
    const ids = Buffer.alloc(count * 4);
    const flags = Buffer.alloc(count * 4);
    const links = Buffer.alloc(count * 4);
    const { ret, attr } = bpfTry('PROG_QUERY', {
      ...base,
      prog_ids: ids,
      prog_cnt: count,
      prog_attach_flags: opts.effective ? undefined : flags,
      link_ids: links,
    });
    if (ret === -28 /* ENOSPC */) continue;
    if (ret < 0) {
      if (soft.has(-ret)) return undefined;
      throw kernelError('PROG_QUERY', -ret);
    }
    const n = Math.min(count, attr.get('prog_cnt'));
    const read = (b: Buffer) => Array.from({ length: n }, (_, i) => b.readUInt32LE(i * 4));
    return { attachFlags: attr.get('attach_flags'), progIds: read(ids), progAttachFlags: read(flags), linkIds: read(links), revision: attr.get64('revision') };
  }
  throw kernelError('PROG_QUERY', 28, { detail: 'the hook kept changing' });
}

/** `enum bpf_task_fd_type` (linux/bpf.h). */
export const TaskFdType = {
  RAW_TRACEPOINT: 0,
  TRACEPOINT: 1,
  KPROBE: 2,
  KRETPROBE: 3,
  UPROBE: 4,
  URETPROBE: 5,
} as const;

const FD_TYPE_NAMES = ['raw_tracepoint', 'tracepoint', 'kprobe', 'kretprobe', 'uprobe', 'uretprobe'];

/** What a process's descriptor runs (BPF_TASK_FD_QUERY). */
export interface TaskFdInfo {
  pid: number;
  fd: number;
  progId: number;
  fdType: number;
  /** `raw_tracepoint`, `tracepoint`, `kprobe`, `kretprobe`, `uprobe`, `uretprobe`. */
  fdTypeName: string;
  /** Tracepoint name, kprobe function, or uprobe file. */
  name: string;
  /** kprobe: offset into the function; uprobe: file offset. */
  probeOffset: bigint;
  /** kprobe: address when given by address (0 with a name). */
  probeAddr: bigint;
}

/**
 * BPF_TASK_FD_QUERY for descriptor `fd` of process `pid`: undefined when that descriptor has no BPF program
 * attached through it (ENOENT, EBADF, ENOTSUPP, EINVAL...: not a perf event / raw tracepoint with a program).
 */
export function taskFdQuery(pid: number, fd: number): TaskFdInfo | undefined {
  const buf = Buffer.alloc(4096);
  const { ret, attr } = bpfTry('TASK_FD_QUERY', { pid, fd, buf, buf_len: buf.length });
  if (ret < 0) return undefined;
  const fdType = attr.get('fd_type');
  return {
    pid,
    fd,
    progId: attr.get('prog_id'),
    fdType,
    fdTypeName: FD_TYPE_NAMES[fdType] ?? `type ${fdType}`,
    name: textBeforeNul(buf),
    probeOffset: attr.get64('probe_offset'),
    probeAddr: attr.get64('probe_addr'),
  };
}
