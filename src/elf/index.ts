/** ELF objects: a generic ELF64 reader and the eBPF object loader producing an ObjectSpec. */
export * from './reader.js';
export * from './sections.js';
export * from './object.js';
export * from './kconfig.js';
export * from './segments.js';
export * from './usdt-notes.js';
export * from './usdt-args.js';
export { codeSections, type CodeSection, type ElfFunction } from './functions.js';
export type { ObjectMap } from './maps.js';
export * from './symbol-tables.js';
