/** Host services (file reading and the like) for bpfkit's kernel-free code: `setHostIo` and the `HostIo` interface. */
export { setHostIo, nodeHostIo, type HostIo, type NodeBuiltins } from './io.js';
