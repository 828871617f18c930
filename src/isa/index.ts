/** The eBPF instruction set: opcode tables, the instruction model and its encoding, helpers and UAPI constants. */
export * from './opcodes.js';
export * from './insn.js';
export * from './helpers.js';
export * from './uapi.js';
export * from './names.js';
