/**
 * Function symbols of user-space ELF binaries and shared libraries, for uprobes: a symbol's file offset
 * (st_value − section address + section file offset, as libbpf computes it), from .symtab or .dynsym.
 * The ELF container is read by src/elf's reader.
 */
import { readFileSync } from 'node:fs';
import { KernelError } from '../../errors.js';
import { parseElf, STT, type ElfFile } from '../../elf/reader.js';
import { definedSymbols } from '../../elf/symbol-tables.js';

/** One function symbol. */
export interface UserSymbol {
  name: string;
  /** Virtual address (st_value). */
  address: number;
  size: number;
  /** Offset in the file, what uprobes attach at. */
  fileOffset: number;
}

const cache = new Map<string, ElfFile>();

function load(path: string): ElfFile {
  let e = cache.get(path);
  if (!e) {
    e = parseElf(readFileSync(path));
    cache.set(path, e);
    if (cache.size > 8) cache.delete(cache.keys().next().value!);
  }
  return e;
}

/** Every defined function symbol of the file (.symtab and .dynsym). */
export function functionSymbols(path: string): UserSymbol[] {
  const e = load(path);
  const out: UserSymbol[] = [];
  for (const sym of definedSymbols(e, [STT.FUNC, 10 /* STT_GNU_IFUNC */])) {
    const sec = e.sections[sym.shndx];
    if (sec) out.push({ name: sym.name, address: sym.value, size: sym.size, fileOffset: sym.value - sec.addr + sec.offset });
  }
  return out;
}

/** The file offset of function `symbol` in `path` (`name@VERSION` accepted). Throws `KernelError(ENOENT)`. */
export function symbolOffset(path: string, symbol: string): number {
  const name = symbol.split('@')[0]!;
  const hit = functionSymbols(path).find((s) => s.name === name);
  if (!hit) throw new KernelError('uprobe', 2, 'ENOENT', { detail: `${path}:${symbol}`, hint: `no function symbol ${name} in ${path}` });
  return hit.fileOffset;
}
