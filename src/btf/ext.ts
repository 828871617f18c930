/**
 * `.BTF.ext`: per-section tables of func_info, line_info and CO-RE relocation records, keyed by the ELF section
 * name (resolved through the .BTF string table). Offsets (`insnOff`) are in bytes from the start of the section,
 * as clang writes them.
 */
import { BtfError } from '../errors.js';
import type { Btf } from './btf.js';
import { concat } from './strings.js';

/** One func_info record: the function starting at `insnOff` has FUNC type `typeId`. */
export interface FuncInfo {
  insnOff: number;
  typeId: number;
}

/** One line_info record. */
export interface LineInfo {
  insnOff: number;
  /** Source file name and the text of the source line (from the .BTF string table). */
  fileName: string;
  lineText: string;
  /** 1-based line and column (column is 10 bits in the record). */
  line: number;
  column: number;
  /** The raw string offsets (valid in the object's .BTF string table). */
  fileNameOff: number;
  lineOff: number;
}

/** libbpf's short names of the relocation kinds, indexed by kind. */
export const CORE_RELO_KIND_NAMES = [
  'byte_off',
  'byte_sz',
  'field_exists',
  'signed',
  'lshift_u64',
  'rshift_u64',
  'local_type_id',
  'target_type_id',
  'type_exists',
  'type_size',
  'enumval_exists',
  'enumval_value',
  'type_matches',
] as const;

/** One CO-RE relocation record (bpf_core_relo), with its access string resolved. */
export interface CoreRelo {
  /** Byte offset of the instruction, relative to the start of its ELF section. */
  insnOff: number;
  /** Local (object BTF) root type id. */
  typeId: number;
  /** Access string: `0:1:2` for fields, `0` for types, the enumerator index for enum values. */
  accessStr: string;
  /** A `CoreReloKind` value (src/isa/uapi.ts). */
  kind: number;
}

/** The parsed `.BTF.ext`: each table maps an ELF section name to its records in file order. */
export interface BtfExt {
  funcInfo: Map<string, FuncInfo[]>;
  lineInfo: Map<string, LineInfo[]>;
  coreRelos: Map<string, CoreRelo[]>;
  /** Record sizes as found in the file (what BPF_PROG_LOAD's *_rec_size fields want). */
  funcInfoRecSize: number;
  lineInfoRecSize: number;
  coreReloRecSize: number;
}

const EXT_MAGIC = 0xeb9f;
const MIN_HDR = 24;
const SEC = '.BTF.ext';

/** Parse `.BTF.ext` bytes against the object's BTF (for its string table). Throws `BtfError` with offsets. */
export function parseBtfExt(bytes: Uint8Array, btf: Btf): BtfExt {
  const err = (reason: string, offset?: number) => new BtfError(reason, { section: SEC, offset });
  if (bytes.length < MIN_HDR) throw err(`.BTF.ext is ${bytes.length} bytes, shorter than its header`, 0);
  let le: boolean;
  if (bytes[0] === 0x9f && bytes[1] === 0xeb) le = true;
  else if (bytes[0] === 0xeb && bytes[1] === 0x9f) le = false;
  else throw err(`bad .BTF.ext magic 0x${((bytes[1]! << 8) | bytes[0]!).toString(16)}`, 0);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (at: number) => v.getUint32(at, le);
  if (bytes[2] !== 1) throw err(`unsupported .BTF.ext version ${bytes[2]}`, 2);
  const hdrLen = u32(4);
  if (hdrLen < MIN_HDR || hdrLen > bytes.length) throw err(`header length ${hdrLen} is invalid`, 4);
  const str = (off: number, at: number): string => {
    if (!btf.strings.has(off)) throw err(`string offset ${off} is outside the .BTF string section`, at);
    return btf.strings.get(off);
  };

  /** Walk one info section: rec_size, then {sec_name_off, num_info, records...} blocks. */
  function walk<T>(what: string, off: number, len: number, minRec: number, rec: (at: number) => T): { map: Map<string, T[]>; recSize: number } {
    const map = new Map<string, T[]>();
    if (len === 0) return { map, recSize: minRec };
    const start = hdrLen + off;
    const end = start + len;
    if (end > bytes.length) throw err(`${what} [${start}, ${end}) extends past the end (${bytes.length} bytes)`, start);
    if (len < 4) throw err(`${what} is too short`, start);
    const recSize = u32(start);
    if (recSize < minRec || recSize & 3) throw err(`${what} record size ${recSize} is invalid (minimum ${minRec})`, start);
    let at = start + 4;
    while (at < end) {
      if (at + 8 > end) throw err(`${what}: truncated section header`, at);
      const name = str(u32(at), at);
      const n = u32(at + 4);
      if (n === 0) throw err(`${what}: section ${name} has no records`, at);
      at += 8;
      if (n > (end - at) / recSize) throw err(`${what}: section ${name} claims ${n} records of ${recSize} bytes, more than fit`, at);
      const list = map.get(name) ?? [];
      for (let i = 0; i < n; i++, at += recSize) list.push(rec(at));
      map.set(name, list);
    }
    return { map, recSize };
  }

  const fi = walk('func_info', u32(8), u32(12), 8, (at) => ({ insnOff: u32(at), typeId: u32(at + 4) }));
  const li = walk('line_info', u32(16), u32(20), 16, (at) => {
    const lc = u32(at + 12);
    const fileNameOff = u32(at + 4);
    const lineOff = u32(at + 8);
    return { insnOff: u32(at), fileName: str(fileNameOff, at), lineText: str(lineOff, at), line: lc >>> 10, column: lc & 0x3ff, fileNameOff, lineOff };
  });
  let cr = { map: new Map<string, CoreRelo[]>(), recSize: 16 };
  if (hdrLen >= 32) {
    cr = walk('core_relo', u32(24), u32(28), 16, (at) => ({
      insnOff: u32(at),
      typeId: u32(at + 4),
      accessStr: str(u32(at + 8), at),
      kind: u32(at + 12),
    }));
  }
  return {
    funcInfo: fi.map,
    lineInfo: li.map,
    coreRelos: cr.map,
    funcInfoRecSize: fi.recSize,
    lineInfoRecSize: li.recSize,
    coreReloRecSize: cr.recSize,
  };
}

