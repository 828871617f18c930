/**
 * bpfkit/portable — the kernel-free part of bpfkit, for browsers and any JS runtime on any OS: the ISA, the
 * assembler/disassembler, ELF/BTF/CO-RE readers (given bytes), skeleton generation, the userspace runtime
 * (interpreter, WebAssembly JIT, maps, helpers, program contexts), the bpf_conformance runner, the static
 * verifier, classic BPF (bpf_asm, interpreter, cBPF → eBPF, the pcap filter compiler, seccomp policies) and
 * pcap/pcapng files.
 *
 * Its import graph has no Node built-in and no FFI (test/portable checks it). The few conveniences that read host
 * files (kernel BTF, kernel config, tracefs formats, /etc/protocols, conformance directories) go through
 * `setHostIo` (src/host/io.ts): they work on Node, and elsewhere throw or fall back unless a host is installed.
 * Everything here is also exported by the main entry (`bpfkit`), which adds the kernel backend and Node tools.
 */
export * from './errors.js';
export * from './host/index.js';
export * from './isa/index.js';
export * from './asm/index.js';
export * from './spec/index.js';
export * from './elf/index.js';
export * from './btf/index.js';
export * from './gen/index.js';
export * from './vm/index.js';
export * from './jit/index.js';
export * from './conformance/index.js';
export * from './pcap/index.js';
export * from './verifier/index.js';
// Classic BPF without its kernel half (socket attach, live capture, seccomp install and spawn): src/cbpf/index.ts
// minus seccomp-run.js, capture.js and sys.js.
export {
  CClass, CMode, Rval, MiscOp, BPF_MEMWORDS, BPF_MAXINSNS, SKF_AD_OFF, SkfAd, ANCILLARY_NAMES, SKF_NET_OFF, SKF_LL_OFF,
  Op as ClassicOp, CLASSIC_ALU_OPS, CLASSIC_JMP_OPS, AuditArch, SeccompRet,
} from './cbpf/opcodes.js';
export * from './cbpf/insn.js';
export * from './cbpf/asm.js';
export * from './cbpf/image.js';
export * from './cbpf/interp.js';
export * from './cbpf/to-ebpf.js';
export * from './cbpf/ebpf-run.js';
export * from './cbpf/apply.js';
export { compileFilter, type CompileFilterOptions, DLT } from './cbpf/filter/index.js';
export * from './cbpf/seccomp.js';
