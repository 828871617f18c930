/**
 * bpfkit — eBPF, the whole system, in TypeScript.
 * The public library API: every area re-exports its public surface here.
 */
export * from './errors.js';
export * from './isa/index.js';
export * from './spec/index.js';
