/**
 * Linking one program: its entry function, then every subprogram it calls (transitively, including functions
 * whose address is taken with `lddw` — pseudo func) appended once, with bpf-to-bpf call offsets rewritten and
 * map / global-data / extern relocations turned into pseudo lddw forms plus `InsnReference`s for the loader.
 * Follows libbpf's rules: a call targets slot `sym.value/8 + imm + 1`; an lddw of code targets byte
 * `sym.value + imm`; an lddw of a data section yields map value offset `sym.value + imm`.
 */
import { ElfError } from '../errors.js';
import { Class, JmpOp, LDDW, PseudoCall, PseudoLd, opClass, opJmp } from '../isa/opcodes.js';
import type { Insn } from '../isa/insn.js';
import type { InsnReference } from '../spec/program.js';
import { functionAt, type CodeSection, type ElfFunction } from './functions.js';
import { mapAt, type ObjectMap } from './maps.js';
import { R_BPF, SHN, STT, type ElfFile, type ElfSymbol } from './reader.js';

/** How extern symbols resolve. */
export interface ExternResolver {
  /** Offset of a `.kconfig` extern in the `.kconfig` map value, or undefined when it is not a kconfig extern. */
  kconfigOffset(name: string): number | undefined;
  /** Name of the kconfig map. */
  kconfigMap: string;
}

/** A function placed in a linked program. */
export interface PlacedFunction {
  fn: ElfFunction;
  /** First slot in the linked program. */
  at: number;
}

/** A linked program. */
export interface LinkedProgram {
  insns: Insn[];
  references: InsnReference[];
  /** The entry function first, then appended subprograms in order. */
  placed: PlacedFunction[];
}

const isCall = (i: Insn) => opClass(i.code) === Class.JMP && opJmp(i.code) === JmpOp.CALL && (i.code & 0x08) === 0;

/** Link the program whose entry is `entry`. `code` holds every executable section (already CO-RE relocated). */
export function linkProgram(elf: ElfFile, code: readonly CodeSection[], entry: ElfFunction, maps: readonly ObjectMap[], externs: ExternResolver): LinkedProgram {
  const bySection = new Map<number, CodeSection>();
  for (const c of code) bySection.set(c.section.index, c);
  const out: Insn[] = [];
  const references: InsnReference[] = [];
  const placed: PlacedFunction[] = [];
  const placedAt = new Map<ElfFunction, number>();

  const place = (fn: ElfFunction): number => {
    const known = placedAt.get(fn);
    if (known !== undefined) return known;
    const at = out.length;
    if (at + fn.length > 1_000_000) throw new ElfError('linked program exceeds 1M instructions', { section: fn.section.name });
    const c = bySection.get(fn.section.index)!;
    for (let i = 0; i < fn.length; i++) out.push({ ...c.insns[fn.start + i]! });
    placedAt.set(fn, at);
    placed.push({ fn, at });
    return at;
  };

  /** Linked slot of section slot `slot` in section `shndx` (placing its function if needed). */
  const target = (shndx: number, slot: number, where: { section: string; offset: number }): number => {
    const c = bySection.get(shndx);
    if (!c) throw new ElfError(`code reference into non-code section ${shndx}`, where);
    const fn = functionAt(c, slot);
    if (!fn) throw new ElfError(`code reference to slot ${slot} of ${c.section.name}, which is in no function`, where);
    return place(fn) + (slot - fn.start);
  };

  place(entry);
  for (let k = 0; k < placed.length; k++) {
    const { fn, at } = placed[k]!;
    const c = bySection.get(fn.section.index)!;
    const secName = fn.section.name;
    for (let i = 0; i < fn.length; i++) {
      const slot = fn.start + i;
      const pc = at + i;
      const ins = out[pc]!;
      const where = { section: secName, offset: slot * 8 };
      const rel = c.relocs.get(slot);
      if (!rel) {
        if (isCall(ins) && ins.src === PseudoCall.CALL) {
          // Call within the same section, no relocation: pc-relative.
          const t = target(fn.section.index, slot + ins.imm + 1, where);
          ins.imm = t - (pc + 1);
        } else if (ins.code === LDDW && ins.src === PseudoLd.FUNC) {
          const t = target(fn.section.index, slot + ins.imm + 1, where);
          ins.imm = t - (pc + 1);
        }
        if (ins.code === LDDW) i++;
        continue;
      }
      const sym = elf.symbols[rel.symbol];
      if (!sym) throw new ElfError(`relocation names missing symbol ${rel.symbol}`, where);
      if (isCall(ins)) {
        if (rel.type !== R_BPF.R_BPF_64_32 && rel.type !== R_BPF.R_BPF_64_64) throw new ElfError(`call relocation has type ${rel.type}`, where);
        if (sym.shndx === SHN.UNDEF) {
          ins.src = PseudoCall.KFUNC;
          ins.imm = 0;
          references.push({ kind: 'ksym', pc, symbol: sym.name, func: true });
        } else {
          if (sym.value % 8 !== 0) throw new ElfError(`call target ${sym.name} is not on an instruction`, where);
          const t = target(sym.shndx, sym.value / 8 + ins.imm + 1, where);
          ins.src = PseudoCall.CALL;
          ins.imm = t - (pc + 1);
        }
        continue;
      }
      if (ins.code !== LDDW) throw new ElfError(`relocation on an instruction that is neither lddw nor call (opcode 0x${ins.code.toString(16)})`, where);
      if (rel.type !== R_BPF.R_BPF_64_64) throw new ElfError(`lddw relocation has type ${rel.type}`, where);
      const hi = out[pc + 1];
      if (!hi || i + 1 >= fn.length) throw new ElfError('lddw is missing its second slot', where);
      i++;
      relocateLddw(elf, sym, ins, hi, pc, maps, externs, references, where, (shndx, byteOff) => {
        if (byteOff % 8 !== 0) throw new ElfError(`function address ${byteOff} is not on an instruction`, where);
        return target(shndx, byteOff / 8, where);
      });
    }
  }
  return { insns: out, references, placed };
}

