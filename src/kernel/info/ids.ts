/**
 * Walking every program, map, link or BTF object in the kernel (BPF_*_GET_NEXT_ID), opening one by id
 * (BPF_*_GET_FD_BY_ID), and switching on run-time statistics (BPF_ENABLE_STATS).
 */
import { StatsType } from '../../isa/uapi.js';
import { bpf, bpfTry } from '../sys/bpf.js';
import { kernelError } from '../sys/errno.js';
import { FdRef } from '../sys/fd.js';

/** The kinds of kernel objects with ids. */
export type ObjectKind = 'prog' | 'map' | 'link' | 'btf';

const NEXT = { prog: 'PROG_GET_NEXT_ID', map: 'MAP_GET_NEXT_ID', link: 'LINK_GET_NEXT_ID', btf: 'BTF_GET_NEXT_ID' } as const;
const BY_ID = { prog: 'PROG_GET_FD_BY_ID', map: 'MAP_GET_FD_BY_ID', link: 'LINK_GET_FD_BY_ID', btf: 'BTF_GET_FD_BY_ID' } as const;
const ID_FIELD = { prog: 'prog_id', map: 'map_id', link: 'link_id', btf: 'btf_id' } as const;

/** Every id of that kind, in increasing order. */
export function* objectIds(kind: ObjectKind): Generator<number> {
  let id = 0;
  for (;;) {
    const { ret, attr } = bpfTry(NEXT[kind], { start_id: id });
    if (ret < 0) {
      if (-ret === 2) return; // ENOENT: no more
      throw kernelError(NEXT[kind], -ret);
    }
    id = attr.get('next_id');
    yield id;
  }
}

/** Open the object with this id (an owned fd). Throws `KernelError(ENOENT)` when it is gone. */
export function openById(kind: ObjectKind, id: number): FdRef {
  const { ret } = bpf(BY_ID[kind], { [ID_FIELD[kind]]: id }, { detail: `${kind} id ${id}` });
  return new FdRef(ret, `${kind} ${id}`);
}

/** Like `openById`, but undefined when the object vanished meanwhile (ENOENT). */
export function tryOpenById(kind: ObjectKind, id: number): FdRef | undefined {
  const { ret } = bpfTry(BY_ID[kind], { [ID_FIELD[kind]]: id });
  if (ret === -2) return undefined;
  if (ret < 0) throw kernelError(BY_ID[kind], -ret, { detail: `${kind} id ${id}` });
  return new FdRef(ret, `${kind} ${id}`);
}

/**
 * Turn on run-time statistics (run_cnt / run_time_ns in program info) until the returned fd is closed.
 * Throws `KernelError('ENABLE_STATS')` on kernels without it (then write 1 to /proc/sys/kernel/bpf_stats_enabled).
 */
export function enableStats(): FdRef {
  const { ret } = bpf('ENABLE_STATS', { type: StatsType.RUN_TIME });
  return new FdRef(ret, 'stats');
}
