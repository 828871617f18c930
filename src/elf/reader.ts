/**
 * A generic, defensive ELF64 reader (both byte orders): section headers, section data, the symbol table and
 * relocation tables. Every read is bounds-checked against the file so truncated or mutated input gives an
 * `ElfError` naming the section and offset — never an exception from a typed array, a hang or a huge allocation.
 */
import { ElfError } from '../errors.js';

/** `e_machine` of eBPF objects. */
export const EM_BPF = 247;

/** Section header types used by bpfkit. */
export const SHT = {
  NULL: 0,
  PROGBITS: 1,
  SYMTAB: 2,
  STRTAB: 3,
  RELA: 4,
  HASH: 5,
  DYNAMIC: 6,
  NOTE: 7,
  NOBITS: 8,
  REL: 9,
  DYNSYM: 11,
  LLVM_ADDRSIG: 0x6fff4c03,
} as const;

/** Section flags. */
export const SHF = { WRITE: 0x1, ALLOC: 0x2, EXECINSTR: 0x4 } as const;

/** Symbol types (low nibble of `st_info`). */
export const STT = { NOTYPE: 0, OBJECT: 1, FUNC: 2, SECTION: 3, FILE: 4 } as const;

/** Symbol bindings (high nibble of `st_info`). */
export const STB = { LOCAL: 0, GLOBAL: 1, WEAK: 2 } as const;

/** Symbol visibility (low bits of `st_other`). */
export const STV = { DEFAULT: 0, INTERNAL: 1, HIDDEN: 2, PROTECTED: 3 } as const;

/** Special section indices. */
export const SHN = { UNDEF: 0, ABS: 0xfff1, COMMON: 0xfff2, XINDEX: 0xffff } as const;

/** eBPF relocation types. */
export const R_BPF = { NONE: 0, R_BPF_64_64: 1, R_BPF_64_ABS64: 2, R_BPF_64_ABS32: 3, R_BPF_64_NODYLD32: 4, R_BPF_64_32: 10 } as const;

/** One section header plus its bytes (empty for SHT_NOBITS). */
export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
  /** The section's bytes (a view into the file; empty for NOBITS). */
  data: Uint8Array;
}

/** One symbol table entry. */
export interface ElfSymbol {
  /** Index in `.symtab`. */
  index: number;
  name: string;
  value: number;
  size: number;
  /** `STT_*`. */
  type: number;
  /** `STB_*`. */
  bind: number;
  /** `STV_*`. */
  visibility: number;
  /** Section index (`SHN_*` for special values). */
  shndx: number;
}

/** One relocation entry. */
export interface ElfRelocation {
  offset: number;
  /** Index into the symbol table. */
  symbol: number;
  type: number;
  /** Explicit addend (`.rela*`), 0 for `.rel*`. */
  addend: bigint;
}

/** A relocation section and the section it applies to. */
export interface ElfRelocationSection {
  /** The `.rel*` / `.rela*` section itself. */
  section: ElfSection;
  /** Index of the section being relocated (`sh_info`). */
  target: number;
  entries: ElfRelocation[];
}

/** A parsed ELF64 file. */
export interface ElfFile {
  bigEndian: boolean;
  /** `e_type` (1 = relocatable). */
  type: number;
  machine: number;
  flags: number;
  sections: ElfSection[];
  /** Symbols of `.symtab` (index 0 is the null symbol), empty if there is none. */
  symbols: ElfSymbol[];
  /** Relocation sections keyed by the index of the section they relocate. */
  relocations: Map<number, ElfRelocationSection>;
  /** The section of that name, if any (first match). */
  section(name: string): ElfSection | undefined;
  /** Relocations applying to the named section (empty when none). */
  relocationsFor(name: string): ElfRelocation[];
  /** The raw file bytes. */
  bytes: Uint8Array;
}

/** Options for `parseElf`. */
export interface ParseElfOptions {
  /** Require `e_machine == EM_BPF` (default false). */
  requireBpf?: boolean;
}

/** Bounds-checked reader over the file bytes. */
class Cursor {
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly le: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  check(at: number, len: number, what: string, section?: string): void {
    if (!Number.isSafeInteger(at) || at < 0 || len < 0 || at + len > this.bytes.length) {
      throw new ElfError(`${what} (${len} bytes) lies outside the file (${this.bytes.length} bytes)`, { section, offset: at });
    }
  }
  u16(at: number): number {
    return this.view.getUint16(at, this.le);
  }
  u32(at: number): number {
    return this.view.getUint32(at, this.le);
  }
  i64(at: number): bigint {
    return this.view.getBigInt64(at, this.le);
  }
  /** A u64 that must fit a JS safe integer (offsets, sizes). */
  u64(at: number, what: string, section?: string): number {
    const v = this.view.getBigUint64(at, this.le);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`${what} 0x${v.toString(16)} is too large`, { section, offset: at });
    return Number(v);
  }
}

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const REL_SIZE = 16;
const RELA_SIZE = 24;
/** More sections than this is not a real BPF object; refuse instead of allocating. */
const MAX_SECTIONS = 1 << 16;

