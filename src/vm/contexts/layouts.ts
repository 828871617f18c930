/**
 * The program context layouts of the runtime. The table itself lives in src/isa/contexts.ts (one source of
 * truth shared with src/cbpf and src/kernel); this module re-exports it for the runtime's modules.
 */
export * from '../../isa/contexts.js';
