/**
 * Writing BTF: `BtfBuilder` collects types (ids in insertion order, after void or after a base BTF's types) and
 * encodes header, type section and string section in either byte order. `BtfBuilder.from(btf)` starts from an
 * existing blob (string offsets preserved), so a loader can patch or sanitise an object's BTF and a code generator
 * can synthesise new BTF.
 */
import { BtfError } from '../errors.js';
import type { Btf } from './btf.js';
import { recordSize } from './btf.js';
import { StringTableBuilder, concat } from './strings.js';
import { BTF_HEADER_SIZE, BTF_MAGIC, BTF_MAX_VLEN, BTF_VERSION, KIND_NAMES, LINKAGES, type BtfMember, type BtfTypeInput } from './types.js';

/** Options for `BtfBuilder`. */
export interface BtfBuilderOptions {
  /** Write split BTF on top of this base: ids and string offsets continue after it. */
  base?: Btf;
  /** Big-endian output (default little-endian). */
  bigEndian?: boolean;
  /** Start from this string section (its offsets are kept; new strings are appended). */
  strings?: Uint8Array;
}

/** Builds a BTF blob type by type. */
export class BtfBuilder {
  /** First id this builder assigns (1, or the base's type count). */
  readonly startId: number;
  readonly bigEndian: boolean;
  readonly base?: Btf;
  /** The string table being built (shared with `encodeBtfExt` so .BTF.ext strings land in the same table). */
  readonly strings: StringTableBuilder;
  private readonly list: BtfTypeInput[] = [];

  constructor(opts: BtfBuilderOptions = {}) {
    this.base = opts.base;
    this.startId = opts.base ? opts.base.typeCount : 1;
    this.bigEndian = opts.bigEndian ?? false;
    this.strings = new StringTableBuilder({ start: opts.base ? opts.base.strings.length : 0, initial: opts.strings });
  }

  /**
   * A builder holding every own type of `btf` (same ids) and its string section verbatim, so unchanged
   * names keep their offsets (and .BTF.ext line info stays valid).
   */
  static from(btf: Btf, opts: { bigEndian?: boolean } = {}): BtfBuilder {
    const b = new BtfBuilder({ base: btf.base, bigEndian: opts.bigEndian ?? btf.bigEndian, strings: btf.strings.bytes });
    for (let id = btf.startId; id < btf.typeCount; id++) b.list.push(btf.decode(id) as BtfTypeInput);
    return b;
  }

  /** Total ids including void and the base's types (the next id `add` returns). */
  get typeCount(): number {
    return this.startId + this.list.length;
  }

  /** Add a type; returns its id. */
  add(t: BtfTypeInput): number {
    if ((t.kind as string) === 'void') throw new BtfError('void (id 0) is implicit and cannot be added');
    this.list.push(t);
    return this.startId + this.list.length - 1;
  }

  /** Replace the type with id `id` (e.g. to sanitise it). */
  set(id: number, t: BtfTypeInput): void {
    const i = id - this.startId;
    if (!(i >= 0 && i < this.list.length)) throw new BtfError(`type id ${id} is not in this builder`);
    this.list[i] = t;
  }

  /** The type with id `id` as currently held. */
  get(id: number): BtfTypeInput {
    const t = this.list[id - this.startId];
    if (!t) throw new BtfError(`type id ${id} is not in this builder`);
    return t;
  }

  /** Intern a string; returns its offset. */
  addString(s: string): number {
    return this.strings.add(s);
  }

  // ---- convenience constructors ----

