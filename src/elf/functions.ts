/**
 * The functions of an eBPF object: each executable section decoded once and split into functions by its
 * STT_FUNC symbols (value and size), with the section's relocations indexed by instruction slot.
 */
import { ElfError } from '../errors.js';
import { INSN_SIZE, decodeSlot, type Insn } from '../isa/insn.js';
import { SHF, SHT, STT, type ElfFile, type ElfRelocation, type ElfSection } from './reader.js';

/** One function (program entry or subprogram) inside an executable section. */
export interface ElfFunction {
  name: string;
  section: ElfSection;
  /** First slot of the function within its section. */
  start: number;
  /** Number of slots. */
  length: number;
  /** Global binding (STB_GLOBAL/WEAK) or static. */
  global: boolean;
}

/** An executable section: its instructions (kernel slot numbering), functions and relocations by slot. */
export interface CodeSection {
  section: ElfSection;
  insns: Insn[];
  functions: ElfFunction[];
  relocs: Map<number, ElfRelocation>;
}

/** True for sections holding eBPF code. */
export function isCodeSection(s: ElfSection): boolean {
  return s.type === SHT.PROGBITS && (s.flags & SHF.EXECINSTR) !== 0;
}

/** Decode every executable section and split it into functions. Throws ElfError on inconsistencies. */
export function codeSections(elf: ElfFile): CodeSection[] {
  const out: CodeSection[] = [];
  for (const s of elf.sections) {
    if (!isCodeSection(s) || s.size === 0) continue;
    if (s.size % INSN_SIZE !== 0) throw new ElfError(`code size ${s.size} is not a multiple of 8`, { section: s.name, offset: s.offset });
    const view = new DataView(s.data.buffer, s.data.byteOffset, s.data.byteLength);
    const n = s.size / INSN_SIZE;
    const insns: Insn[] = new Array(n);
    for (let i = 0; i < n; i++) insns[i] = decodeSlot(view, i * INSN_SIZE, elf.bigEndian);

    const syms = elf.symbols
      .filter((y) => y.shndx === s.index && y.type === STT.FUNC)
      .sort((a, b) => a.value - b.value);
    const functions: ElfFunction[] = [];
    for (const y of syms) {
      if (y.value % INSN_SIZE !== 0) throw new ElfError(`function ${y.name} starts at ${y.value}, not on an instruction`, { section: s.name, offset: y.value });
      let size = y.size;
      if (size === 0) {
        // No size: runs to the next function or the end of the section.
        const next = syms.find((z) => z.value > y.value);
        size = (next ? next.value : s.size) - y.value;
      }
      if (size % INSN_SIZE !== 0 || y.value + size > s.size || size <= 0) {
        throw new ElfError(`function ${y.name} (${y.value}+${y.size}) does not fit the section (${s.size} bytes)`, { section: s.name, offset: y.value });
      }
      const prev = functions[functions.length - 1];
      if (prev && prev.start + prev.length > y.value / INSN_SIZE) {
        throw new ElfError(`function ${y.name} overlaps ${prev.name}`, { section: s.name, offset: y.value });
      }
      functions.push({ name: y.name, section: s, start: y.value / INSN_SIZE, length: size / INSN_SIZE, global: y.bind !== 0 });
    }
    if (!functions.length) {
      // Objects without function symbols: the whole section is one program named after the section.
      functions.push({ name: s.name.replace(/[^A-Za-z0-9_]/g, '_'), section: s, start: 0, length: n, global: true });
    }

    const relocs = new Map<number, ElfRelocation>();
    for (const r of elf.relocations.get(s.index)?.entries ?? []) {
      if (r.offset % INSN_SIZE !== 0 || r.offset >= s.size) {
        throw new ElfError(`relocation at offset ${r.offset} is not on an instruction`, { section: s.name, offset: r.offset });
      }
      if (relocs.has(r.offset / INSN_SIZE)) throw new ElfError(`two relocations at offset ${r.offset}`, { section: s.name, offset: r.offset });
      relocs.set(r.offset / INSN_SIZE, r);
    }
    out.push({ section: s, insns, functions, relocs });
  }
  return out;
}

/** The function of `code` that contains `slot`. */
export function functionAt(code: CodeSection, slot: number): ElfFunction | undefined {
  return code.functions.find((f) => slot >= f.start && slot < f.start + f.length);
}
