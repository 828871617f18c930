/** Feature probes: ask the kernel what it supports, with reasons. */
export * as features from './probe.js';
export * from './probe.js';