  addInt(name: string, size: number, opts: { signed?: boolean; char?: boolean; bool?: boolean; bits?: number } = {}): number {
    return this.add({ kind: 'int', name, size, bits: opts.bits ?? size * 8, bitOffset: 0, signed: !!opts.signed, char: !!opts.char, bool: !!opts.bool });
  }
  addPtr(typeId: number): number {
    return this.add({ kind: 'ptr', typeId });
  }
  addArray(typeId: number, nelems: number, indexTypeId: number): number {
    return this.add({ kind: 'array', typeId, indexTypeId, nelems });
  }
  addStruct(name: string, size: number, members: BtfMember[], union = false): number {
    return this.add({ kind: union ? 'union' : 'struct', name, size, members });
  }
  addTypedef(name: string, typeId: number): number {
    return this.add({ kind: 'typedef', name, typeId });
  }

  /** Encode header + types + strings. Throws `BtfError` for values that do not fit the format. */
  encode(): Uint8Array {
    const le = !this.bigEndian;
    const count = this.typeCount;
    const sizes = this.list.map((t, i) => {
      const kind = KIND_NAMES.indexOf(t.kind);
      const vlen = vlenOf(t);
      if (vlen > BTF_MAX_VLEN) throw new BtfError(`type id ${this.startId + i} has ${vlen} entries, more than ${BTF_MAX_VLEN}`);
      return recordSize(kind, vlen);
    });
    const typeLen = sizes.reduce((a, b) => a + b, 0);
    const types = new Uint8Array(typeLen);
    const v = new DataView(types.buffer);
    let at = 0;
    const put = (x: number) => {
      v.setUint32(at, x >>> 0, le);
      at += 4;
    };
    const putS = (x: number) => {
      v.setInt32(at, x, le);
      at += 4;
    };
    const ref = (id: number, self: number) => {
      if (!(Number.isInteger(id) && id >= 0 && id < count)) throw new BtfError(`type id ${self} refers to type id ${id}, which does not exist`);
      return id;
    };
    const u32 = (x: number, what: string, self: number) => {
      if (!(Number.isInteger(x) && x >= 0 && x <= 0xffffffff)) throw new BtfError(`type id ${self}: ${what} ${x} does not fit in 32 bits`);
      return x;
    };
    const S = (s: string | undefined) => this.strings.add(s ?? '');
    for (let i = 0; i < this.list.length; i++) {
      const t = this.list[i]!;
      const id = this.startId + i;
      const kind = KIND_NAMES.indexOf(t.kind);
      const start = at;
      const info = (k: number, vlen: number, kflag: boolean) => ((kflag ? 0x80000000 : 0) | (k << 24) | vlen) >>> 0;
      put(S(t.name));
      switch (t.kind) {
        case 'int': {
          put(info(kind, 0, false));
          put(u32(t.size, 'size', id));
          const enc = (t.signed ? 1 : 0) | (t.char ? 2 : 0) | (t.bool ? 4 : 0);
          if (t.bits > 128 || t.bitOffset > 255) throw new BtfError(`type id ${id}: int bits ${t.bits} / offset ${t.bitOffset} out of range`);
          put((enc << 24) | ((t.bitOffset & 0xff) << 16) | (t.bits & 0xff));
          break;
        }
        case 'ptr':
        case 'typedef':
        case 'volatile':
        case 'const':
        case 'restrict':
          put(info(kind, 0, false));
          put(ref(t.typeId, id));
          break;
        case 'type_tag':
          put(info(kind, 0, t.attr));
          put(ref(t.typeId, id));
          break;
        case 'array':
          put(info(kind, 0, false));
          put(0);
          put(ref(t.typeId, id));
          put(ref(t.indexTypeId, id));
          put(u32(t.nelems, 'nelems', id));
          break;
        case 'struct':
        case 'union': {
          const kflag = t.members.some((m) => m.bitfieldSize);
          put(info(kind, t.members.length, kflag));
          put(u32(t.size, 'size', id));
          for (const m of t.members) {
            put(S(m.name));
            put(ref(m.typeId, id));
            if (kflag) {
              if (m.bitOffset > 0xffffff || m.bitfieldSize > 0xff) throw new BtfError(`type id ${id}: member ${m.name} offset/bitfield size out of range`);
              put(((m.bitfieldSize << 24) | m.bitOffset) >>> 0);
            } else put(u32(m.bitOffset, 'member offset', id));
          }
          break;
        }
        case 'enum':
          put(info(kind, t.values.length, t.signed));
          put(u32(t.size, 'size', id));
          for (const e of t.values) {
            put(S(e.name));
            // Either interpretation of 32 bits is accepted; the kflag says which one readers use.
            if (!Number.isInteger(e.value) || e.value < -0x80000000 || e.value > 0xffffffff) {
              throw new BtfError(`type id ${id}: enum value ${e.name}=${e.value} does not fit in 32 bits`);
            }
            putS(e.value | 0);
          }
          break;
        case 'enum64':
          put(info(kind, t.values.length, t.signed));
          put(u32(t.size, 'size', id));
          for (const e of t.values) {
            const raw = BigInt.asUintN(64, BigInt(e.value));
            put(S(e.name));
            put(Number(raw & 0xffffffffn));
            put(Number(raw >> 32n));
          }
          break;
        case 'fwd':
          put(info(kind, 0, t.fwdKind === 'union'));
          put(0);
          break;
        case 'func':
          put(info(kind, linkageNum(t.linkage, id), false));
          put(ref(t.typeId, id));
          break;
        case 'func_proto':
          put(info(kind, t.params.length, false));
          put(ref(t.returnTypeId, id));
          for (const p of t.params) {
            put(S(p.name));
            put(ref(p.typeId, id));
          }
          break;
        case 'var':
          put(info(kind, 0, false));
          put(ref(t.typeId, id));
          put(linkageNum(t.linkage, id));
          break;
        case 'datasec':
          put(info(kind, t.vars.length, false));
          put(u32(t.size, 'size', id));
          for (const s of t.vars) {
            put(ref(s.typeId, id));
            put(u32(s.offset, 'offset', id));
            put(u32(s.size, 'size', id));
          }
          break;
        case 'float':
          put(info(kind, 0, false));
          put(u32(t.size, 'size', id));
          break;
        case 'decl_tag':
          put(info(kind, 0, t.attr));
          put(ref(t.typeId, id));
          putS(t.componentIdx);
          break;
        default:
          throw new BtfError(`type id ${id}: unknown kind ${(t as { kind: string }).kind}`);
      }
      if (at - start !== sizes[i]) throw new BtfError(`internal: type id ${id} encoded to ${at - start} bytes, expected ${sizes[i]}`);
    }
    const strings = this.strings.bytes();
    const header = new Uint8Array(BTF_HEADER_SIZE);
    const h = new DataView(header.buffer);
    h.setUint16(0, BTF_MAGIC, le);
    h.setUint8(2, BTF_VERSION);
    h.setUint8(3, 0);
    h.setUint32(4, BTF_HEADER_SIZE, le);
    h.setUint32(8, 0, le);
    h.setUint32(12, typeLen, le);
    h.setUint32(16, typeLen, le);
    h.setUint32(20, strings.length, le);
    return concat([header, types, strings]);
  }
}

function vlenOf(t: BtfTypeInput): number {
  switch (t.kind) {
    case 'struct':
    case 'union':
      return t.members.length;
    case 'enum':
    case 'enum64':
      return t.values.length;
    case 'func_proto':
      return t.params.length;
    case 'datasec':
      return t.vars.length;
    default:
      return 0;
  }
}

function linkageNum(l: string, id: number): number {
  const n = LINKAGES.indexOf(l as (typeof LINKAGES)[number]);
  if (n < 0) throw new BtfError(`type id ${id}: unknown linkage ${l}`);
  return n;
}

/** Encode a list of types (ids 1, 2, ... in order) as a BTF blob. */
export function encodeBtf(types: readonly BtfTypeInput[], opts: BtfBuilderOptions = {}): Uint8Array {
  const b = new BtfBuilder(opts);
  for (const t of types) b.add(t);
  return b.encode();
}