const decoder = new TextDecoder('utf-8', { fatal: false });

/** A NUL-terminated string at `off` inside a string table section. */
export function readCString(table: Uint8Array, off: number, section = '.strtab'): string {
  if (!Number.isInteger(off) || off < 0 || off >= table.length) {
    if (off === 0 && table.length === 0) return '';
    throw new ElfError(`string offset ${off} is outside the string table (${table.length} bytes)`, { section, offset: off });
  }
  const end = table.indexOf(0, off);
  if (end < 0) throw new ElfError(`string at ${off} is not NUL-terminated`, { section, offset: off });
  return decoder.decode(table.subarray(off, end));
}

/**
 * Parse an ELF64 file. Throws `ElfError` (with section and offset) on anything malformed.
 * Only ELF64 is supported (eBPF objects are always ELF64).
 */
export function parseElf(bytes: Uint8Array, opts: ParseElfOptions = {}): ElfFile {
  if (bytes.length < EHDR_SIZE) throw new ElfError(`file is ${bytes.length} bytes, too short for an ELF header`, { offset: 0 });
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ElfError('not an ELF file (bad magic)', { offset: 0 });
  }
  if (bytes[4] !== 2) throw new ElfError(`ELF class ${bytes[4]} is not ELF64`, { offset: 4 });
  if (bytes[5] !== 1 && bytes[5] !== 2) throw new ElfError(`unknown ELF data encoding ${bytes[5]}`, { offset: 5 });
  const bigEndian = bytes[5] === 2;
  const c = new Cursor(bytes, !bigEndian);
  const type = c.u16(16);
  const machine = c.u16(18);
  if (opts.requireBpf && machine !== EM_BPF) throw new ElfError(`e_machine ${machine} is not EM_BPF (247)`, { offset: 18 });
  const flags = c.u32(48);
  const shoff = c.u64(40, 'e_shoff');
  const shentsize = c.u16(58);
  let shnum = c.u16(60);
  let shstrndx = c.u16(62);

  if (shoff === 0) {
    // No section headers at all: a valid but empty file for our purposes.
    return finish(bytes, bigEndian, type, machine, flags, [], [], new Map());
  }
  if (shentsize !== SHDR_SIZE) throw new ElfError(`e_shentsize ${shentsize} is not ${SHDR_SIZE}`, { offset: 58 });
  c.check(shoff, SHDR_SIZE, 'section header table');
  // Extended numbering: real counts live in section header 0.
  if (shnum === 0) shnum = c.u64(shoff + 32, 'section count (sh_size of header 0)');
  if (shstrndx === SHN.XINDEX) shstrndx = c.u32(shoff + 40);
  if (shnum > MAX_SECTIONS) throw new ElfError(`${shnum} sections is too many`, { offset: 60 });
  c.check(shoff, shnum * SHDR_SIZE, 'section header table');

  const raw: ElfSection[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * SHDR_SIZE;
    const s: ElfSection = {
      index: i,
      name: '',
      type: c.u32(at + 4),
      flags: c.u64(at + 8, 'sh_flags'),
      addr: c.u64(at + 16, 'sh_addr'),
      offset: c.u64(at + 24, 'sh_offset'),
      size: c.u64(at + 32, 'sh_size'),
      link: c.u32(at + 40),
      info: c.u32(at + 44),
      addralign: c.u64(at + 48, 'sh_addralign'),
      entsize: c.u64(at + 56, 'sh_entsize'),
      data: new Uint8Array(0),
    };
    (s as { nameOff?: number }).nameOff = c.u32(at);
    raw.push(s);
  }
  if (shstrndx >= shnum) throw new ElfError(`e_shstrndx ${shstrndx} is not a section (have ${shnum})`, { offset: 62 });
  const shstr = raw[shstrndx]!;
  if (shstr.type !== SHT.STRTAB) throw new ElfError(`section name table (index ${shstrndx}) is not a string table`, { offset: shoff + shstrndx * SHDR_SIZE });
  c.check(shstr.offset, shstr.size, 'section name table', `#${shstrndx}`);
  const shstrData = bytes.subarray(shstr.offset, shstr.offset + shstr.size);
  for (const s of raw) {
    const nameOff = (s as { nameOff?: number }).nameOff!;
    delete (s as { nameOff?: number }).nameOff;
    s.name = s.index === 0 && nameOff === 0 ? '' : readCString(shstrData, nameOff, '.shstrtab');
    if (s.type !== SHT.NOBITS && s.type !== SHT.NULL) {
      c.check(s.offset, s.size, 'section data', s.name || `#${s.index}`);
      s.data = bytes.subarray(s.offset, s.offset + s.size);
    }
  }

  // Symbol table.
  const symtab = raw.find((s) => s.type === SHT.SYMTAB);
  const symbols: ElfSymbol[] = [];
  if (symtab) {
    if (symtab.entsize !== SYM_SIZE) throw new ElfError(`symbol entry size ${symtab.entsize} is not ${SYM_SIZE}`, { section: symtab.name, offset: symtab.offset });
    if (symtab.size % SYM_SIZE !== 0) throw new ElfError(`size ${symtab.size} is not a multiple of ${SYM_SIZE}`, { section: symtab.name, offset: symtab.offset });
    const strsec = raw[symtab.link];
    if (!strsec || strsec.type !== SHT.STRTAB) {
      throw new ElfError(`sh_link ${symtab.link} is not a string table`, { section: symtab.name, offset: symtab.offset });
    }
    const n = symtab.size / SYM_SIZE;
    for (let i = 0; i < n; i++) {
      const at = symtab.offset + i * SYM_SIZE;
      const info = bytes[at + 4]!;
      const other = bytes[at + 5]!;
      let name: string;
      try {
        name = readCString(strsec.data, c.u32(at), strsec.name);
      } catch (e) {
        throw new ElfError(`symbol ${i}: ${(e as Error).message}`, { section: symtab.name, offset: at });
      }
      symbols.push({
        index: i,
        name,
        type: info & 0xf,
        bind: info >> 4,
        visibility: other & 0x3,
        shndx: c.u16(at + 6),
        value: c.u64(at + 8, 'st_value', symtab.name),
        size: c.u64(at + 16, 'st_size', symtab.name),
      });
    }
  }

  // Relocations.
  const relocations = new Map<number, ElfRelocationSection>();
  for (const s of raw) {
    if (s.type !== SHT.REL && s.type !== SHT.RELA) continue;
    const rela = s.type === SHT.RELA;
    const esz = rela ? RELA_SIZE : REL_SIZE;
    if (s.size % esz !== 0) throw new ElfError(`size ${s.size} is not a multiple of ${esz}`, { section: s.name, offset: s.offset });
    if (s.info >= raw.length) throw new ElfError(`relocates section ${s.info}, which does not exist`, { section: s.name, offset: s.offset });
    const entries: ElfRelocation[] = [];
    const n = s.size / esz;
    for (let i = 0; i < n; i++) {
      const at = s.offset + i * esz;
      const offset = c.u64(at, 'r_offset', s.name);
      const info = c.view.getBigUint64(at + 8, c.le);
      const symbol = Number(info >> 32n);
      if (symbols.length && symbol >= symbols.length) {
        throw new ElfError(`relocation ${i} names symbol ${symbol}, but there are ${symbols.length}`, { section: s.name, offset: at });
      }
      entries.push({ offset, symbol, type: Number(info & 0xffffffffn), addend: rela ? c.i64(at + 16) : 0n });
    }
    if (relocations.has(s.info)) {
      relocations.get(s.info)!.entries.push(...entries);
    } else {
      relocations.set(s.info, { section: s, target: s.info, entries });
    }
  }
  return finish(bytes, bigEndian, type, machine, flags, raw, symbols, relocations);
}

function finish(
  bytes: Uint8Array,
  bigEndian: boolean,
  type: number,
  machine: number,
  flags: number,
  sections: ElfSection[],
  symbols: ElfSymbol[],
  relocations: Map<number, ElfRelocationSection>,
): ElfFile {
  const byName = new Map<string, ElfSection>();
  for (const s of sections) if (!byName.has(s.name)) byName.set(s.name, s);
  return {
    bigEndian,
    type,
    machine,
    flags,
    sections,
    symbols,
    relocations,
    bytes,
    section: (name) => byName.get(name),
    relocationsFor: (name) => {
      const s = byName.get(name);
      return (s && relocations.get(s.index)?.entries) ?? [];
    },
  };
}
