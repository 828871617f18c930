/** Ring buffer consumer. */
export * from './reader.js';
