/**
 * The eBPF assembler and disassembler: two syntaxes (uBPF / bpf_conformance, and LLVM / kernel verifier
 * log), a formatter byte-for-byte compatible with LLVM 14's `llvm-objdump -d` and a verifier-log formatter.
 * (bpf_conformance `.data` files are read by src/conformance's `parseConformanceTest`.)
 */
import { Class, JMP_OPS, JmpOp, PseudoCall, Source, opClass, opJmp, opSource, type Insn } from '../isa/index.js';
import type { AssembledProgram } from './builder.js';
import { assembleLlvm } from './llvm-parse.js';
import { formatLlvmAsm } from './llvm-format.js';
import { assembleUbpf } from './ubpf-parse.js';
import { formatUbpf } from './ubpf-format.js';
import { insnSlots } from './slots.js';

export type { AssembledProgram, Loc } from './builder.js';
export { assembleUbpf, ubpfMnemonics } from './ubpf-parse.js';
export { formatUbpf, type UbpfFormatOptions } from './ubpf-format.js';
export { insnSlots, rawSlot, slotFromRaw } from './slots.js';
export { assembleLlvm } from './llvm-parse.js';
export { formatLlvmAsm, formatKernel, type LlvmFormatOptions, type KernelFormatOptions } from './llvm-format.js';
export {
  formatLlvm,
  llvmObjdumpSlots,
  objdumpSymbolizer,
  type LlvmObjdumpOptions,
  type SectionSymbol,
  type Symbolizer,
} from './llvm-objdump.js';
export { parseIntLiteral, type IntLiteral } from './numbers.js';

/** Assembler syntaxes. */
export type AsmSyntax = 'ubpf' | 'llvm';

/** Options of `assemble`. */
export interface AssembleOptions {
  /** Input syntax; `auto` (default) detects it from the text. */
  syntax?: AsmSyntax | 'auto';
  /** File name used in error messages. */
  file?: string;
}

/** Assemble `text` into a program, keeping source lines and labels. Throws `AsmError`. */
export function assembleProgram(text: string, opts: AssembleOptions = {}): AssembledProgram {
  const syntax = !opts.syntax || opts.syntax === 'auto' ? detectSyntax(text) : opts.syntax;
  return syntax === 'llvm' ? assembleLlvm(text, opts.file) : assembleUbpf(text, opts.file);
}

/**
 * Guess the syntax of assembly text from its first decisive line: `%rN` registers or a uBPF mnemonic
 * followed by operands mean uBPF; assignments, `goto`, `if`, `*(`, `lock *(` mean LLVM. Default uBPF.
 */
export function detectSyntax(text: string): AsmSyntax {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(;|\/\/|#).*$/, '').replace(/^\s*\d+:\s*(\([0-9a-f]{2}\)\s*)?/i, '').trim();
    if (!line || /^[\w.$]+:$/.test(line) || line.startsWith('.') || line === 'exit') continue;
    if (/%r\d/.test(line) || /^--/.test(line)) return 'ubpf';
    if (/^[0-9a-f]{8,16}\s+</i.test(line)) return 'llvm';
    if (/=|\bgoto\b|^if\s|^\*\(|\bcallx\s+r\d|\bcall\s+pc[+-]|#\d/.test(line)) return 'llvm';
    if (/^[a-z][a-z0-9]*\s+\S/i.test(line) && !/^call\s/.test(line)) return 'ubpf';
  }
  return 'ubpf';
}

/** Assemble `text` into instruction slots. Throws `AsmError` with file, line and column. */
export function assemble(text: string, opts: AssembleOptions = {}): Insn[] {
  return assembleProgram(text, opts).insns;
}

/** Options of `disassemble`. */
export interface DisassembleOptions {
  /** Output syntax (default `ubpf`). */
  syntax?: AsmSyntax;
  /** Prefix each line with its slot number (`12: `). Re-assemblable in the LLVM syntax only. */
  pcs?: boolean;
  /** Name jump and local-call targets with labels (`L12:`) instead of `+N` offsets. */
  labels?: boolean;
}

/** Disassemble a program, one instruction per line (lddw covers two slots). Output re-assembles to the same bytes. */
export function disassemble(insns: readonly Insn[], opts: DisassembleOptions = {}): string {
  const out: string[] = [];
  const labels = opts.labels ? jumpTargets(insns) : undefined;
  for (let pc = 0; pc < insns.length; pc += insnSlots(insns, pc)) {
    const label = labels?.get(pc);
    if (label) out.push(`${label}:`);
    const text = opts.syntax === 'llvm' ? formatLlvmAsm(insns, pc, { labels }) : formatUbpf(insns, pc, { labels });
    out.push(opts.pcs ? `${pc}: ${text}` : text);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** Labels `L<pc>` for every in-range slot that a valid jump or local call targets. */
export function jumpTargets(insns: readonly Insn[]): Map<number, string> {
  const targets = new Set<number>();
  const starts = new Set<number>();
  for (let pc = 0; pc < insns.length; pc += insnSlots(insns, pc)) starts.add(pc);
  for (const pc of starts) {
    const i = insns[pc]!;
    const cls = opClass(i.code);
    if (cls !== Class.JMP && cls !== Class.JMP32) continue;
    const jop = opJmp(i.code);
    let rel: number | undefined;
    if (jop === JmpOp.EXIT) continue;
    if (jop === JmpOp.CALL) {
      if (cls === Class.JMP && opSource(i.code) === Source.K && i.src === PseudoCall.CALL) rel = i.imm;
    } else if (jop === JmpOp.JA) rel = cls === Class.JMP ? i.off : i.imm;
    else if (JMP_OPS.some((j) => j.op === jop && j.conditional)) rel = i.off;
    if (rel !== undefined && starts.has(pc + 1 + rel)) targets.add(pc + 1 + rel);
  }
  return new Map([...targets].sort((a, b) => a - b).map((t) => [t, `L${t}`]));
}
