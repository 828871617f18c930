/**
 * Function symbols of user-space ELF binaries and shared libraries, for uprobes: a symbol's file offset
 * (st_value − section address + section file offset, as libbpf computes it), from .symtab or .dynsym.
 * The ELF container is read by src/elf's reader.
 */
import { readFileSync } from 'node:fs';
import { KernelError } from '../../errors.js';
import { parseElf, SHT, STT, type ElfFile } from '../../elf/reader.js';

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
  for (const tab of e.sections) {
    if (tab.type !== SHT.SYMTAB && tab.type !== SHT.DYNSYM) continue;
    const strs = e.sections[tab.link];
    if (!strs) continue;
    const dv = new DataView(tab.data.buffer, tab.data.byteOffset, tab.data.byteLength);
    const le = !e.bigEndian;
    for (let at = 24; at + 24 <= tab.data.length; at += 24) {
      const info = dv.getUint8(at + 4);
      const type = info & 0xf;
      if (type !== STT.FUNC && type !== 10 /* STT_GNU_IFUNC */) continue;
      const shndx = dv.getUint16(at + 6, le);
      if (shndx === 0 || shndx >= 0xff00) continue;
      const sec = e.sections[shndx];
      if (!sec) continue;
      const value = Number(dv.getBigUint64(at + 8, le));
      const nameOff = dv.getUint32(at, le);
      const end = strs.data.indexOf(0, nameOff);
      const name = new TextDecoder().decode(strs.data.subarray(nameOff, end < 0 ? undefined : end));
      out.push({ name, address: value, size: Number(dv.getBigUint64(at + 16, le)), fileOffset: value - sec.addr + sec.offset });
    }
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
