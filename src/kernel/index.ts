/**
 * The kernel backend: a libbpf-class loader over bpf(2). Maps, programs, collections from ObjectSpecs,
 * links of every kind, ring buffer and perf buffer readers, object views and feature probes.
 */
export * from './maps/index.js';
export * from './load/index.js';
export * from './link/index.js';
export * from './ringbuf/index.js';
export * from './perf/index.js';
export * from './info/index.js';
export * from './pin.js';
export { KernelObject } from './object.js';
export { features } from './features/index.js';
export type { Feature } from './features/probe.js';
export { FdRef, possibleCpus, onlineCpus, ensureBpffs, tracefsRoot, getpid, ifNameToIndex, socket, bindInet, recvNonBlocking, closeFd, AF_INET, SOCK_DGRAM } from './sys/index.js';
