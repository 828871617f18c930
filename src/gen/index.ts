/** Code generation from eBPF objects: typed TypeScript skeletons (`bpfkit gen types`). */
export { generateSkeleton, type SkeletonOptions } from './skeleton.js';