/** What `encodeBtfExt` writes (line info strings are re-interned; their raw offsets are ignored). */
export interface BtfExtInput {
  funcInfo?: Map<string, FuncInfo[]>;
  lineInfo?: Map<string, Omit<LineInfo, 'fileNameOff' | 'lineOff'>[]>;
  coreRelos?: Map<string, CoreRelo[]>;
}

/**
 * Encode `.BTF.ext`. Strings (section names, file names, source lines, access strings) are added through
 * `addString` — pass the `BtfBuilder`'s (`b => b.addString(s)`) so they land in the .BTF string table.
 */
export function encodeBtfExt(ext: BtfExtInput, addString: (s: string) => number, opts: { bigEndian?: boolean } = {}): Uint8Array {
  const le = !opts.bigEndian;
  const sections: Uint8Array[] = [];
  const lens: number[] = [];
  const table = <T>(map: Map<string, T[]> | undefined, recSize: number, write: (v: DataView, at: number, r: T) => void) => {
    if (!map || map.size === 0) {
      sections.push(new Uint8Array(0));
      lens.push(0);
      return;
    }
    let size = 4;
    for (const recs of map.values()) if (recs.length) size += 8 + recs.length * recSize;
    const out = new Uint8Array(size);
    const v = new DataView(out.buffer);
    v.setUint32(0, recSize, le);
    let at = 4;
    for (const [name, recs] of map) {
      if (!recs.length) continue;
      v.setUint32(at, addString(name), le);
      v.setUint32(at + 4, recs.length, le);
      at += 8;
      for (const r of recs) {
        write(v, at, r);
        at += recSize;
      }
    }
    sections.push(out);
    lens.push(size);
  };
  table(ext.funcInfo, 8, (v, at, r) => {
    v.setUint32(at, r.insnOff, le);
    v.setUint32(at + 4, r.typeId, le);
  });
  table(ext.lineInfo, 16, (v, at, r) => {
    v.setUint32(at, r.insnOff, le);
    v.setUint32(at + 4, addString(r.fileName), le);
    v.setUint32(at + 8, addString(r.lineText), le);
    v.setUint32(at + 12, ((r.line << 10) | (r.column & 0x3ff)) >>> 0, le);
  });
  table(ext.coreRelos, 16, (v, at, r) => {
    v.setUint32(at, r.insnOff, le);
    v.setUint32(at + 4, r.typeId, le);
    v.setUint32(at + 8, addString(r.accessStr), le);
    v.setUint32(at + 12, r.kind, le);
  });
  const hdr = new Uint8Array(32);
  const h = new DataView(hdr.buffer);
  h.setUint16(0, EXT_MAGIC, le);
  h.setUint8(2, 1);
  h.setUint32(4, 32, le);
  let off = 0;
  for (let i = 0; i < 3; i++) {
    h.setUint32(8 + i * 8, off, le);
    h.setUint32(12 + i * 8, lens[i]!, le);
    off += lens[i]!;
  }
  return concat([hdr, ...sections]);
}
