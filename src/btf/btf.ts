/**
 * The `Btf` class: a lazily-decoded view over one BTF blob (vmlinux, a module's split BTF or an object's .BTF).
 *
 * Loading keeps the raw bytes and builds, in one pass, a `Uint32Array` of type-record offsets; nothing else is
 * materialised. A name index (open hashing in typed arrays, keyed by the name without its `___flavor` suffix) is
 * built on the first lookup by name, and type objects are decoded on demand through a small cache. Type ids are
 * the kernel's: 0 is void, and a split BTF's ids continue after its base's.
 */
import { BtfError } from '../errors.js';
import { hostReadFile } from '../host/io.js';
import { BtfStrings } from './strings.js';
import {
  BTF_HEADER_SIZE,
  BTF_MAGIC,
  BTF_VERSION,
  BtfKind,
  KIND_NAMES,
  LINKAGES,
  type BtfKindName,
  type BtfLinkage,
  type BtfType,
} from './types.js';
import { formatCDecl } from './cdecl.js';

/** Options for `Btf.parse`. */
export interface BtfParseOptions {
  /** Base BTF of a split BTF (kernel modules use vmlinux): ids and string offsets continue from it. */
  base?: Btf;
  /** A name for messages and for `btf.name` (e.g. `vmlinux` or a module name). */
  name?: string;
  /** Section name used in error messages (default `.BTF`). */
  section?: string;
  /** Size of a pointer on the target (default 8). */
  pointerSize?: number;
}

/** The parsed BTF header. */
export interface BtfHeader {
  magic: number;
  version: number;
  flags: number;
  hdrLen: number;
  typeOff: number;
  typeLen: number;
  strOff: number;
  strLen: number;
}

/** Deepest chain of typedefs/modifiers/arrays followed before declaring a loop (libbpf's MAX_RESOLVE_DEPTH). */
export const MAX_RESOLVE_DEPTH = 32;

const CACHE_LIMIT = 4096;
const VOID: BtfType = Object.freeze({ kind: 'void', id: 0, name: '' }) as BtfType;
const encoder = new TextEncoder();

const HOST_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The type section as host-order words: a view when aligned and in host order, else a (byte-swapped) copy. */
function wordsOf(bytes: Uint8Array, start: number, len: number, le: boolean): Uint32Array {
  const abs = bytes.byteOffset + start;
  if (le === HOST_LE && abs % 4 === 0) return new Uint32Array(bytes.buffer, abs, len / 4);
  const copy = new Uint8Array(len);
  copy.set(bytes.subarray(start, start + len));
  const w = new Uint32Array(copy.buffer);
  if (le !== HOST_LE) {
    for (let i = 0; i < w.length; i++) {
      const x = w[i]!;
      w[i] = ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
    }
  }
  return w;
}

/** Size in bytes of a type record of `kind` with `vlen`, or -1 for an unknown kind. */
export function recordSize(kind: number, vlen: number): number {
  switch (kind) {
    case BtfKind.INT:
    case BtfKind.VAR:
    case BtfKind.DECL_TAG:
      return 16;
    case BtfKind.PTR:
    case BtfKind.FWD:
    case BtfKind.TYPEDEF:
    case BtfKind.VOLATILE:
    case BtfKind.CONST:
    case BtfKind.RESTRICT:
    case BtfKind.FUNC:
    case BtfKind.FLOAT:
    case BtfKind.TYPE_TAG:
      return 12;
    case BtfKind.ARRAY:
      return 24;
    case BtfKind.STRUCT:
    case BtfKind.UNION:
    case BtfKind.DATASEC:
    case BtfKind.ENUM64:
      return 12 + 12 * vlen;
    case BtfKind.ENUM:
    case BtfKind.FUNC_PROTO:
      return 12 + 8 * vlen;
    default:
      return -1;
  }
}

