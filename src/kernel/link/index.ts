/** Attaching programs: one module per kind of attachment, all returning a `Link`. */
export * from './link.js';
export * from './perf-event.js';
export * from './tracepoint.js';
export * from './raw-tracepoint.js';
export * from './tracing.js';
export * from './kprobe.js';
export * from './uprobe.js';
export * from './xdp.js';
export * from './tcx.js';
export * from './cgroup.js';
export * from './socket-filter.js';
export * from './sk-lookup.js';
export * from './iter.js';
export * from './auto.js';
export * from './tracefs.js';
export * from './elf-symbols.js';
export * from './libpath.js';
