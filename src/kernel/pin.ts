/**
 * Pinning objects in bpffs (BPF_OBJ_PIN / BPF_OBJ_GET) and unpinning them; bpffs is mounted at /sys/fs/bpf
 * when absent and privileged.
 */
import { existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { Uapi } from '../isa/uapi.js';
import { bpf } from './sys/bpf.js';
import { ensureBpffs, FsMagic, fsMagic } from './sys/fs.js';
import { FdRef } from './sys/fd.js';

/** Pin the object behind `fd` at `path` (parent directories created; bpffs mounted if needed). */
export function pinFd(fd: number, path: string): void {
  const dir = dirname(path);
  if (dir.startsWith('/sys/fs/bpf')) ensureBpffs();
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  bpf('OBJ_PIN', { pathname: path, bpf_fd: fd }, { detail: path });
}

/** Open a pinned object (an owned fd). Throws `KernelError('OBJ_GET', ENOENT)` for a missing pin. */
export function getPinned(path: string, opts: { readOnly?: boolean; writeOnly?: boolean } = {}): FdRef {
  const flags = opts.readOnly ? Uapi.BPF_F_RDONLY : opts.writeOnly ? Uapi.BPF_F_WRONLY : 0;
  const { ret } = bpf('OBJ_GET', { pathname: path, file_flags: flags }, { detail: path });
  return new FdRef(ret, path);
}

/** Remove a pin (the object lives on while other references exist). */
export function unpin(path: string): void {
  unlinkSync(path);
}

/** True when `path` is inside a mounted bpffs. */
export function isBpffs(path: string): boolean {
  return fsMagic(path) === FsMagic.BPF;
}