/** Length of `name` without a `___flavor` suffix (libbpf's bpf_core_essential_name_len), on bytes. */
export function essentialLength(b: Uint8Array, start: number, end: number): number {
  const n = end - start;
  for (let i = n - 5; i >= 0; i--) {
    const s = start + i;
    if (b[s] !== 0x5f && b[s + 1] === 0x5f && b[s + 2] === 0x5f && b[s + 3] === 0x5f && b[s + 4] !== 0x5f) return i + 1;
  }
  return n;
}

/** `name` without its `___flavor` suffix: `task_struct___v1` → `task_struct`. */
export function essentialName(name: string): string {
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== '_' && name[i + 1] === '_' && name[i + 2] === '_' && name[i + 3] === '_' && name[i + 4] !== '_') {
      return name.slice(0, i + 1);
    }
  }
  return name;
}

/**
 * FNV-1a hash of the NUL-terminated name at `b[start]` without its `___flavor` suffix, in one forward pass
 * (the suffix is only known at the end, so the hash at the last `X___Y` separator is remembered).
 */
function essentialHash(b: Uint8Array, start: number): number {
  let h = 0x811c9dc5;
  let ess = 0;
  let hasEss = false;
  for (let p = start; p < b.length; p++) {
    const c = b[p]!;
    if (c === 0) break;
    h = Math.imul(h ^ c, 0x01000193);
    if (b[p + 1] === 0x5f && c !== 0x5f && b[p + 2] === 0x5f && b[p + 3] === 0x5f) {
      const y = b[p + 4];
      if (y !== 0x5f && y !== 0 && y !== undefined) {
        ess = h;
        hasEss = true;
      }
    }
  }
  return (hasEss ? ess : h) >>> 0;
}

