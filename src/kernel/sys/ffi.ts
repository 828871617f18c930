/**
 * The raw foreign-function bindings (koffi) to libc and the Linux system calls bpfkit needs. This file and its
 * siblings in src/kernel/sys/ are the ONLY code in bpfkit touching FFI. Everything here returns the raw result;
 * `errno()` must be read right after a failing call, before any other FFI call (see notes/ffi.md pitfall 1).
 *
 * Pointers are BigInt addresses (koffi 3). Syscalls go through glibc's `syscall()` with fixed integer
 * prototypes (ABI-safe for integer arguments on x86-64 and aarch64, and ~15% faster than the variadic form).
 */
import { createRequire } from 'node:module';
import { arch } from 'node:process';
import type * as Koffi from 'koffi';
import { SYSCALLS_AARCH64 } from '../../isa/syscalls-aarch64.js';
import { SYSCALLS_X86_64 } from '../../isa/syscalls-x86_64.js';

let koffiModule: typeof Koffi | undefined;
/** koffi, loaded on first use (importing bpfkit does not load the native addon unless the kernel is used). */
function kf(): typeof Koffi {
  return (koffiModule ??= createRequire(import.meta.url)('koffi') as typeof Koffi);
}

/** The syscall numbers the sys layer calls through glibc's syscall(). */
interface SyscallNumbers {
  bpf: number;
  perf_event_open: number;
  ioctl: number;
  setns: number;
  seccomp: number;
}
/** The generated syscall table (src/isa/syscalls-*.ts) of each architecture bpfkit supports. */
const TABLES: Record<string, Readonly<Record<string, number>>> = { x64: SYSCALLS_X86_64, arm64: SYSCALLS_AARCH64 };
let nrs: SyscallNumbers | undefined;

/** This architecture's syscall numbers (throws on an unsupported architecture when first used). */
export function syscallNumbers(): SyscallNumbers {
  if (nrs) return nrs;
  const t = TABLES[arch];
  if (!t) throw new Error(`bpfkit kernel backend: unsupported architecture ${arch}`);
  return (nrs = { bpf: t.bpf!, perf_event_open: t.perf_event_open!, ioctl: t.ioctl!, setns: t.setns!, seccomp: t.seccomp! });
}

type Fn = (...args: any[]) => any;

/** The libc functions, bound lazily on first use (so importing bpfkit never loads FFI unless needed). */
export interface Libc {
  /** bpf(cmd, attr, size) → fd/0, or -1 with errno. */
  bpf(cmd: number, attr: bigint, size: number): number;
  /** perf_event_open(attr, pid, cpu, group_fd, flags). */
  perfEventOpen(attr: bigint, pid: number, cpu: number, groupFd: number, flags: number): number;
  /** ioctl(fd, request, arg) with an integer or pointer argument. */
  ioctl(fd: number, request: number, arg: bigint | number): number;
  setns(fd: number, nstype: number): number;
  mmap(addr: bigint, length: number, prot: number, flags: number, fd: number, offset: number): bigint;
  munmap(addr: bigint, length: number): number;
  close(fd: number): number;
  /** close(2) on a libuv worker thread (perf event fds take ~72 ms each to close: do many concurrently). */
  closeAsync(fd: number): Promise<number>;
  read(fd: number, buf: bigint, count: number): number;
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: bigint, len: number): number;
  recv(fd: number, buf: bigint, len: number, flags: number): number;
  /** recvfrom(2) with the sender's address written at `addr` (`*lenPtr` bytes available). */
  recvfrom(fd: number, buf: bigint, len: number, flags: number, addr: bigint, lenPtr: bigint): number;
  setsockopt(fd: number, level: number, name: number, value: bigint, len: number): number;
  getsockname(fd: number, addr: bigint, lenPtr: bigint): number;
  ifNameToIndex(name: string): number;
  getpid(): number;
  mount(source: string, target: string, fstype: string, flags: number, data: bigint): number;
  statfs(path: string, buf: bigint): number;
  prctl(option: number, a2: number, a3: number, a4: number, a5: number): number;
  /** seccomp(2) (glibc has no wrapper). */
  seccomp(op: number, flags: number, args: bigint): number;
  /** fcntl(2) with an integer argument. */
  fcntl(fd: number, cmd: number, arg: number): number;
  /** execve(2): argv and envp end with null. Returns only on failure. */
  execve(path: string, argv: readonly (string | null)[], envp: readonly (string | null)[]): number;
  /** sched_getaffinity(2) / sched_setaffinity(2) of a thread (0 = the calling one). */
  schedGetaffinity(pid: number, size: number, mask: bigint): number;
  schedSetaffinity(pid: number, size: number, mask: bigint): number;
  errno(): number;
}

let libc: Libc | undefined;

