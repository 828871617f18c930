/**
 * The sys layer: the only code touching FFI (koffi). Typed bpf(2), perf_event_open, ioctl, mmap, sockets,
 * classic socket filters and AF_PACKET, seccomp/prctl/execve and CPU affinity.
 */
export * from './attr.js';
export * from './bpf.js';
export * from './errno.js';
export * from './fd.js';
export * from './fs.js';
export * from './mmap.js';
export * from './net.js';
export * from './packet.js';
export * from './process.js';
export * from './perf.js';
export { addressOf, viewOf, pollFd, systemPageSize, syscallNumbers } from './ffi.js';