function relocateLddw(
  elf: ElfFile,
  sym: ElfSymbol,
  ins: Insn,
  hi: Insn,
  pc: number,
  maps: readonly ObjectMap[],
  externs: ExternResolver,
  references: InsnReference[],
  where: { section: string; offset: number },
  codeTarget: (shndx: number, byteOff: number) => number,
): void {
  if (sym.shndx === SHN.UNDEF) {
    const off = externs.kconfigOffset(sym.name);
    if (off !== undefined) {
      const value = off + ins.imm;
      ins.src = PseudoLd.MAP_VALUE;
      ins.imm = 0;
      hi.imm = value;
      references.push({ kind: 'map', pc, map: externs.kconfigMap, offset: value, value: true });
    } else {
      ins.src = PseudoLd.BTF_ID;
      ins.imm = 0;
      hi.imm = 0;
      references.push({ kind: 'ksym', pc, symbol: sym.name, func: false });
    }
    return;
  }
  if (sym.shndx >= elf.sections.length) throw new ElfError(`symbol ${sym.name} is in section ${sym.shndx}, which does not exist`, where);
  const sec = elf.sections[sym.shndx]!;
  const byteOff = sym.value + ins.imm;
  if (sec.flags & 0x4) {
    const t = codeTarget(sym.shndx, byteOff);
    ins.src = PseudoLd.FUNC;
    ins.imm = t - (pc + 1);
    hi.imm = 0;
    return;
  }
  const defOff = sym.type === STT.SECTION ? ins.imm : sym.value;
  const m = mapAt(maps, sym.shndx, defOff);
  if (!m) throw new ElfError(`lddw refers to ${sym.name || sec.name}+${byteOff}, which is no map or global data`, where);
  if (m.spec.dataSection) {
    if (byteOff < 0 || byteOff > m.size) throw new ElfError(`offset ${byteOff} is outside ${sec.name} (${m.size} bytes)`, where);
    ins.src = PseudoLd.MAP_VALUE;
    ins.imm = 0;
    hi.imm = byteOff;
    references.push({ kind: 'map', pc, map: m.spec.name, offset: byteOff, value: true });
  } else {
    ins.src = PseudoLd.MAP_FD;
    ins.imm = 0;
    hi.imm = 0;
    references.push({ kind: 'map', pc, map: m.spec.name, value: false });
  }
}
