/**
 * Network system calls the kernel backend needs: interface indices, SO_ATTACH_BPF, and a minimal raw socket
 * API (socket/bind/recv) so tests and tools can own a socket fd a filter attaches to. The socket-layer
 * constants (asm-generic/socket.h, bits/socket.h) are spelled here once; AF_PACKET capture is in packet.ts.
 */
import { kernelError } from './errno.js';
import { addressOf, sys } from './ffi.js';

export const SOL_SOCKET = 1;
export const SO_ATTACH_FILTER = 26;
export const SO_DETACH_FILTER = 27;
export const SO_ATTACH_BPF = 50;
export const SO_DETACH_BPF = SO_DETACH_FILTER;
export const SO_LOCK_FILTER = 44;
export const AF_INET = 2;
export const AF_PACKET = 17;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const MSG_DONTWAIT = 0x40;
export const MSG_TRUNC = 0x20;

/** The index of a network interface by name; throws `KernelError('if_nametoindex', ENODEV)` when absent. */
export function ifNameToIndex(name: string): number {
  const s = sys();
  const i = s.ifNameToIndex(name);
  if (!i) throw kernelError('if_nametoindex', s.errno() || 19, { detail: name, hint: `no network interface named ${name}` });
  return i;
}

/** setsockopt(2) with an int value. */
export function setSockOptInt(fd: number, level: number, name: number, value: number, what = 'setsockopt'): void {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value);
  const s = sys();
  if (s.setsockopt(fd, level, name, addressOf(b), 4) !== 0) throw kernelError(what, s.errno());
}

/** A socket created through libc (owned fd), for attaching socket filters. */
export function socket(domain: number, type: number, protocol = 0): number {
  const s = sys();
  const fd = s.socket(domain, type | SOCK_CLOEXEC, protocol);
  if (fd < 0) throw kernelError('socket', s.errno());
  return fd;
}

/** bind(2) an AF_INET socket to `ip:port` (port 0 = any); returns the bound port. */
export function bindInet(fd: number, ip: string, port: number): number {
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(AF_INET, 0);
  sa.writeUInt16BE(port, 2);
  ip.split('.').forEach((o, i) => sa.writeUInt8(Number(o), 4 + i));
  const s = sys();
  if (s.bind(fd, addressOf(sa), 16) !== 0) throw kernelError('bind', s.errno(), { detail: `${ip}:${port}` });
  const len = Buffer.alloc(4);
  len.writeUInt32LE(16);
  if (s.getsockname(fd, addressOf(sa), addressOf(len)) !== 0) throw kernelError('getsockname', s.errno());
  return sa.readUInt16BE(2);
}

/** A non-blocking recv(2): the datagram, or undefined when none is waiting (EAGAIN). */
export function recvNonBlocking(fd: number, max = 65536): Buffer | undefined {
  const buf = Buffer.alloc(max);
  const s = sys();
  const n = s.recv(fd, addressOf(buf), max, MSG_DONTWAIT);
  if (n < 0) {
    const e = s.errno();
    if (e === 11) return undefined;
    throw kernelError('recv', e);
  }
  return buf.subarray(0, n);
}

/** close(2) a raw descriptor. */
export function closeFd(fd: number): void {
  sys().close(fd);
}

/** getpid(2), really entering the kernel (glibc does not cache it): a cheap way to fire syscall tracepoints. */
export function getpid(): number {
  return sys().getpid();
}
