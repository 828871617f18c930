/**
 * A minimal BTF / BTF.ext reader for the ELF loader and the skeleton generator, used because src/btf (the
 * full BTF + CO-RE implementation, written in parallel) had not landed when this was written. It reads just
 * what the loader needs: types (struct/union members, arrays, pointers, vars, datasecs, enums, ints), strings,
 * and the per-section func_info / line_info / core_relo records of `.BTF.ext`. Every read is bounds-checked and
 * throws `BtfError` naming the section and offset. Replace with src/btf's `Btf` where its API covers this.
 */
import { BtfError } from '../errors.js';

/** BTF kinds. */
export const BtfKind = {
  UNKN: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

/** A struct/union member; `bitOffset` from the start, `bitSize` non-zero for bitfields. */
export interface ShimMember {
  name: string;
  type: number;
  bitOffset: number;
  bitSize: number;
}

/** One BTF type (fields present according to `kind`). */
export interface ShimType {
  id: number;
  /** Byte offset of the type record in the raw BTF. */
  recordOffset: number;
  kind: number;
  name: string;
  /** Byte size (int, struct, union, enum, datasec, float). */
  size: number;
  /** Referenced type (ptr, typedef, modifiers, func, var). */
  type: number;
  kindFlag: boolean;
  vlen: number;
  /** INT: encoding bits (1 signed, 2 char, 4 bool), bit offset, bit count. */
  intEncoding?: number;
  intBits?: number;
  /** ARRAY */
  elemType?: number;
  nelems?: number;
  members?: ShimMember[];
  enumValues?: { name: string; value: bigint }[];
  params?: { name: string; type: number }[];
  /** VAR linkage (0 static, 1 global, 2 extern); FUNC linkage is `vlen`. */
  linkage?: number;
  /** DATASEC entries. */
  vars?: { type: number; offset: number; size: number }[];
}

const HDR_MIN = 24;

/** Parsed BTF. */
export class BtfShim {
  readonly types: ShimType[];
  readonly strings: Uint8Array;
  readonly bigEndian: boolean;
  /** The raw `.BTF` bytes. */
  readonly raw: Uint8Array;
  private byName?: Map<string, ShimType[]>;

  private constructor(raw: Uint8Array, bigEndian: boolean, types: ShimType[], strings: Uint8Array) {
    this.raw = raw;
    this.bigEndian = bigEndian;
    this.types = types;
    this.strings = strings;
  }

  /** Parse `.BTF` section bytes. */
  static parse(bytes: Uint8Array, section = '.BTF'): BtfShim {
    if (bytes.length < HDR_MIN) throw new BtfError(`BTF is ${bytes.length} bytes, too short for a header`, { section, offset: 0 });
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let le: boolean;
    if (view.getUint16(0, true) === 0xeb9f) le = true;
    else if (view.getUint16(0, false) === 0xeb9f) le = false;
    else throw new BtfError('bad BTF magic', { section, offset: 0 });
    const hdrLen = view.getUint32(4, le);
    if (hdrLen < HDR_MIN || hdrLen > bytes.length) throw new BtfError(`bad header length ${hdrLen}`, { section, offset: 4 });
    const typeOff = view.getUint32(8, le);
    const typeLen = view.getUint32(12, le);
    const strOff = view.getUint32(16, le);
    const strLen = view.getUint32(20, le);
    const tStart = hdrLen + typeOff;
    const sStart = hdrLen + strOff;
    if (tStart + typeLen > bytes.length) throw new BtfError('type section lies outside BTF', { section, offset: 8 });
    if (sStart + strLen > bytes.length) throw new BtfError('string section lies outside BTF', { section, offset: 16 });
    const strings = bytes.subarray(sStart, sStart + strLen);
    const str = (off: number, at: number) => readStr(strings, off, section, at);
    const types: ShimType[] = [{ id: 0, recordOffset: -1, kind: 0, name: '', size: 0, type: 0, kindFlag: false, vlen: 0 }];
    let p = tStart;
    const end = tStart + typeLen;
    const need = (n: number) => {
      if (p + n > end) throw new BtfError(`type ${types.length} is truncated`, { section, offset: p });
    };
    while (p < end) {
      need(12);
      const at = p;
      const nameOff = view.getUint32(p, le);
      const info = view.getUint32(p + 4, le);
      const sizeOrType = view.getUint32(p + 8, le);
      p += 12;
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      const t: ShimType = { id: types.length, recordOffset: at, kind, name: str(nameOff, at), size: 0, type: 0, kindFlag: (info >>> 31) === 1, vlen };
      switch (kind) {
        case BtfKind.INT: {
          need(4);
          const enc = view.getUint32(p, le);
          p += 4;
          t.size = sizeOrType;
          t.intEncoding = (enc >>> 24) & 0xf;
          t.intBits = enc & 0xff;
          break;
        }
        case BtfKind.PTR:
        case BtfKind.FWD:
        case BtfKind.TYPEDEF:
        case BtfKind.VOLATILE:
        case BtfKind.CONST:
        case BtfKind.RESTRICT:
        case BtfKind.FUNC:
        case BtfKind.TYPE_TAG:
          t.type = sizeOrType;
          break;
        case BtfKind.ARRAY:
          need(12);
          t.elemType = view.getUint32(p, le);
          t.nelems = view.getUint32(p + 8, le);
          p += 12;
          break;
        case BtfKind.STRUCT:
        case BtfKind.UNION: {
          need(12 * vlen);
          t.size = sizeOrType;
          t.members = [];
          for (let i = 0; i < vlen; i++, p += 12) {
            const off = view.getUint32(p + 8, le);
            t.members.push({
              name: str(view.getUint32(p, le), p),
              type: view.getUint32(p + 4, le),
              bitOffset: t.kindFlag ? off & 0xffffff : off,
              bitSize: t.kindFlag ? off >>> 24 : 0,
            });
          }
          break;
        }
        case BtfKind.ENUM: {
          need(8 * vlen);
          t.size = sizeOrType;
          t.enumValues = [];
          for (let i = 0; i < vlen; i++, p += 8) {
            const v = t.kindFlag ? BigInt(view.getInt32(p + 4, le)) : BigInt(view.getUint32(p + 4, le));
            t.enumValues.push({ name: str(view.getUint32(p, le), p), value: v });
          }
          break;
        }
        case BtfKind.ENUM64: {
          need(12 * vlen);
          t.size = sizeOrType;
          t.enumValues = [];
          for (let i = 0; i < vlen; i++, p += 12) {
            const v = (BigInt(view.getUint32(p + 8, le)) << 32n) | BigInt(view.getUint32(p + 4, le));
            t.enumValues.push({ name: str(view.getUint32(p, le), p), value: t.kindFlag ? BigInt.asIntN(64, v) : v });
          }
          break;
        }
        case BtfKind.FUNC_PROTO:
          need(8 * vlen);
          t.type = sizeOrType;
          t.params = [];
          for (let i = 0; i < vlen; i++, p += 8) t.params.push({ name: str(view.getUint32(p, le), p), type: view.getUint32(p + 4, le) });
          break;
        case BtfKind.VAR:
          need(4);
          t.type = sizeOrType;
          t.linkage = view.getUint32(p, le);
          p += 4;
          break;
        case BtfKind.DATASEC:
          need(12 * vlen);
          t.size = sizeOrType;
          t.vars = [];
          for (let i = 0; i < vlen; i++, p += 12) {
            t.vars.push({ type: view.getUint32(p, le), offset: view.getUint32(p + 4, le), size: view.getUint32(p + 8, le) });
          }
          break;
        case BtfKind.FLOAT:
          t.size = sizeOrType;
          break;
        case BtfKind.DECL_TAG:
          need(4);
          t.type = sizeOrType;
          p += 4;
          break;
        default:
          throw new BtfError(`type ${types.length} has unknown kind ${kind}`, { section, offset: at });
      }
      types.push(t);
    }
    return new BtfShim(bytes, !le, types, strings);
  }

  /** The type with this id; throws BtfError when out of range. */
  typeById(id: number): ShimType {
    const t = this.types[id];
    if (!t) throw new BtfError(`type id ${id} does not exist (have ${this.types.length})`, { section: '.BTF' });
    return t;
  }

  /** Types with this name. */
  findByName(name: string): ShimType[] {
    if (!this.byName) {
      this.byName = new Map();
      for (const t of this.types) {
        if (!t.name) continue;
        const l = this.byName.get(t.name);
        if (l) l.push(t);
        else this.byName.set(t.name, [t]);
      }
    }
    return this.byName.get(name) ?? [];
  }

  /** A string from the string table. */
  str(off: number): string {
    return readStr(this.strings, off, '.BTF', off);
  }

  /** Follow typedefs, modifiers and type tags to the underlying type (cycle-safe). */
  resolve(id: number): ShimType {
    let t = this.typeById(id);
    for (let n = 0; n < 64; n++) {
      if (t.kind === BtfKind.TYPEDEF || t.kind === BtfKind.VOLATILE || t.kind === BtfKind.CONST || t.kind === BtfKind.RESTRICT || t.kind === BtfKind.TYPE_TAG) {
        t = this.typeById(t.type);
      } else {
        return t;
      }
    }
    throw new BtfError(`type ${id}: modifier chain too long (loop?)`, { section: '.BTF' });
  }

  /** Byte size of a type (pointers are 8 bytes). */
  sizeOf(id: number, depth = 0): number {
    if (depth > 32) throw new BtfError(`type ${id}: nesting too deep`, { section: '.BTF' });
    const t = this.resolve(id);
    switch (t.kind) {
      case BtfKind.PTR:
        return 8;
      case BtfKind.ARRAY:
        return t.nelems! * this.sizeOf(t.elemType!, depth + 1);
      case BtfKind.INT:
      case BtfKind.STRUCT:
      case BtfKind.UNION:
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
      case BtfKind.FLOAT:
      case BtfKind.DATASEC:
        return t.size;
      case BtfKind.VAR:
        return this.sizeOf(t.type, depth + 1);
      default:
        throw new BtfError(`type ${id} (kind ${t.kind}) has no size`, { section: '.BTF' });
    }
  }
}

function readStr(strings: Uint8Array, off: number, section: string, at: number): string {
  if (off === 0) return '';
  if (off >= strings.length) throw new BtfError(`string offset ${off} outside string table (${strings.length} bytes)`, { section, offset: at });
  const end = strings.indexOf(0, off);
  if (end < 0) throw new BtfError(`string at ${off} is not terminated`, { section, offset: at });
  return new TextDecoder().decode(strings.subarray(off, end));
}

/** A func_info record (offset in bytes within its ELF section). */
export interface ExtFuncInfo {
  insnOff: number;
  typeId: number;
}
/** A line_info record. */
export interface ExtLineInfo {
  insnOff: number;
  fileNameOff: number;
  lineOff: number;
  line: number;
  column: number;
}
/** A CO-RE relocation record. */
export interface ExtCoreRelo {
  insnOff: number;
  typeId: number;
  accessStrOff: number;
  kind: number;
}
/** `.BTF.ext` records grouped by ELF section name. */
export interface BtfExtShim {
  funcInfo: Map<string, ExtFuncInfo[]>;
  lineInfo: Map<string, ExtLineInfo[]>;
  coreRelos: Map<string, ExtCoreRelo[]>;
  funcInfoRecSize: number;
  lineInfoRecSize: number;
}

/** Parse `.BTF.ext`; section names come from the BTF string table. */
export function parseBtfExtShim(bytes: Uint8Array, btf: BtfShim): BtfExtShim {
  const section = '.BTF.ext';
  if (bytes.length < 24) throw new BtfError(`is ${bytes.length} bytes, too short for a header`, { section, offset: 0 });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = view.getUint16(0, true) === 0xeb9f;
  if (!le && view.getUint16(0, false) !== 0xeb9f) throw new BtfError('bad magic', { section, offset: 0 });
  const hdrLen = view.getUint32(4, le);
  if (hdrLen < 24 || hdrLen > bytes.length) throw new BtfError(`bad header length ${hdrLen}`, { section, offset: 4 });
  const out: BtfExtShim = { funcInfo: new Map(), lineInfo: new Map(), coreRelos: new Map(), funcInfoRecSize: 8, lineInfoRecSize: 16 };
  const readInfo = <T>(offAt: number, minRec: number, rec: (p: number) => T, into: Map<string, T[]>): number => {
    if (offAt + 8 > hdrLen) return 0;
    const start = hdrLen + view.getUint32(offAt, le);
    const len = view.getUint32(offAt + 4, le);
    if (len === 0) return 0;
    const end = start + len;
    if (end > bytes.length || len < 4) throw new BtfError('info block lies outside the section', { section, offset: offAt });
    const recSize = view.getUint32(start, le);
    if (recSize < minRec || recSize > 1024) throw new BtfError(`record size ${recSize} is invalid`, { section, offset: start });
    let p = start + 4;
    while (p < end) {
      if (p + 8 > end) throw new BtfError('truncated info header', { section, offset: p });
      const name = btf.str(view.getUint32(p, le));
      const n = view.getUint32(p + 4, le);
      p += 8;
      if (n * recSize > end - p) throw new BtfError(`${n} records overrun the block`, { section, offset: p });
      const list = into.get(name) ?? [];
      for (let i = 0; i < n; i++, p += recSize) list.push(rec(p));
      into.set(name, list);
    }
    return recSize;
  };
  out.funcInfoRecSize = readInfo(8, 8, (p) => ({ insnOff: view.getUint32(p, le), typeId: view.getUint32(p + 4, le) }), out.funcInfo) || 8;
  out.lineInfoRecSize =
    readInfo(
      16,
      16,
      (p) => {
        const lc = view.getUint32(p + 12, le);
        return { insnOff: view.getUint32(p, le), fileNameOff: view.getUint32(p + 4, le), lineOff: view.getUint32(p + 8, le), line: lc >>> 10, column: lc & 0x3ff };
      },
      out.lineInfo,
    ) || 16;
  if (hdrLen >= 32) {
    readInfo(
      24,
      16,
      (p) => ({ insnOff: view.getUint32(p, le), typeId: view.getUint32(p + 4, le), accessStrOff: view.getUint32(p + 8, le), kind: view.getUint32(p + 12, le) }),
      out.coreRelos,
    );
  }
  return out;
}
