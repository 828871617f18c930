/**
 * The userspace eBPF VM: segmented memory, the interpreter and the `Vm` class (core), plus the runtime
 * (maps, helpers, program contexts) built on top of it.
 */
export * from './api.js';
export { VmMemory, formatAddr, REGION_KINDS } from './memory.js';
export { Vm, DEFAULT_MAX_INSNS, VM_STACK_SIZE, type VmEngine, type VmEngineOptions } from './vm.js';
export { MAX_TAIL_CALLS } from './interpreter.js';
export * from './runtime.js';
