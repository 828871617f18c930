/**
 * Classic socket filters and AF_PACKET capture: SO_ATTACH_FILTER / SO_DETACH_FILTER with a `struct sock_fprog`,
 * AF_PACKET raw sockets bound to one interface for every protocol, and non-blocking receive with the
 * `sockaddr_ll` metadata of each frame. Filters are given already encoded (8-byte `struct sock_filter`s), so
 * this layer does not depend on the classic BPF model (src/cbpf).
 */
import { NetConst } from '../../isa/uapi.js';
import { kernelError } from './errno.js';
import { addressOf, sys } from './ffi.js';
import { AF_PACKET, MSG_DONTWAIT, MSG_TRUNC, SOCK_RAW, SOL_SOCKET, SO_ATTACH_FILTER, SO_DETACH_FILTER, closeFd, setSockOptInt, socket } from './net.js';

/** sizeof(struct sockaddr_ll). */
const SOCKADDR_LL_SIZE = 20;
/** sizeof(struct sock_filter). */
const SOCK_FILTER_SIZE = 8;

/**
 * Attach a classic program (encoded `struct sock_filter` array) to a socket: SO_ATTACH_FILTER with a
 * `struct sock_fprog { u16 len; struct sock_filter *filter; }`.
 */
export function attachClassicFilter(fd: number, filter: Uint8Array): void {
  const fprog = sockFprog(filter);
  const s = sys();
  if (s.setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, addressOf(fprog.buf), fprog.buf.length) !== 0) {
    throw kernelError('setsockopt(SO_ATTACH_FILTER)', s.errno());
  }
}

/** Remove a socket's classic or eBPF filter (SO_DETACH_FILTER). */
export function detachFilter(fd: number): void {
  setSockOptInt(fd, SOL_SOCKET, SO_DETACH_FILTER, 0, 'setsockopt(SO_DETACH_FILTER)');
}

/**
 * A `struct sock_fprog` pointing at an encoded filter. Keep the returned object referenced until the kernel has
 * copied the program (the call that uses it returned): `buf` holds the address of `filter`.
 */
export function sockFprog(filter: Uint8Array): { buf: Buffer; filter: Uint8Array } {
  if (filter.length % SOCK_FILTER_SIZE) throw new Error(`internal: a classic filter is a multiple of ${SOCK_FILTER_SIZE} bytes, got ${filter.length}`);
  const copy = Buffer.from(filter);
  const buf = Buffer.alloc(16);
  buf.writeUInt16LE(filter.length / SOCK_FILTER_SIZE, 0);
  buf.writeBigUInt64LE(addressOf(copy), 8);
  return { buf, filter: copy };
}

/** Bind an AF_PACKET socket to one interface (0 = all) for every protocol (ETH_P_ALL). */
export function bindPacket(fd: number, ifindex: number): void {
  const sll = Buffer.alloc(SOCKADDR_LL_SIZE);
  sll.writeUInt16LE(AF_PACKET, 0);
  sll.writeUInt16BE(NetConst.ETH_P_ALL, 2);
  sll.writeInt32LE(ifindex, 4);
  const s = sys();
  if (s.bind(fd, addressOf(sll), SOCKADDR_LL_SIZE) !== 0) throw kernelError('bind(AF_PACKET)', s.errno(), { detail: `ifindex ${ifindex}` });
}

/**
 * An AF_PACKET raw socket for one interface (or all with ifindex 0), receiving every protocol. With `filter`
 * (an encoded classic program), the filter is attached before the socket is bound, so no unfiltered frame is
 * ever queued.
 */
export function packetSocket(ifindex: number, filter?: Uint8Array): number {
  // Protocol 0: nothing is delivered until bind() names a protocol.
  const fd = socket(AF_PACKET, SOCK_RAW, 0);
  try {
    if (filter) attachClassicFilter(fd, filter);
    bindPacket(fd, ifindex);
  } catch (e) {
    closeFd(fd);
    throw e;
  }
  return fd;
}

/** One received frame with the metadata of its `sockaddr_ll`. */
export interface ReceivedFrame {
  data: Uint8Array;
  /** Length on the wire (MSG_TRUNC). */
  len: number;
  pktType: number;
  ifindex: number;
  /** Ethertype, host order. */
  protocol: number;
}

/** Non-blocking recvfrom(2) on a packet socket: a frame, or undefined when nothing is queued (EAGAIN). */
export function recvFrame(fd: number, max = 65536): ReceivedFrame | undefined {
  const buf = Buffer.alloc(max);
  const from = Buffer.alloc(SOCKADDR_LL_SIZE);
  const fromLen = Buffer.alloc(4);
  fromLen.writeUInt32LE(SOCKADDR_LL_SIZE);
  const s = sys();
  const n = s.recvfrom(fd, addressOf(buf), max, MSG_DONTWAIT | MSG_TRUNC, addressOf(from), addressOf(fromLen));
  if (n < 0) {
    const e = s.errno();
    if (e === 11 /* EAGAIN = EWOULDBLOCK */) return undefined;
    throw kernelError('recvfrom', e);
  }
  return {
    data: new Uint8Array(buf.buffer, buf.byteOffset, Math.min(n, max)).slice(),
    len: n,
    protocol: from.readUInt16BE(2),
    ifindex: from.readInt32LE(4),
    pktType: from.readUInt8(10),
  };
}
