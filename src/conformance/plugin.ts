/**
 * The bpf_conformance plugin protocol: the runner starts the plugin with the program as base16 bytes on stdin
 * (or `--program HEX`), the input memory as base16 in the first argument, and reads r0 in hex from stdout;
 * a non-zero exit with a message on stderr reports an error. This module holds the library side (decode,
 * run); src/cli/conformance-plugin.ts does the process I/O.
 */
import { DecodeError, UsageError } from '../errors.js';
import { decodeProgram } from '../isa/insn.js';
import { Vm } from '../vm/vm.js';
import { conformanceHelpers } from './run.js';

/** Decode base16 text (whitespace between digits ignored, as the runner writes `aa  bb  `). Throws UsageError. */
export function base16Decode(text: string, what: string): Uint8Array {
  const s = text.replace(/\s+/g, '');
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new UsageError(`${what} is not base16 (an even number of hex digits)`);
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * Run a program for the conformance runner: r1 = address of `memory` (0 when empty), r2 = its length.
 * Returns r0. Throws DecodeError / VmError when the program is refused or faults.
 */
export function runPluginProgram(program: Uint8Array, memory: Uint8Array, opts: { maxInsns?: number } = {}): bigint {
  if (program.length === 0) throw new DecodeError(0, 'empty program');
  const insns = decodeProgram(program);
  const vm = new Vm(insns, { helpers: conformanceHelpers(), callx: 'helper', maxInsns: opts.maxInsns, name: 'plugin program' });
  let r1 = 0n;
  if (memory.length > 0) r1 = vm.memory.map(memory, { writable: true, kind: 'mem', name: 'input memory' });
  return vm.run(r1, BigInt(memory.length));
}
