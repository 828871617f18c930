/**
 * USDT probes of an ELF executable or shared library: the SystemTap SDT notes in `.note.stapsdt` (owner
 * `stapsdt`, type 3; descriptor = probe address, `.stapsdt.base` link-time address, semaphore address, then
 * provider, name and argument spec as C strings), with each probe site and semaphore translated to the file
 * offset a uprobe wants through the PT_LOAD segments, after the prelink compensation of
 * https://sourceware.org/systemtap/wiki/UserSpaceProbeImplementation (address += sh_addr(.stapsdt.base) −
 * recorded base). Works for ET_EXEC and ET_DYN (PIE executables, shared libraries) alike, like libbpf's usdt.c.
 */
import { ElfError } from '../errors.js';
import { parseElf, SHT, type ElfFile } from './reader.js';
import { ET, loadSegmentAt, PF, programHeaders, vaddrToOffset, type ElfSegment } from './segments.js';
import type { UsdtArch } from './usdt-args.js';

/** The note section, owner name and type of SDT notes. */
export const USDT_NOTE_SECTION = '.note.stapsdt';
export const USDT_BASE_SECTION = '.stapsdt.base';
export const USDT_NOTE_OWNER = 'stapsdt';
export const NT_STAPSDT = 3;

const EM_X86_64 = 62;
const EM_AARCH64 = 183;

/** One USDT probe site. */
export interface UsdtNote {
  provider: string;
  name: string;
  /** The argument spec string (`-4@%edi 8@-16(%rbp) -8@$-7`; empty when the probe has no arguments). */
  args: string;
  /** Probe address as recorded in the note. */
  location: number;
  /** `.stapsdt.base` address as recorded in the note (0 if none). */
  base: number;
  /** Semaphore address as recorded (0: no semaphore). */
  semaphore: number;
  /** Probe address after prelink compensation. */
  address: number;
  /** File offset of the probe instruction: where the uprobe goes. */
  fileOffset: number;
  /** File offset of the 2-byte semaphore (uprobe `ref_ctr_offset`), 0 without semaphore. */
  semaphoreOffset: number;
  /** Offset of the note in the `.note.stapsdt` section (for messages). */
  noteOffset: number;
}

/** The USDT probes of one ELF file. */
export interface UsdtNotes {
  /** `exec` (ET_EXEC) or `dyn` (PIE executable or shared library). */
  kind: 'exec' | 'dyn';
  /** Argument syntax of the file's machine; undefined for machines bpfkit has no argument parser for. */
  arch?: UsdtArch;
  /** The ELF `e_machine`. */
  machine: number;
  notes: UsdtNote[];
}

/** Which probes to keep (and translate) — all when both are absent. */
export interface UsdtNoteFilter {
  provider?: string;
  name?: string;
}

const decoder = new TextDecoder();

function cstr(desc: Uint8Array, from: number, what: string, at: number): [string, number] {
  const end = desc.indexOf(0, from);
  if (end < 0) throw new ElfError(`USDT note: ${what} is not NUL-terminated`, { section: USDT_NOTE_SECTION, offset: at });
  return [decoder.decode(desc.subarray(from, end)), end + 1];
}

/** The raw notes of the section (before address translation). */
function rawNotes(sec: Uint8Array, align: number, le: boolean): Omit<UsdtNote, 'address' | 'fileOffset' | 'semaphoreOffset'>[] {
  const view = new DataView(sec.buffer, sec.byteOffset, sec.byteLength);
  const pad = (n: number) => Math.ceil(n / align) * align;
  const out: Omit<UsdtNote, 'address' | 'fileOffset' | 'semaphoreOffset'>[] = [];
  let off = 0;
  while (off < sec.length) {
    if (off + 12 > sec.length) throw new ElfError(`truncated note header (${sec.length - off} bytes left)`, { section: USDT_NOTE_SECTION, offset: off });
    const namesz = view.getUint32(off, le);
    const descsz = view.getUint32(off + 4, le);
    const type = view.getUint32(off + 8, le);
    const nameAt = off + 12;
    const descAt = nameAt + pad(namesz);
    const next = descAt + pad(descsz);
    if (descAt + descsz > sec.length) throw new ElfError(`note (name ${namesz} bytes, descriptor ${descsz} bytes) runs past the section end`, { section: USDT_NOTE_SECTION, offset: off });
    const owner = decoder.decode(sec.subarray(nameAt, nameAt + namesz)).replace(/\0+$/, '');
    if (owner === USDT_NOTE_OWNER && type === NT_STAPSDT) {
      // Three addresses then provider, name and args (libbpf: at least three empty strings).
      if (descsz < 24 + 3) throw new ElfError(`USDT note descriptor is ${descsz} bytes, too short for 3 addresses and 3 strings`, { section: USDT_NOTE_SECTION, offset: off });
      const desc = sec.subarray(descAt, descAt + descsz);
      const addr = (i: number) => {
        const v = view.getBigUint64(descAt + i * 8, le);
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`USDT note address 0x${v.toString(16)} is too large`, { section: USDT_NOTE_SECTION, offset: off });
        return Number(v);
      };
      const [provider, p1] = cstr(desc, 24, 'provider', off);
      if (p1 >= desc.length) throw new ElfError(`USDT note ${provider}: missing probe name`, { section: USDT_NOTE_SECTION, offset: off });
      const [name, p2] = cstr(desc, p1, 'probe name', off);
      if (name === '') throw new ElfError(`USDT note ${provider}: empty probe name`, { section: USDT_NOTE_SECTION, offset: off });
      if (p2 >= desc.length) throw new ElfError(`USDT note ${provider}:${name}: missing argument spec`, { section: USDT_NOTE_SECTION, offset: off });
      let [args] = cstr(desc, p2, 'argument spec', off);
      if (args.startsWith(':')) args = ''; // libbpf's rule for an empty/odd spec
      out.push({ provider, name, args, location: addr(0), base: addr(1), semaphore: addr(2), noteOffset: off });
    }
    off = next;
  }
  return out;
}

