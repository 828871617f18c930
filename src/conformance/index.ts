/** bpf_conformance support: the `.data` test format, a runner on the userspace interpreter, the plugin protocol. */
export * from './parse.js';
export * from './run.js';
export * from './plugin.js';
