/** Kernel maps and typed views. */
export * from './map.js';
export * from './typed.js';
export * from './btf-codec.js';