function fnv(b: Uint8Array, start: number, len: number): number {
  let h = 0x811c9dc5;
  for (let i = start, e = start + len; i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

interface NameIndex {
  mask: number;
  /** Bucket → first type id + 1 (0 = empty). */
  heads: Int32Array;
  /** Local index → next type id + 1 in the same bucket (0 = end). */
  next: Int32Array;
}

type KindFilter = BtfKindName | readonly BtfKindName[] | undefined;

function kindMatcher(kind: KindFilter): (k: number) => boolean {
  if (kind === undefined) return () => true;
  const list = typeof kind === 'string' ? [kind] : kind;
  const nums = list.map((k) => KIND_NAMES.indexOf(k));
  return (k) => nums.includes(k);
}

/** A parsed BTF blob. Construct with `Btf.parse`. */
export class Btf {
  /** The whole blob (header, types, strings). Kept as is; types are decoded from it on demand. */
  readonly bytes: Uint8Array;
  readonly header: BtfHeader;
  readonly bigEndian: boolean;
  /** The base of a split BTF. */
  readonly base?: Btf;
  /** A descriptive name (`vmlinux`, a module name, or what the caller passed). */
  readonly name: string;
  /** The string table (offsets continue the base's for split BTF). */
  readonly strings: BtfStrings;
  /** First type id of this blob (1, or the base's `typeCount` for split BTF). */
  readonly startId: number;
  /** Number of type ids including void and the base's types: valid ids are 0 .. typeCount-1. */
  readonly typeCount: number;
  /** Pointer size assumed for `sizeOf`/`alignOf` of pointers. */
  pointerSize: number;
  /** Section name used in error messages. */
  readonly section: string;

  /** The type section as host-order 32-bit words (every field of a type record is a 32-bit word). */
  private readonly words: Uint32Array;
  /** Byte offset of the type section in `bytes` (for error messages). */
  private readonly typeStart: number;
  /** Word index (into `words`) of each own type record, indexed by id - startId. */
  private readonly offsets: Uint32Array;
  private readonly cache = new Map<number, BtfType>();
  private nameIndex?: NameIndex;

  private constructor(bytes: Uint8Array, opts: BtfParseOptions) {
    this.section = opts.section ?? '.BTF';
    this.base = opts.base;
    this.name = opts.name ?? (opts.base ? 'split' : 'btf');
    this.pointerSize = opts.pointerSize ?? opts.base?.pointerSize ?? 8;
    this.bytes = bytes;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const sec = this.section;
    if (bytes.length < BTF_HEADER_SIZE) throw new BtfError(`BTF is ${bytes.length} bytes, shorter than its header`, { section: sec, offset: 0 });
    let le: boolean;
    if (bytes[0] === 0x9f && bytes[1] === 0xeb) le = true;
    else if (bytes[0] === 0xeb && bytes[1] === 0x9f) le = false;
    else throw new BtfError(`bad BTF magic 0x${((bytes[1]! << 8) | bytes[0]!).toString(16)}`, { section: sec, offset: 0 });
    this.bigEndian = !le;
    const u32 = (at: number) => view.getUint32(at, le);
    const header: BtfHeader = {
      magic: BTF_MAGIC,
      version: bytes[2]!,
      flags: bytes[3]!,
      hdrLen: u32(4),
      typeOff: u32(8),
      typeLen: u32(12),
      strOff: u32(16),
      strLen: u32(20),
    };
    this.header = header;
    if (header.version !== BTF_VERSION) throw new BtfError(`unsupported BTF version ${header.version}`, { section: sec, offset: 2 });
    if (header.hdrLen < BTF_HEADER_SIZE || header.hdrLen > bytes.length) {
      throw new BtfError(`header length ${header.hdrLen} is invalid for a ${bytes.length}-byte blob`, { section: sec, offset: 4 });
    }
    const typeStart = header.hdrLen + header.typeOff;
    const typeEnd = typeStart + header.typeLen;
    const strStart = header.hdrLen + header.strOff;
    const strEnd = strStart + header.strLen;
    if (typeEnd > bytes.length) {
      throw new BtfError(`type section [${typeStart}, ${typeEnd}) extends past the end of the blob (${bytes.length} bytes)`, { section: sec, offset: 8 });
    }
    if (strEnd > bytes.length) {
      throw new BtfError(`string section [${strStart}, ${strEnd}) extends past the end of the blob (${bytes.length} bytes)`, { section: sec, offset: 16 });
    }
    if (typeStart < strEnd && strStart < typeEnd && header.typeLen && header.strLen) {
      throw new BtfError('type and string sections overlap', { section: sec, offset: 8 });
    }
    const strBytes = bytes.subarray(strStart, strEnd);
    if (strBytes.length && strBytes[strBytes.length - 1] !== 0) {
      throw new BtfError('string section is not NUL-terminated', { section: sec, offset: strEnd - 1 });
    }
    if (!opts.base && strBytes.length && strBytes[0] !== 0) {
      throw new BtfError('string section does not start with the empty string', { section: sec, offset: strStart });
    }
    this.strings = new BtfStrings(strBytes, opts.base?.strings);
    this.startId = opts.base ? opts.base.typeCount : 1;

    if (header.typeLen % 4 !== 0) throw new BtfError(`type section length ${header.typeLen} is not a multiple of 4`, { section: sec, offset: 12 });
    this.typeStart = typeStart;
    this.words = wordsOf(bytes, typeStart, header.typeLen, le);
    const w = this.words;

    // One pass: record offsets and check each record fits (every record is at least 3 words).
    const nw = w.length;
    const offs = new Uint32Array(Math.floor(nw / 3));
    let n = 0;
    let at = 0;
    while (at < nw) {
      if (at + 3 > nw) throw new BtfError(`truncated type record (type id ${this.startId + n})`, { section: sec, offset: typeStart + at * 4 });
      const info = w[at + 1]!;
      const kind = (info >>> 24) & 0x1f;
      const size = recordSize(kind, info & 0xffff);
      if (size < 0) throw new BtfError(`type id ${this.startId + n} has unknown kind ${kind}`, { section: sec, offset: typeStart + at * 4 });
      if (at + size / 4 > nw) {
        throw new BtfError(`type id ${this.startId + n} (${KIND_NAMES[kind]}, vlen ${info & 0xffff}) extends past the type section`, {
          section: sec,
          offset: typeStart + at * 4,
        });
      }
      offs[n++] = at;
      at += size / 4;
    }
    this.offsets = n === offs.length ? offs : offs.slice(0, n);
    this.typeCount = this.startId + n;
  }

  /**
   * Parse a BTF blob (either byte order). Validates the header, the section bounds and every record's size in
   * one pass; references and strings are checked when a type is decoded. Throws `BtfError` with section and offset.
   */
  static parse(bytes: Uint8Array, opts: BtfParseOptions = {}): Btf {
    return new Btf(bytes, opts);
  }

  private static kernel?: { path: string; btf: Btf };

  /**
   * The running kernel's vmlinux BTF (`/sys/kernel/btf/vmlinux`), parsed once and cached.
   * Throws `BtfError` when it is missing (no CONFIG_DEBUG_INFO_BTF) or malformed.
   */
  static loadKernel(path = '/sys/kernel/btf/vmlinux'): Btf {
    if (Btf.kernel && Btf.kernel.path === path) return Btf.kernel.btf;
    let bytes: Uint8Array;
    try {
      bytes = hostReadFile(path);
    } catch (e) {
      throw new BtfError(`cannot read kernel BTF ${path}: ${(e as Error).message} (is CONFIG_DEBUG_INFO_BTF enabled?)`);
    }
    const btf = Btf.parse(bytes, { name: 'vmlinux', section: path });
    Btf.kernel = { path, btf };
    return btf;
  }

  /** Number of types in this blob alone (excluding the base and void). */
  get ownTypeCount(): number {
    return this.typeCount - this.startId;
  }

  // ---- raw record accessors (no object allocation) ----

  private err(reason: string, offset?: number): BtfError {
    return new BtfError(reason, { section: this.section, offset });
  }

  /** Word index of the record of an own type id. */
  private rec(id: number): number {
    const off = this.offsets[id - this.startId];
    if (off === undefined || !Number.isInteger(id)) throw this.err(`type id ${id} does not exist (${this.typeCount} types)`);
    return off;
  }


  /**
   * @internal The raw type section, for allocation-free readers (the C dumper's `RawTypes`): the host-order
   * words and, indexed by `id - startId`, the word index of each own record. Read-only; do not modify.
   */
  rawTypeSection(): { readonly words: Uint32Array; readonly offsets: Uint32Array } {
    return { words: this.words, offsets: this.offsets };
  }

  /** Throws unless `id` is a valid type id (0 = void included). */
  checkId(id: number): void {
    if (!(Number.isInteger(id) && id >= 0 && id < this.typeCount)) throw this.err(`type id ${id} does not exist (${this.typeCount} types)`);
  }

  /** Kind number of `id` (0 for void). */
  kindOf(id: number): number {
    if (id === 0) return 0;
    if (id < this.startId) return this.base!.kindOf(id);
    return (this.words[this.rec(id) + 1]! >>> 24) & 0x1f;
  }

  /** Kind name of `id` (`void` for id 0). */
  kindNameOf(id: number): BtfKindName {
    return KIND_NAMES[this.kindOf(id)]!;
  }

  /** `vlen` of `id`. */
  vlenOf(id: number): number {
    if (id === 0) return 0;
    if (id < this.startId) return this.base!.vlenOf(id);
    return this.words[this.rec(id) + 1]! & 0xffff;
  }

  /** kflag of `id`. */
  kflagOf(id: number): boolean {
    if (id === 0) return false;
    if (id < this.startId) return this.base!.kflagOf(id);
    return this.words[this.rec(id) + 1]! >>> 31 === 1;
  }

  /** String offset of the name of `id`. */
  nameOffOf(id: number): number {
    if (id === 0) return 0;
    if (id < this.startId) return this.base!.nameOffOf(id);
    return this.words[this.rec(id)]!;
  }

  /** Name of `id` ('' when anonymous). */
  nameOf(id: number): string {
    if (id === 0) return '';
    if (id < this.startId) return this.base!.nameOf(id);
    const at = this.rec(id);
    return this.str(this.words[at]!, at);
  }

  /** The size/type word of `id` (size for sized kinds, referenced type for the others). */
  sizeOrTypeOf(id: number): number {
    if (id === 0) return 0;
    if (id < this.startId) return this.base!.sizeOrTypeOf(id);
    return this.words[this.rec(id) + 2]!;
  }

  /** The string at `off`; `recAt` (a word index) locates the record in error messages. */
  private str(off: number, recAt: number): string {
    if (!this.strings.has(off)) {
      throw this.err(`string offset ${off} is outside the string section (${this.strings.length} bytes)`, this.typeStart + recAt * 4);
    }
    return this.strings.get(off);
  }

  private ref(tid: number, recAt: number, what = 'type'): number {
    if (tid >= this.typeCount) throw this.err(`${what} id ${tid} is out of range (${this.typeCount} types)`, this.typeStart + recAt * 4);
    return tid;
  }

  // ---- decoding ----

  /** The type with id `id`, decoded (and cached). Id 0 is void. Throws `BtfError` for a bad id or record. */
  typeById(id: number): BtfType {
    if (id === 0) return VOID;
    if (id < this.startId && id > 0 && Number.isInteger(id)) return this.base!.typeById(id);
    const hit = this.cache.get(id);
    if (hit) return hit;
    const t = this.decode(id);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(id, t);
    return t;
  }

  /** Decode `id` without touching the cache (for bulk iteration). */
  decode(id: number): BtfType {
    if (id === 0) return VOID;
    if (id < this.startId && id > 0 && Number.isInteger(id)) return this.base!.decode(id);
    const at = this.rec(id);
    const w = this.words;
    const info = w[at + 1]!;
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kflag = info >>> 31 === 1;
    const name = this.str(w[at]!, at);
    const st = w[at + 2]!;
    const x = at + 3;
    switch (kind) {
      case BtfKind.INT: {
        const d = w[x]!;
        const enc = (d >>> 24) & 0x0f;
        return { kind: 'int', id, name, size: st, bits: d & 0xff, bitOffset: (d >>> 16) & 0xff, signed: (enc & 1) !== 0, char: (enc & 2) !== 0, bool: (enc & 4) !== 0 };
      }
      case BtfKind.PTR:
        return { kind: 'ptr', id, name, typeId: this.ref(st, at) };
      case BtfKind.ARRAY:
        return { kind: 'array', id, name, typeId: this.ref(w[x]!, at), indexTypeId: this.ref(w[x + 1]!, at), nelems: w[x + 2]! };
      case BtfKind.STRUCT:
      case BtfKind.UNION: {
        const members = new Array(vlen);
        for (let i = 0, m = x; i < vlen; i++, m += 3) {
          const off = w[m + 2]!;
          members[i] = {
            name: this.str(w[m]!, at),
            typeId: this.ref(w[m + 1]!, at),
            bitOffset: kflag ? off & 0xffffff : off,
            bitfieldSize: kflag ? off >>> 24 : 0,
          };
        }
        return { kind: kind === BtfKind.STRUCT ? 'struct' : 'union', id, name, size: st, members };
      }
      case BtfKind.ENUM: {
        const values = new Array(vlen);
        for (let i = 0, e = x; i < vlen; i++, e += 2) values[i] = { name: this.str(w[e]!, at), value: kflag ? w[e + 1]! | 0 : w[e + 1]! };
        return { kind: 'enum', id, name, size: st, signed: kflag, values };
      }
      case BtfKind.ENUM64: {
        const values = new Array(vlen);
        for (let i = 0, e = x; i < vlen; i++, e += 3) {
          const raw = (BigInt(w[e + 2]!) << 32n) | BigInt(w[e + 1]!);
          values[i] = { name: this.str(w[e]!, at), value: kflag ? BigInt.asIntN(64, raw) : raw };
        }
        return { kind: 'enum64', id, name, size: st, signed: kflag, values };
      }
      case BtfKind.FWD:
        return { kind: 'fwd', id, name, fwdKind: kflag ? 'union' : 'struct' };
      case BtfKind.TYPEDEF:
        return { kind: 'typedef', id, name, typeId: this.ref(st, at) };
      case BtfKind.VOLATILE:
        return { kind: 'volatile', id, name, typeId: this.ref(st, at) };
      case BtfKind.CONST:
        return { kind: 'const', id, name, typeId: this.ref(st, at) };
      case BtfKind.RESTRICT:
        return { kind: 'restrict', id, name, typeId: this.ref(st, at) };
      case BtfKind.FUNC:
        return { kind: 'func', id, name, typeId: this.ref(st, at), linkage: this.linkage(vlen, at) };
      case BtfKind.FUNC_PROTO: {
        const params = new Array(vlen);
        for (let i = 0, p = x; i < vlen; i++, p += 2) params[i] = { name: this.str(w[p]!, at), typeId: this.ref(w[p + 1]!, at) };
        return { kind: 'func_proto', id, name, returnTypeId: this.ref(st, at), params };
      }
      case BtfKind.VAR:
        return { kind: 'var', id, name, typeId: this.ref(st, at), linkage: this.linkage(w[x]!, at) };
      case BtfKind.DATASEC: {
        const vars = new Array(vlen);
        for (let i = 0, v = x; i < vlen; i++, v += 3) vars[i] = { typeId: this.ref(w[v]!, at), offset: w[v + 1]!, size: w[v + 2]! };
        return { kind: 'datasec', id, name, size: st, vars };
      }
      case BtfKind.FLOAT:
        return { kind: 'float', id, name, size: st };
      case BtfKind.DECL_TAG:
        return { kind: 'decl_tag', id, name, typeId: this.ref(st, at), componentIdx: w[x]! | 0, attr: kflag };
      case BtfKind.TYPE_TAG:
        return { kind: 'type_tag', id, name, typeId: this.ref(st, at), attr: kflag };
      default:
        throw this.err(`type id ${id} has unknown kind ${kind}`, this.typeStart + at * 4);
    }
  }

  private linkage(n: number, at: number): BtfLinkage {
    const l = LINKAGES[n];
    if (!l) throw this.err(`invalid linkage ${n}`, this.typeStart + at * 4);
    return l;
  }

  /** Every type of this blob (not the base's), decoded without caching, in id order. */
  *types(): IterableIterator<BtfType> {
    for (let id = this.startId; id < this.typeCount; id++) yield this.decode(id);
  }

  // ---- lookups by name ----

  private buildNameIndex(): NameIndex {
    const n = this.typeCount - this.startId;
    let size = 16;
    while (size < n * 2) size *= 2;
    const heads = new Int32Array(size);
    const next = new Int32Array(n);
    const mask = size - 1;
    const own = this.strings.bytes;
    const sStart = this.strings.start;
    // Insert from the highest id down so each chain lists ids in increasing order.
    for (let i = n - 1; i >= 0; i--) {
      const nameOff = this.words[this.offsets[i]!]!;
      if (nameOff === 0) continue;
      let b = own;
      let s = nameOff - sStart;
      if (s < 0 || s >= own.length) {
        if (!this.strings.has(nameOff)) continue; // bad offset: reported when the type is decoded
        const r = this.strings.range(nameOff);
        b = r.bytes;
        s = r.start;
      }
      const h = essentialHash(b, s) & mask;
      next[i] = heads[h]!;
      heads[h] = this.startId + i + 1;
    }
    return { mask, heads, next };
  }

  /**
   * Ids of this blob's own types whose name, without `___flavor`, equals `ess` (already essential) and, when
   * `exact` is given, whose full name equals it.
   */
  private lookupOwn(ess: Uint8Array, exact: Uint8Array | undefined, match: (k: number) => boolean, out: number[]): void {
    if (this.typeCount === this.startId) return;
    const idx = (this.nameIndex ??= this.buildNameIndex());
    let cur = idx.heads[fnv(ess, 0, ess.length) & idx.mask]!;
    while (cur) {
      const id = cur - 1;
      const at = this.offsets[id - this.startId]!;
      cur = idx.next[id - this.startId]!;
      const kind = (this.words[at + 1]! >>> 24) & 0x1f;
      if (!match(kind)) continue;
      const r = this.strings.range(this.words[at]!);
      const len = r.end - r.start;
      if (exact) {
        if (len !== exact.length || !bytesEqual(r.bytes, r.start, exact, exact.length)) continue;
      } else {
        if (essentialLength(r.bytes, r.start, r.end) !== ess.length || !bytesEqual(r.bytes, r.start, ess, ess.length)) continue;
      }
      out.push(id);
    }
  }

  /** Ids of every type named exactly `name` (base types first), optionally of the given kind(s). */
  findIdsByName(name: string, kind?: KindFilter): number[] {
    const out: number[] = [];
    if (!name) return out;
    const exact = encoder.encode(name);
    const ess = exact.subarray(0, essentialLength(exact, 0, exact.length));
    const match = kindMatcher(kind);
    for (const b of this.chain()) b.lookupOwn(ess, exact, match, out);
    return out;
  }

  /** The first type (lowest id) named exactly `name`, optionally of the given kind(s). */
  findByName(name: string, kind?: KindFilter): BtfType | undefined {
    const ids = this.findIdsByName(name, kind);
    return ids.length ? this.typeById(ids[0]!) : undefined;
  }

  /**
   * Ids of types whose name without a `___flavor` suffix equals `name`'s (`task_struct___v1` finds
   * `task_struct` and `task_struct___x`): CO-RE's candidate rule. `ownOnly` skips the base's types.
   */
  findByEssentialName(name: string, kind?: KindFilter, ownOnly = false): number[] {
    const out: number[] = [];
    if (!name) return out;
    const bytes = encoder.encode(name);
    const ess = bytes.subarray(0, essentialLength(bytes, 0, bytes.length));
    const match = kindMatcher(kind);
    if (ownOnly) this.lookupOwn(ess, undefined, match, out);
    else for (const b of this.chain()) b.lookupOwn(ess, undefined, match, out);
    return out;
  }

  /** This blob and its bases, base first. */
  private chain(): Btf[] {
    const list: Btf[] = [];
    for (let b: Btf | undefined = this; b; b = b.base) list.unshift(b);
    return list;
  }

  // ---- type algebra ----

  /** Follow const/volatile/restrict/type_tag from `id` to the first other type. */
  skipModifiers(id: number): number {
    for (let depth = 0; depth <= MAX_RESOLVE_DEPTH; depth++) {
      const k = this.kindOf(id);
      if (k !== BtfKind.CONST && k !== BtfKind.VOLATILE && k !== BtfKind.RESTRICT && k !== BtfKind.TYPE_TAG) return id;
      id = this.sizeOrTypeOf(id);
      this.checkId(id);
    }
    throw this.err(`modifier chain too deep or looping at type id ${id}`);
  }

  /** Follow typedefs and modifiers from `id` to the underlying type (libbpf's skip_mods_and_typedefs). */
  resolveTypedefs(id: number): number {
    for (let depth = 0; depth <= MAX_RESOLVE_DEPTH; depth++) {
      const k = this.kindOf(id);
      if (k !== BtfKind.CONST && k !== BtfKind.VOLATILE && k !== BtfKind.RESTRICT && k !== BtfKind.TYPE_TAG && k !== BtfKind.TYPEDEF) return id;
      id = this.sizeOrTypeOf(id);
      this.checkId(id);
    }
    throw this.err(`typedef chain too deep or looping at type id ${id}`);
  }

  /** The decoded type behind typedefs and modifiers. */
  resolveType(id: number): BtfType {
    return this.typeById(this.resolveTypedefs(id));
  }

  /** Size in bytes of a value of type `id` (libbpf's btf__resolve_size). Throws for sizeless kinds. */
  sizeOf(id: number): number {
    const s = this.trySizeOf(id);
    if (typeof s === 'string') throw this.err(s);
    return s;
  }

  /** Size of `id`, or the reason it has none. */
  trySizeOf(id: number): number | string {
    let mult = 1;
    for (let depth = 0; depth <= MAX_RESOLVE_DEPTH; depth++) {
      if (!(Number.isInteger(id) && id >= 0 && id < this.typeCount)) return `type id ${id} does not exist`;
      const k = this.kindOf(id);
      switch (k) {
        case BtfKind.INT:
        case BtfKind.STRUCT:
        case BtfKind.UNION:
        case BtfKind.ENUM:
        case BtfKind.ENUM64:
        case BtfKind.DATASEC:
        case BtfKind.FLOAT:
        case BtfKind.PTR: {
          const size = k === BtfKind.PTR ? this.pointerSize : this.sizeOrTypeOf(id);
          const total = mult * size;
          if (total > 0xffffffff) return `size of type id ${id} overflows 32 bits`;
          return total;
        }
        case BtfKind.TYPEDEF:
        case BtfKind.VOLATILE:
        case BtfKind.CONST:
        case BtfKind.RESTRICT:
        case BtfKind.VAR:
        case BtfKind.DECL_TAG:
        case BtfKind.TYPE_TAG:
          id = this.sizeOrTypeOf(id);
          continue;
        case BtfKind.ARRAY: {
          const a = this.typeById(id) as { typeId: number; nelems: number };
          mult *= a.nelems;
          if (mult > 0xffffffff) return `size of array type id ${id} overflows 32 bits`;
          id = a.typeId;
          continue;
        }
        default:
          return `type id ${id} (${KIND_NAMES[k]}) has no size`;
      }
    }
    return `type chain too deep or looping at type id ${id}`;
  }

  /** Alignment in bytes of type `id` (libbpf's btf__align_of, including packed-struct detection). */
  alignOf(id: number): number {
    return this.alignRec(id, 0);
  }

  private alignRec(id: number, depth: number): number {
    if (depth > MAX_RESOLVE_DEPTH) throw this.err(`type chain too deep or looping at type id ${id}`);
    this.checkId(id);
    const k = this.kindOf(id);
    switch (k) {
      case BtfKind.INT:
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
      case BtfKind.FLOAT:
        return Math.max(1, Math.min(this.pointerSize, this.sizeOrTypeOf(id)));
      case BtfKind.PTR:
        return this.pointerSize;
      case BtfKind.TYPEDEF:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
        return this.alignRec(this.sizeOrTypeOf(id), depth + 1);
      case BtfKind.ARRAY:
        return this.alignRec((this.typeById(id) as { typeId: number }).typeId, depth + 1);
      case BtfKind.STRUCT:
      case BtfKind.UNION: {
        const t = this.typeById(id) as { size: number; members: { typeId: number; bitOffset: number; bitfieldSize: number }[] };
        let maxAlign = 1;
        for (const m of t.members) {
          const a = this.alignRec(m.typeId, depth + 1);
          maxAlign = Math.max(maxAlign, a);
          if (m.bitfieldSize === 0 && m.bitOffset % (8 * a) !== 0) return 1;
        }
        if (t.size % maxAlign !== 0) return 1;
        return maxAlign;
      }
      default:
        throw this.err(`type id ${id} (${KIND_NAMES[k]}) has no alignment`);
    }
  }

  /**
   * The C spelling of type `id`, as a declaration of `name` when given: `struct task_struct *`,
   * `int (*handler)(void *)`, `char comm[16]`. Anonymous structs/unions/enums are written inline.
   */
  typeToC(id: number, name = ''): string {
    return formatCDecl(this, id, name);
  }
}

function bytesEqual(a: Uint8Array, aStart: number, b: Uint8Array, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[aStart + i] !== b[i]) return false;
  return true;
}

