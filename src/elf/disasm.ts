/**
 * Disassembly of an object's functions as they are in the file (before subprogram appending and relocation),
 * in llvm-objdump 14's exact text (src/asm's `formatLlvm`), with the raw bytes and the source line of each
 * instruction from `.BTF.ext` line_info. Used by `bpfkit objdump`.
 */
import { formatLlvm, objdumpSymbolizer, llvmObjdumpSlots, type SectionSymbol } from '../asm/llvm-objdump.js';
import type { SourceLine } from '../spec/program.js';
import type { ElfFunction } from './functions.js';
import { sourceLine, type LoadedObject } from './object.js';
import { STT } from './reader.js';

/** One disassembled instruction. */
export interface DisasmInsn {
  /** Slot number within the function. */
  pc: number;
  /** Byte offset within the section. */
  offset: number;
  /** Instruction bytes as in the file: 16 hex digits, 32 for lddw. */
  hex: string;
  /** llvm-objdump -d text. */
  text: string;
  /** Source line starting at this instruction (line_info), if any. */
  source?: SourceLine;
}

/** A disassembled function. */
export interface DisasmFunction {
  name: string;
  section: string;
  /** True for program entry points (functions outside `.text`). */
  program: boolean;
  insns: DisasmInsn[];
}

/** Disassemble every function of the object, in section then address order. */
export function disassembleObject(obj: LoadedObject): DisasmFunction[] {
  const out: DisasmFunction[] = [];
  for (const c of obj.code) {
    const sec = c.section;
    const syms: SectionSymbol[] = obj.elf.symbols
      .filter((s) => s.shndx === sec.index && s.type !== STT.SECTION && s.type !== STT.FILE && s.name)
      .map((s) => ({ name: s.name, offset: s.value }));
    const symbolize = objdumpSymbolizer(sec.name, syms);
    const lines = new Map<number, SourceLine>();
    if (obj.btfExt) {
      for (const l of obj.btfExt.lineInfo.get(sec.name) ?? []) {
        if (l.insnOff % 8 === 0 && !lines.has(l.insnOff / 8)) lines.set(l.insnOff / 8, sourceLine(l));
      }
    }
    for (const fn of c.functions) out.push(disassembleFunction(fn, c.insns, sec.data, symbolize, lines, sec.name !== '.text'));
  }
  return out;
}

function disassembleFunction(
  fn: ElfFunction,
  insns: Parameters<typeof formatLlvm>[0],
  bytes: Uint8Array,
  symbolize: ReturnType<typeof objdumpSymbolizer>,
  lines: Map<number, SourceLine>,
  program: boolean,
): DisasmFunction {
  const end = fn.start + fn.length;
  // llvm-objdump decodes the function's bytes alone: a trailing lddw first half stays one slot.
  const view = insns.slice(0, end);
  const out: DisasmInsn[] = [];
  for (let pc = fn.start; pc < end; ) {
    const n = llvmObjdumpSlots(view, pc);
    const hex = Array.from(bytes.subarray(pc * 8, (pc + n) * 8), (b) => b.toString(16).padStart(2, '0')).join('');
    const d: DisasmInsn = { pc: pc - fn.start, offset: pc * 8, hex, text: formatLlvm(view, pc, { symbolize }) };
    const src = lines.get(pc);
    if (src) d.source = src;
    out.push(d);
    pc += n;
  }
  return { name: fn.name, section: fn.section.name, program, insns: out };
}