/** The bound libc functions. */
export function sys(): Libc {
  if (libc) return libc;
  const nr = syscallNumbers();
  const lib = kf().load(null);
  const fn = (decl: string): Fn => lib.func(decl) as Fn;
  const syscall4 = fn('long syscall(long nr, long a1, uint64_t a2, unsigned long a3)');
  const syscall6 = lib.func('syscall', 'long', ['long', 'uint64_t', 'long', 'long', 'long', 'unsigned long']) as Fn;
  const syscall3i = lib.func('syscall', 'long', ['long', 'long', 'unsigned long', 'uint64_t']) as Fn;
  const syscall2 = lib.func('syscall', 'long', ['long', 'long', 'long']) as Fn;
  const mmap = fn('uint64_t mmap(uint64_t addr, size_t length, int prot, int flags, int fd, long offset)');
  const munmap = fn('int munmap(uint64_t addr, size_t length)');
  const close = fn('int close(int fd)');
  const read = fn('long read(int fd, uint64_t buf, size_t count)');
  const socket = fn('int socket(int domain, int type, int protocol)');
  const bind = fn('int bind(int fd, uint64_t addr, uint32_t len)');
  const recv = fn('long recv(int fd, uint64_t buf, size_t len, int flags)');
  const setsockopt = fn('int setsockopt(int fd, int level, int name, uint64_t value, uint32_t len)');
  const getsockname = fn('int getsockname(int fd, uint64_t addr, uint64_t lenp)');
  const ifNameToIndex = fn('unsigned int if_nametoindex(const char *name)');
  const getpid = fn('int getpid(void)');
  const mount = fn('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, uint64_t data)');
  const statfs = fn('int statfs(const char *path, uint64_t buf)');
  const recvfrom = fn('long recvfrom(int fd, uint64_t buf, size_t len, int flags, uint64_t addr, uint64_t lenp)');
  const prctl = fn('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)');
  const fcntl = fn('int fcntl(int fd, int cmd, int arg)');
  const execve = fn('int execve(const char *path, const char **argv, const char **envp)');
  const getaff = fn('int sched_getaffinity(int pid, size_t size, uint64_t mask)');
  const setaff = fn('int sched_setaffinity(int pid, size_t size, uint64_t mask)');
  libc = {
    bpf: (cmd, attr, size) => Number(syscall4(nr.bpf, cmd, attr, size)),
    perfEventOpen: (attr, pid, cpu, groupFd, flags) => Number(syscall6(nr.perf_event_open, attr, pid, cpu, groupFd, flags)),
    ioctl: (fd, request, arg) => Number(syscall3i(nr.ioctl, fd, request, BigInt(arg))),
    setns: (fd, nstype) => Number(syscall2(nr.setns, fd, nstype)),
    mmap: (addr, length, prot, flags, fd, offset) => BigInt(mmap(addr, length, prot, flags, fd, offset)),
    munmap: (addr, length) => munmap(addr, length),
    close: (fd) => close(fd),
    closeAsync: (fd) =>
      new Promise((resolve) => {
        (close as any).async(fd, (_err: unknown, r: number) => resolve(r));
      }),
    read: (fd, buf, count) => Number(read(fd, buf, count)),
    socket: (d, t, p) => socket(d, t, p),
    bind: (fd, addr, len) => bind(fd, addr, len),
    recv: (fd, buf, len, flags) => Number(recv(fd, buf, len, flags)),
    setsockopt: (fd, level, name, value, len) => setsockopt(fd, level, name, value, len),
    getsockname: (fd, addr, lenp) => getsockname(fd, addr, lenp),
    ifNameToIndex: (name) => ifNameToIndex(name),
    getpid: () => getpid(),
    mount: (s, t, f, fl, d) => mount(s, t, f, fl, d),
    statfs: (p, b) => statfs(p, b),
    recvfrom: (fd, buf, len, flags, addr, lenp) => Number(recvfrom(fd, buf, len, flags, addr, lenp)),
    prctl: (o, a2, a3, a4, a5) => prctl(o, a2, a3, a4, a5),
    seccomp: (op, flags, args) => Number(syscall3i(nr.seccomp, op, flags, args)),
    fcntl: (fd, cmd, arg) => fcntl(fd, cmd, arg),
    execve: (path, argv, envp) => execve(path, argv, envp),
    schedGetaffinity: (pid, size, mask) => getaff(pid, size, mask),
    schedSetaffinity: (pid, size, mask) => setaff(pid, size, mask),
    errno: () => kf().errno(),
  };
  return libc;
}

let extraLib: ReturnType<typeof Koffi.load> | undefined;
/**
 * Bind one more libc function from its C declaration, for sys modules with calls of their own (netlink.ts:
 * sendto/recv). Bind once and keep the result; errno is read with `sys().errno()` right after a failing call.
 */
export function libcFunction(decl: string): Fn {
  syscallNumbers();
  extraLib ??= kf().load(null);
  return extraLib.func(decl) as Fn;
}

/** The address of a buffer's first byte (costs ~0.5-0.9 us: cache it for hot paths). */
export function addressOf(buf: Uint8Array | ArrayBuffer): bigint {
  return kf().address(buf);
}

/** A zero-copy ArrayBuffer over `len` bytes of native memory at `addr` (no finalizer: see mmap.ts). */
export function viewOf(addr: bigint, len: number): ArrayBuffer {
  return kf().view(addr, len);
}

/** Watch a file descriptor for readability on libuv's loop (no thread). Undocumented koffi API (notes/ffi.md). */
export function pollFd(fd: number, onReadable: () => void): { start(): void; stop(): void; close(): void; unref(): void; ref(): void } {
  const handle = kf().node.poll(fd, { readable: true }, () => onReadable());
  return {
    start: () => handle.start({ readable: true }, () => onReadable()),
    stop: () => handle.stop(),
    close: () => handle.close(),
    unref: () => handle.unref(),
    ref: () => handle.ref(),
  };
}

let pageSize: number | undefined;
/** The system page size. */
export function systemPageSize(): number {
  if (pageSize === undefined) {
    const lib = kf().load(null);
    pageSize = Number((lib.func('int getpagesize(void)') as Fn)());
  }
  return pageSize;
}
