/**
 * bpfkit — eBPF, the whole system, in TypeScript.
 * The public library API: every area re-exports its public surface here. (The kernel-free subset, without
 * Node built-ins or FFI, is src/portable.ts: `bpfkit/portable`.)
 */
import './host/node.js';
export * from './host/index.js';
export * from './errors.js';
export * from './isa/index.js';
export * from './asm/index.js';
export * from './spec/index.js';
export * from './elf/index.js';
export * from './btf/index.js';
export * from './gen/index.js';
export * from './vm/index.js';
export * from './jit/index.js';
export * from './conformance/index.js';
export * from './kernel/index.js';
export * from './cbpf/index.js';
export * from './pcap/index.js';
export * from './verifier/index.js';
export * from './trace/index.js';
export * from './tools/index.js';
export * from './net/firewall/index.js';
export * from './net/lb/index.js';
export * from './security/index.js';
