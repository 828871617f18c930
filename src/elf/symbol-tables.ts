/**
 * The defined symbols of a linked ELF64 binary or shared library, from both `.symtab` and `.dynsym` (the
 * reader's `symbols` holds `.symtab` only, what relocatable BPF objects have). Lenient: a truncated table or a
 * name outside its string table ends that table's walk rather than throwing, since the callers (uprobes, USDT,
 * the tracing language's usym/uaddr) probe arbitrary system binaries.
 */
import { SHT, type ElfFile } from './reader.js';

/** One defined symbol (section index neither undefined nor special). */
export interface DefinedSymbol {
  name: string;
  /** `STT_*`. */
  type: number;
  /** st_value: the virtual address in a linked file. */
  value: number;
  size: number;
  /** Section index. */
  shndx: number;
}

const SYM_SIZE = 24;
const decoder = new TextDecoder();

/** Every defined symbol of `.symtab` then `.dynsym` whose type is in `types` (all when omitted). */
export function definedSymbols(e: ElfFile, types?: readonly number[]): DefinedSymbol[] {
  const out: DefinedSymbol[] = [];
  const le = !e.bigEndian;
  for (const tab of e.sections) {
    if (tab.type !== SHT.SYMTAB && tab.type !== SHT.DYNSYM) continue;
    const strs = e.sections[tab.link];
    if (!strs) continue;
    const dv = new DataView(tab.data.buffer, tab.data.byteOffset, tab.data.byteLength);
    for (let at = SYM_SIZE; at + SYM_SIZE <= tab.data.length; at += SYM_SIZE) {
      const type = dv.getUint8(at + 4) & 0xf;
      if (types && !types.includes(type)) continue;
      const shndx = dv.getUint16(at + 6, le);
      if (shndx === 0 || shndx >= 0xff00) continue;
      const nameOff = dv.getUint32(at, le);
      const end = strs.data.indexOf(0, nameOff);
      const name = decoder.decode(strs.data.subarray(nameOff, end < 0 ? undefined : end));
      out.push({ name, type, shndx, value: Number(dv.getBigUint64(at + 8, le)), size: Number(dv.getBigUint64(at + 16, le)) });
    }
  }
  return out;
}
