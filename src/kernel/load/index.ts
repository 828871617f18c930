/** Loading: programs, collections from ObjectSpecs, BTF, global data, verifier logs. */
export * from './program.js';
export * from './collection.js';
export * from './btf-load.js';
export * from './globals.js';
export * from './kernel-btf.js';
export * from './relocate.js';
export * from './verifier-log.js';
export * from './object-file.js';
