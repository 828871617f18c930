/**
 * Links: what keeps an attached program attached. Every kind implements `Link` (`close()` detaches);
 * BPF links (fds from BPF_LINK_CREATE / RAW_TRACEPOINT_OPEN) also offer info, pinning and program update.
 * Perf-event based links cost ~72 ms of kernel time each to close, so `closeLinks` closes many concurrently
 * on libuv worker threads.
 */
import { Uapi } from '../../isa/uapi.js';
import { Attr, bpf, bpfAttr } from '../sys/bpf.js';
import { FdRef } from '../sys/fd.js';
import { linkInfo, type LinkInfo } from '../info/info.js';
import { getPinned } from '../pin.js';
import { KernelObject } from '../object.js';

/** Anything that keeps a program attached. */
export interface Link {
  /** What kind of attachment (`raw_tracepoint`, `xdp`, `tracepoint`, `socket_filter`...). */
  readonly kind: string;
  /** A short description of the target (`sys_enter`, `eth0 (native)`, `/sys/fs/cgroup/x ingress`). */
  readonly target: string;
  /** Detach (idempotent). */
  close(): void;
  /** Detach off the main thread where that helps (perf events); same effect as `close()`. */
  closeAsync(): Promise<void>;
  readonly closed: boolean;
}

/** A BPF link fd. */
export class BpfLink extends KernelObject implements Link {
  readonly kind: string;
  readonly target: string;

  constructor(fd: FdRef, kind: string, target: string) {
    super(fd);
    this.kind = kind;
    this.target = target;
  }

  /** Open a pinned link. */
  static fromPin(path: string): BpfLink {
    const l = new BpfLink(getPinned(path), 'pinned', path);
    l.pinnedAt = path;
    return l;
  }

  /** What the kernel says about this link. */
  info(): LinkInfo {
    return linkInfo(this.fd);
  }

  /** Swap the attached program atomically (BPF_LINK_UPDATE). */
  update(progFd: number, opts: { oldProgFd?: number } = {}): void {
    const a = new Attr('LINK_UPDATE').setAll({ link_fd: this.fd, new_prog_fd: progFd, old_prog_fd: opts.oldProgFd, flags: opts.oldProgFd ? Uapi.BPF_F_REPLACE : 0 });
    bpfAttr('LINK_UPDATE', a);
  }

  /** Detach the program while keeping the link object (BPF_LINK_DETACH); pinned links stay defunct. */
  detach(): void {
    bpf('LINK_DETACH', { link_fd: this.fd });
  }
}

/**
 * A link that is not a descriptor (a socket option, a netlink filter, a PROG_ATTACH, a struct_ops
 * registration): `close()` runs the subclass's `detach()` exactly once, `closeAsync()` is `close()`.
 */
export abstract class DetachOnceLink implements Link {
  abstract readonly kind: string;
  abstract readonly target: string;
  #closed = false;

  /** Undo the attachment (called once, by the first `close()`). */
  protected abstract detach(): void;

  get closed(): boolean {
    return this.#closed;
  }

  /** Detach (idempotent: later calls do nothing, also when the first one threw). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.detach();
  }

  async closeAsync(): Promise<void> {
    this.close();
  }
}

/** Close many links at once; perf-event links are closed concurrently on worker threads. */
export async function closeLinks(links: Iterable<Link>): Promise<void> {
  await Promise.all([...links].map((l) => l.closeAsync()));
}

/** LINK_CREATE with the given fields; returns the owned link fd. */
export function linkCreate(values: Parameters<typeof bpf<'LINK_CREATE'>>[1], detail: string): FdRef {
  const { ret } = bpf('LINK_CREATE', values, { detail });
  return new FdRef(ret, `link ${detail}`);
}
