/**
 * The few system calls classic BPF needs, through koffi: sockets and SO_ATTACH_FILTER, AF_PACKET capture,
 * prctl/seccomp and execve (for `seccomp run`), and bpf(2) PROG_LOAD/PROG_TEST_RUN (to check translated
 * programs in the real kernel). Deliberately tiny and private to src/cbpf; to be merged into src/kernel/sys.
 * Every failure throws KernelError with the errno name. Loaded lazily: importing bpfkit never loads FFI.
 */
import koffi from 'koffi';
import { arch } from 'node:process';
import { constants } from 'node:os';
import { KernelError } from '../errors.js';
import type { Insn } from '../isa/insn.js';
import { encodeProgram } from '../isa/insn.js';
import { encodeFilter, type SockFilter } from './insn.js';

type Fn = (...args: any[]) => any;
interface Lib {
  socket: Fn;
  setsockopt: Fn;
  bind: Fn;
  recvfrom: Fn;
  close: Fn;
  prctl: Fn;
  syscallSeccomp: Fn;
  syscallBpf: Fn;
  ifNameToIndex: Fn;
  execve: Fn;
  fcntl: Fn;
  errnoLoc: Fn;
}
let lib: Lib | undefined;

const NR: Record<string, { seccomp: number; bpf: number }> = {
  x64: { seccomp: 317, bpf: 321 },
  arm64: { seccomp: 277, bpf: 280 },
};

function L(): Lib {
  if (lib) return lib;
  const c = koffi.load(null as unknown as string);
  lib = {
    socket: c.func('int socket(int, int, int)'),
    setsockopt: c.func('int setsockopt(int, int, int, void *, uint32_t)'),
    bind: c.func('int bind(int, void *, uint32_t)'),
    recvfrom: c.func('long recvfrom(int, void *, size_t, int, void *, void *)'),
    close: c.func('int close(int)'),
    prctl: c.func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)'),
    syscallSeccomp: c.func('syscall', 'long', ['long', 'long', 'long', 'void *']),
    syscallBpf: c.func('syscall', 'long', ['long', 'long', 'void *', 'long']),
    ifNameToIndex: c.func('unsigned int if_nametoindex(const char *)'),
    execve: c.func('int execve(const char *, const char **, const char **)'),
    fcntl: c.func('int fcntl(int, int, int)'),
    errnoLoc: () => koffi.errno(),
  };
  return lib;
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v as number, k]));

function fail(what: string, detail?: string): never {
  const e = koffi.errno();
  throw new KernelError(what, e, ERRNO_NAMES.get(e) ?? `errno ${e}`, detail ? { detail } : {});
}

/** Socket constants used here. */
export const SockConst = {
  AF_INET: 2,
  AF_PACKET: 17,
  SOCK_DGRAM: 2,
  SOCK_RAW: 3,
  SOL_SOCKET: 1,
  SO_ATTACH_FILTER: 26,
  SO_DETACH_FILTER: 27,
  SO_LOCK_FILTER: 44,
  ETH_P_ALL: 0x0003,
  MSG_DONTWAIT: 0x40,
  MSG_TRUNC: 0x20,
} as const;

/** socket(2). */
export function socket(domain: number, type: number, protocol = 0): number {
  const fd = L().socket(domain, type, protocol) as number;
  if (fd < 0) fail('socket');
  return fd;
}

/** close(2). */
export function closeFd(fd: number): void {
  L().close(fd);
}

/** Attach a classic program to a socket (SO_ATTACH_FILTER with a struct sock_fprog). */
export function attachFilter(fd: number, prog: readonly SockFilter[]): void {
  const filter = Buffer.from(encodeFilter(prog));
  const fprog = Buffer.alloc(16);
  fprog.writeUInt16LE(prog.length, 0);
  fprog.writeBigUInt64LE(BigInt(koffi.address(filter)), 8);
  const r = L().setsockopt(fd, SockConst.SOL_SOCKET, SockConst.SO_ATTACH_FILTER, fprog, 16) as number;
  if (r < 0) fail('setsockopt(SO_ATTACH_FILTER)');
}

/** Remove a socket's filter (SO_DETACH_FILTER). */
export function detachFilter(fd: number): void {
  const v = Buffer.alloc(4);
  if ((L().setsockopt(fd, SockConst.SOL_SOCKET, SockConst.SO_DETACH_FILTER, v, 4) as number) < 0) fail('setsockopt(SO_DETACH_FILTER)');
}

/** Interface index of a name (0 if none). */
export function ifNameToIndex(name: string): number {
  return L().ifNameToIndex(name) as number;
}

/** Bind an AF_PACKET socket to one interface (0 = all) for every protocol (ETH_P_ALL). */
export function bindPacket(fd: number, ifindex: number): void {
  const sll = Buffer.alloc(20);
  sll.writeUInt16LE(SockConst.AF_PACKET, 0);
  sll.writeUInt16BE(SockConst.ETH_P_ALL, 2);
  sll.writeInt32LE(ifindex, 4);
  if ((L().bind(fd, sll, 20) as number) < 0) fail('bind(AF_PACKET)');
}

/**
 * An AF_PACKET raw socket for one interface (or all with ifindex 0), receiving every protocol. With `prog`,
 * the filter is attached before the socket is bound, so no unfiltered frame is ever queued.
 */
export function packetSocket(ifindex: number, prog?: readonly SockFilter[]): number {
  // Protocol 0: nothing is delivered until bind() names a protocol.
  const fd = socket(SockConst.AF_PACKET, SockConst.SOCK_RAW, 0);
  try {
    if (prog) attachFilter(fd, prog);
    bindPacket(fd, ifindex);
  } catch (e) {
    closeFd(fd);
    throw e;
  }
  return fd;
}

