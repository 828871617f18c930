/**
 * Classic BPF: the instruction set, bpf_asm assembler/disassembler, tcpdump dump formats, interpreter,
 * translation to eBPF, the pcap filter language compiler, seccomp policies, socket attach and live capture.
 * (sys.ts and capture.ts reach the kernel through src/kernel/sys, the only FFI code, which loads koffi lazily.)
 */
export {
  CClass, CMode, Rval, MiscOp, BPF_MEMWORDS, BPF_MAXINSNS, SKF_AD_OFF, SkfAd, ANCILLARY_NAMES, SKF_NET_OFF, SKF_LL_OFF,
  Op as ClassicOp, CLASSIC_ALU_OPS, CLASSIC_JMP_OPS, AuditArch, SeccompRet,
} from './opcodes.js';
export * from './insn.js';
export * from './asm.js';
export * from './image.js';
export * from './interp.js';
export * from './to-ebpf.js';
export * from './ebpf-run.js';
export * from './apply.js';
export { compileFilter, type CompileFilterOptions, DLT } from './filter/index.js';
export * from './seccomp.js';
export { spawnUnderSeccomp, waitChild, type SeccompSpawnOptions, type ChildExit } from './seccomp-run.js';
export { capture, LiveCapture, interfaceLinktype, type CaptureOptions } from './capture.js';
export { attachFilter, detachFilter, packetSocket, installSeccomp, loadSocketFilterProgram, testRunSocketFilter } from './sys.js';