function segmentFor(segs: readonly ElfSegment[], vaddr: number, exec: boolean, what: string, where: string): ElfSegment {
  const seg = loadSegmentAt(segs, vaddr);
  if (!seg) throw new ElfError(`${where}: ${what} 0x${vaddr.toString(16)} is in no loadable segment`, { section: USDT_NOTE_SECTION });
  if (exec !== ((seg.flags & PF.X) !== 0)) {
    throw new ElfError(`${where}: ${what} 0x${vaddr.toString(16)} is in a${exec ? ' non-' : 'n '}executable segment [0x${seg.vaddr.toString(16)}, 0x${(seg.vaddr + seg.memSize).toString(16)})`, {
      section: USDT_NOTE_SECTION,
    });
  }
  return seg;
}

/**
 * Read the USDT probes of an executable or shared library (its bytes, or an already parsed `ElfFile`).
 * Probes outside `filter` are skipped before their addresses are translated. A file without
 * `.note.stapsdt` has no probes (empty list). Throws `ElfError` for malformed notes, a file that is not
 * ET_EXEC / ET_DYN, or a probe (semaphore) not inside an executable (writable) loadable segment.
 */
export function readUsdtNotes(source: Uint8Array | ElfFile, filter: UsdtNoteFilter = {}): UsdtNotes {
  const elf = source instanceof Uint8Array ? parseElf(source) : source;
  if (elf.type !== ET.EXEC && elf.type !== ET.DYN) throw new ElfError(`ELF type ${elf.type} is not an executable or shared library (USDT needs ET_EXEC or ET_DYN)`, { offset: 16 });
  const arch = elf.machine === EM_X86_64 ? 'x86_64' : elf.machine === EM_AARCH64 ? 'aarch64' : undefined;
  const result: UsdtNotes = { kind: elf.type === ET.EXEC ? 'exec' : 'dyn', arch, machine: elf.machine, notes: [] };
  const sec = elf.section(USDT_NOTE_SECTION);
  if (!sec) return result;
  if (sec.type !== SHT.NOTE) throw new ElfError(`section type ${sec.type} is not SHT_NOTE`, { section: USDT_NOTE_SECTION });
  const raw = rawNotes(sec.data, sec.addralign === 8 ? 8 : 4, !elf.bigEndian).filter(
    (n) => (filter.provider === undefined || n.provider === filter.provider) && (filter.name === undefined || n.name === filter.name),
  );
  if (!raw.length) return result;
  const segs = programHeaders(elf.bytes);
  if (!segs.some((s) => s.type === 1)) throw new ElfError('no PT_LOAD program headers', { offset: 32 });
  const baseSec = elf.section(USDT_BASE_SECTION);
  for (const n of raw) {
    const where = `probe ${n.provider}:${n.name} (note at 0x${n.noteOffset.toString(16)})`;
    // Prelink compensation. libbpf applies it to the probe address only; the SystemTap spec applies it to the
    // semaphore too, which is what is done here (the two agree whenever the file was not prelinked).
    const delta = baseSec && n.base ? baseSec.addr - n.base : 0;
    const address = n.location + delta;
    const fileOffset = vaddrToOffset(segmentFor(segs, address, true, 'probe address', where), address);
    let semaphoreOffset = 0;
    if (n.semaphore) {
      const sema = n.semaphore + delta;
      semaphoreOffset = vaddrToOffset(segmentFor(segs, sema, false, 'semaphore', where), sema);
    }
    result.notes.push({ ...n, address, fileOffset, semaphoreOffset });
  }
  return result;
}