/** One received frame with the metadata of its sockaddr_ll. */
export interface Received {
  data: Uint8Array;
  /** Length on the wire (MSG_TRUNC). */
  len: number;
  pktType: number;
  ifindex: number;
  protocol: number;
}

/** Non-blocking receive: a frame, or undefined when nothing is queued. */
export function recvNonBlocking(fd: number, max = 65536): Received | undefined {
  const buf = Buffer.alloc(max);
  const from = Buffer.alloc(20);
  const fromLen = Buffer.alloc(4);
  fromLen.writeUInt32LE(20);
  const n = Number(L().recvfrom(fd, buf, max, SockConst.MSG_DONTWAIT | SockConst.MSG_TRUNC, from, fromLen));
  if (n < 0) {
    const e = koffi.errno();
    if (e === constants.errno.EAGAIN || e === constants.errno.EWOULDBLOCK) return undefined;
    fail('recvfrom');
  }
  return {
    data: new Uint8Array(buf.buffer, buf.byteOffset, Math.min(n, max)).slice(),
    len: n,
    protocol: from.readUInt16BE(2),
    ifindex: from.readInt32LE(4),
    pktType: from.readUInt8(10),
  };
}

/** prctl(PR_SET_NO_NEW_PRIVS, 1) then seccomp(SECCOMP_SET_MODE_FILTER, 0, prog) on the calling thread. */
export function installSeccomp(prog: readonly SockFilter[]): void {
  const nr = NR[arch];
  if (!nr) throw new KernelError('seccomp', 0, 'ENOSYS', { detail: `unsupported architecture ${arch}` });
  if ((L().prctl(38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0) as number) < 0) fail('prctl(PR_SET_NO_NEW_PRIVS)');
  const filter = Buffer.from(encodeFilter(prog));
  const fprog = Buffer.alloc(16);
  fprog.writeUInt16LE(prog.length, 0);
  fprog.writeBigUInt64LE(BigInt(koffi.address(filter)), 8);
  if (Number(L().syscallSeccomp(nr.seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, fprog)) < 0) fail('seccomp(SECCOMP_SET_MODE_FILTER)');
}

/**
 * execve(2): replaces the process; returns only by throwing KernelError. Node marks its stdio descriptors
 * close-on-exec, so 0, 1 and 2 are made inheritable first.
 */
export function execve(path: string, argv: readonly string[], env: readonly string[]): never {
  for (let fd = 0; fd <= 2; fd++) {
    const flags = L().fcntl(fd, 1 /* F_GETFD */, 0) as number;
    if (flags >= 0) L().fcntl(fd, 2 /* F_SETFD */, flags & ~1 /* FD_CLOEXEC */);
  }
  L().execve(path, [...argv, null], [...env, null]);
  fail('execve', path);
}

/** bpf(2) with a zeroed attribute buffer. */
function bpf(cmd: number, attr: Buffer, what: string): number {
  const nr = NR[arch];
  if (!nr) throw new KernelError(what, 0, 'ENOSYS', { detail: `unsupported architecture ${arch}` });
  const r = Number(L().syscallBpf(nr.bpf, cmd, attr, attr.length));
  if (r < 0) fail(what);
  return r;
}

/** Load eBPF instructions as a BPF_PROG_TYPE_SOCKET_FILTER; returns the program fd (close it with closeFd). */
export function loadSocketFilterProgram(insns: readonly Insn[]): number {
  const code = Buffer.from(encodeProgram(insns));
  const license = Buffer.from('GPL\0');
  const log = Buffer.alloc(65536);
  const attr = Buffer.alloc(128);
  attr.writeUInt32LE(1, 0); // prog_type SOCKET_FILTER
  attr.writeUInt32LE(insns.length, 4);
  attr.writeBigUInt64LE(BigInt(koffi.address(code)), 8);
  attr.writeBigUInt64LE(BigInt(koffi.address(license)), 16);
  attr.writeUInt32LE(1, 24); // log_level
  attr.writeUInt32LE(log.length, 28);
  attr.writeBigUInt64LE(BigInt(koffi.address(log)), 32);
  try {
    return bpf(5 /* BPF_PROG_LOAD */, attr, 'bpf(BPF_PROG_LOAD)');
  } catch (e) {
    const text = log.toString('utf8', 0, Math.max(0, log.indexOf(0)));
    if (e instanceof KernelError) throw new KernelError(e.command, e.errno, e.errnoName, { log: text, detail: text.trim().split('\n').slice(-2).join(' | ') });
    throw e;
  }
}

/**
 * BPF_PROG_TEST_RUN of a socket filter over `frame` (an Ethernet frame). The kernel pulls a 14-byte link
 * header off test data for this program type, so a dummy header is prepended: the program sees `frame` at
 * offset 0 and `len` = frame.length. Returns the program's return value.
 */
export function testRunSocketFilter(progFd: number, frame: Uint8Array): number {
  const data = Buffer.alloc(14 + Math.max(frame.length, 0));
  data.writeUInt16BE(0x88b5, 12); // an experimental ethertype: the kernel parses no L3 header
  data.set(frame, 14);
  const attr = Buffer.alloc(80);
  attr.writeUInt32LE(progFd, 0);
  attr.writeUInt32LE(data.length, 8);
  attr.writeBigUInt64LE(BigInt(koffi.address(data)), 16);
  attr.writeUInt32LE(1, 32); // repeat
  bpf(10 /* BPF_PROG_TEST_RUN */, attr, 'bpf(BPF_PROG_TEST_RUN)');
  return attr.readUInt32LE(4);
}
