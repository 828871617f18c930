/** Perf event array reader. */
export * from './reader.js';
