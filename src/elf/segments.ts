/**
 * ELF64 program headers (segments) of executables and shared libraries, and the translation of a virtual
 * address to a file offset through the PT_LOAD segment holding it — what uprobe / USDT attachment needs,
 * since the kernel wants file offsets. Works for ET_EXEC (absolute addresses) and ET_DYN (PIE executables,
 * shared libraries: addresses relative to a load base of 0) alike.
 */
import { ElfError } from '../errors.js';

/** `p_type` values used here. */
export const PT = { NULL: 0, LOAD: 1, DYNAMIC: 2, INTERP: 3, NOTE: 4 } as const;
/** `p_flags` bits. */
export const PF = { X: 1, W: 2, R: 4 } as const;
/** `e_type` values. */
export const ET = { REL: 1, EXEC: 2, DYN: 3, CORE: 4 } as const;

/** One program header. */
export interface ElfSegment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  fileSize: number;
  memSize: number;
  align: number;
}

const PHDR_SIZE = 56;

function u64(view: DataView, at: number, le: boolean, what: string): number {
  const v = view.getBigUint64(at, le);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`${what} 0x${v.toString(16)} is too large`, { offset: at });
  return Number(v);
}

/** The program headers of an ELF64 file (empty when it has none). Throws `ElfError` when they lie outside the file. */
export function programHeaders(bytes: Uint8Array): ElfSegment[] {
  if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ElfError('not an ELF file (bad magic)', { offset: 0 });
  }
  if (bytes[4] !== 2) throw new ElfError(`ELF class ${bytes[4]} is not ELF64`, { offset: 4 });
  const le = bytes[5] !== 2;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const phoff = u64(view, 32, le, 'e_phoff');
  const phentsize = view.getUint16(54, le);
  const phnum = view.getUint16(56, le);
  if (phoff === 0 || phnum === 0) return [];
  if (phentsize !== PHDR_SIZE) throw new ElfError(`e_phentsize ${phentsize} is not ${PHDR_SIZE}`, { offset: 54 });
  if (phoff + phnum * PHDR_SIZE > bytes.length) {
    throw new ElfError(`program header table (${phnum} entries) lies outside the file (${bytes.length} bytes)`, { offset: phoff });
  }
  const out: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * PHDR_SIZE;
    out.push({
      type: view.getUint32(at, le),
      flags: view.getUint32(at + 4, le),
      offset: u64(view, at + 8, le, 'p_offset'),
      vaddr: u64(view, at + 16, le, 'p_vaddr'),
      fileSize: u64(view, at + 32, le, 'p_filesz'),
      memSize: u64(view, at + 40, le, 'p_memsz'),
      align: u64(view, at + 48, le, 'p_align'),
    });
  }
  return out;
}

/** The PT_LOAD segment whose [vaddr, vaddr + memsz) holds `vaddr`, if any. */
export function loadSegmentAt(segments: readonly ElfSegment[], vaddr: number): ElfSegment | undefined {
  return segments.find((s) => s.type === PT.LOAD && s.vaddr <= vaddr && vaddr < s.vaddr + s.memSize);
}

/** File offset of virtual address `vaddr` through `seg` (libbpf: addr − p_vaddr + p_offset). */
export function vaddrToOffset(seg: ElfSegment, vaddr: number): number {
  return vaddr - seg.vaddr + seg.offset;
}
