/** Socket filters: SO_ATTACH_BPF on a socket fd; `close()` does SO_DETACH_BPF (the socket stays open). */
import type { KernelProgram } from '../load/program.js';
import { setSockOptInt, SO_ATTACH_BPF, SO_DETACH_BPF, SOL_SOCKET } from '../sys/net.js';
import { DetachOnceLink } from './link.js';

/** A filter attached to a socket. */
export class SocketFilterLink extends DetachOnceLink {
  readonly kind = 'socket_filter';
  constructor(
    readonly socketFd: number,
    readonly target: string,
  ) {
    super();
  }
  protected detach(): void {
    try {
      setSockOptInt(this.socketFd, SOL_SOCKET, SO_DETACH_BPF, 0, 'setsockopt SO_DETACH_BPF');
    } catch {
      /* the socket may be gone already */
    }
  }
}

/** Attach a SOCKET_FILTER program to a socket fd. Throws `KernelError('setsockopt SO_ATTACH_BPF')`. */
export function attachSocketFilter(prog: KernelProgram, socketFd: number): SocketFilterLink {
  setSockOptInt(socketFd, SOL_SOCKET, SO_ATTACH_BPF, prog.fd, 'setsockopt SO_ATTACH_BPF');
  return new SocketFilterLink(socketFd, `socket fd ${socketFd}`);
}
