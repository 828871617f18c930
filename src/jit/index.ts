/**
 * The eBPF → WebAssembly JIT: the second userspace engine beside the interpreter, with the same results and
 * faults. Use `new Vm(insns, { engine: 'jit' })` (or `loadCollection(obj, { engine: 'jit' })`, `bpfkit run
 * --engine jit`, `bpfkit conformance --engine jit`); `compileJit` is a shorthand.
 */
import type { Insn } from '../isa/insn.js';
import type { VmOptions } from '../vm/api.js';
import { Vm } from '../vm/vm.js';
import type { CompileStats } from './engine.js';

export type { CompileStats } from './engine.js';

/**
 * Prepare `insns` for the JIT: the checks of `new Vm` (DecodeError / VmError at construction), then translation
 * to a WebAssembly module, compiled and instantiated. Returns the Vm; `vm.run(r1..r5)` runs the compiled code.
 */
export function compileJit(insns: readonly Insn[], opts: VmOptions = {}): Vm {
  return new Vm(insns, { ...opts, engine: 'jit' });
}

/** The WebAssembly module bytes and compile statistics of a JIT Vm (undefined for an interpreter Vm). */
export function jitModule(vm: Vm): { wasm: Uint8Array; stats: CompileStats } | undefined {
  const p = vm.jit?.program;
  return p ? { wasm: p.wasm, stats: p.stats } : undefined;
}
