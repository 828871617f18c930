/**
 * The kernel calls classic BPF needs, in classic BPF terms: SO_ATTACH_FILTER of a `SockFilter[]`, AF_PACKET
 * capture sockets, seccomp installation and execve (for `seccomp run`), and the eBPF translation loaded as a
 * BPF_PROG_TYPE_SOCKET_FILTER and run with BPF_PROG_TEST_RUN. No FFI here: everything goes through the kernel
 * backend's sys layer (src/kernel/sys), which loads koffi lazily, so importing bpfkit never loads FFI.
 * Every failure throws KernelError with the errno name.
 */
import type { Insn } from '../isa/insn.js';
import { encodeProgram } from '../isa/insn.js';
import { NetConst, ProgType } from '../isa/uapi.js';
import {
  attachClassicFilter,
  bpf,
  bpfTry,
  installSeccompFilter,
  kernelError,
  packetSocket as sysPacketSocket,
  recvFrame,
  textBeforeNul,
  type ReceivedFrame,
} from '../kernel/sys/index.js';
import { encodeFilter, type SockFilter } from './insn.js';

export { closeFd, detachFilter, execve, ifNameToIndex, socket } from '../kernel/sys/index.js';

/** One received frame with the metadata of its sockaddr_ll. */
export type Received = ReceivedFrame;

/** Attach a classic program to a socket (SO_ATTACH_FILTER with a struct sock_fprog). */
export function attachFilter(fd: number, prog: readonly SockFilter[]): void {
  attachClassicFilter(fd, encodeFilter(prog));
}

/**
 * An AF_PACKET raw socket for one interface (or all with ifindex 0), receiving every protocol. With `prog`,
 * the filter is attached before the socket is bound, so no unfiltered frame is ever queued.
 */
export function packetSocket(ifindex: number, prog?: readonly SockFilter[]): number {
  return sysPacketSocket(ifindex, prog ? encodeFilter(prog) : undefined);
}

/** Non-blocking receive on a packet socket: a frame, or undefined when nothing is queued. */
export function recvNonBlocking(fd: number, max = 65536): Received | undefined {
  return recvFrame(fd, max);
}

/** prctl(PR_SET_NO_NEW_PRIVS, 1) then seccomp(SECCOMP_SET_MODE_FILTER, 0, prog) on the calling thread. */
export function installSeccomp(prog: readonly SockFilter[]): void {
  installSeccompFilter(encodeFilter(prog));
}

/** Load eBPF instructions as a BPF_PROG_TYPE_SOCKET_FILTER; returns the program fd (close it with closeFd). */
export function loadSocketFilterProgram(insns: readonly Insn[]): number {
  const log = Buffer.alloc(65536);
  const { ret } = bpfTry('PROG_LOAD', {
    prog_type: ProgType.SOCKET_FILTER,
    insn_cnt: insns.length,
    insns: encodeProgram(insns),
    license: 'GPL',
    log_level: 1,
    log_size: log.length,
    log_buf: log,
  });
  if (ret >= 0) return ret;
  const text = textBeforeNul(log);
  throw kernelError('PROG_LOAD', -ret, { log: text, detail: text.trim().split('\n').slice(-2).join(' | ') });
}

/**
 * BPF_PROG_TEST_RUN of a socket filter over `frame` (an Ethernet frame). The kernel pulls a 14-byte link
 * header off test data for this program type, so a dummy header is prepended: the program sees `frame` at
 * offset 0 and `len` = frame.length. Returns the program's return value.
 */
export function testRunSocketFilter(progFd: number, frame: Uint8Array): number {
  const data = Buffer.alloc(NetConst.ETH_HLEN + frame.length);
  data.writeUInt16BE(NetConst.ETH_P_802_EX1, 12); // an experimental ethertype: the kernel parses no L3 header
  data.set(frame, NetConst.ETH_HLEN);
  const { attr } = bpf('PROG_TEST_RUN', { prog_fd: progFd, data_size_in: data.length, data_in: data, repeat: 1 });
  return attr.get('retval');
}
