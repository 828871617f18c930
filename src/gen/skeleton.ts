/**
 * Typed skeletons (`bpfkit gen types`): from an eBPF object, a TypeScript module describing its programs, its
 * maps with key/value TS types generated from BTF (structs → interfaces; number / bigint / boolean / string /
 * arrays / nested structs) and codecs that encode/decode them to bytes at the BTF offsets in the object's byte
 * order, and its global data sections (`.rodata` settings with their initial values) — like `bpftool gen
 * skeleton` or bpf2go, for TypeScript. The generated module is self-contained (no import of bpfkit).
 *
 * Limits (honest): unions decode every member at offset 0 but encode only the first; bitfields are supported
 * for little-endian objects only (big-endian bitfields decode as 0 and are skipped on encode).
 */
import { loadObject } from '../elf/object.js';
import type { Btf } from '../btf/btf.js';
import type { BtfMember, BtfStruct, BtfUnion } from '../btf/types.js';
import { progTypeName, attachTypeName } from '../elf/sections.js';
import { MapType } from '../isa/uapi.js';
import { BtfError } from '../errors.js';

/** Options for `generateSkeleton`. */
export interface SkeletonOptions {
  /** Object name used in comments and the `objectName` export. */
  name?: string;
  /** Extra named BTF structs/unions to emit (e.g. ring buffer event types not used by any map). */
  types?: string[];
}

const RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for function if ' +
    'import in instanceof new null return super switch this throw true try typeof var void while with as implements interface ' +
    'let package private protected public static yield any boolean number string symbol type from of bigint object never unknown ' +
    'Codec u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 bool arr str raw bitfield encode decode programs maps objectName littleEndian Array ' +
    'Uint8Array DataView Error Object'
  ).split(' '),
);

/** A TS identifier for a C name. */
function ident(name: string): string {
  let s = name.replace(/[^A-Za-z0-9_$]/g, '_');
  if (/^[0-9]/.test(s)) s = '_' + s;
  if (RESERVED.has(s)) s += '_t';
  return s;
}

/** Generate the skeleton module text for an object. */
export function generateSkeleton(bytes: Uint8Array, opts: SkeletonOptions = {}): string {
  const obj = loadObject(bytes);
  const { spec, btf, elf } = obj;
  const g = new Gen(btf);
  const le = !elf.bigEndian;

  const progLines = spec.programs.map((p) => {
    const fields = [
      `name: ${JSON.stringify(p.name)}`,
      `section: ${JSON.stringify(p.section)}`,
      `type: ${p.type}`,
      `typeName: ${JSON.stringify(progTypeName(p.type))}`,
    ];
    if (p.expectedAttachType !== undefined) fields.push(`attachType: ${JSON.stringify(attachTypeName(p.expectedAttachType))}`);
    if (p.attachTo) fields.push(`attachTo: ${JSON.stringify(p.attachTo)}`);
    return `  ${ident(p.name)}: { ${fields.join(', ')} },`;
  });

  for (const t of opts.types ?? []) {
    const found = btf?.findByName(t, ['struct', 'union']);
    if (!found) throw new BtfError(`no struct or union named ${t} in the object's BTF`, { section: '.BTF' });
    g.codec(found.id);
  }

  const mapLines: string[] = [];
  for (const m of spec.maps) {
    if (m.dataSection) continue;
    const key = m.btfKeyTypeId ? g.codec(m.btfKeyTypeId) : `raw(${m.keySize})`;
    const value = m.btfValueTypeId ? g.codec(m.btfValueTypeId) : `raw(${m.valueSize})`;
    const typeName = Object.entries(MapType).find(([, v]) => v === m.type)?.[0].toLowerCase() ?? `type_${m.type}`;
    mapLines.push(
      `  ${ident(m.name)}: { name: ${JSON.stringify(m.name)}, type: ${m.type}, typeName: ${JSON.stringify(typeName)}, keySize: ${m.keySize}, valueSize: ${m.valueSize}, maxEntries: ${m.maxEntries}, flags: ${m.flags}, key: ${key}, value: ${value} },`,
    );
  }

  // Global data sections: one interface + codec per section, `.rodata`/`.data` with their initial values.
  const dataOut: string[] = [];
  for (const m of obj.maps) {
    const secName = m.spec.dataSection;
    if (!secName || secName === '.kconfig' || !btf) continue;
    const ds = btf.findByName(secName, 'datasec');
    if (ds?.kind !== 'datasec') continue;
    const sec = elf.sections[m.shndx]!;
    const members: BtfMember[] = [];
    for (const v of ds.vars) {
      const vt = btf.typeById(v.typeId);
      if (vt.kind !== 'var') continue;
      const sym = elf.symbols.find((s) => s.shndx === sec.index && s.name === vt.name);
      if (!sym) continue;
      members.push({ name: vt.name, typeId: vt.typeId, bitOffset: sym.value * 8, bitfieldSize: 0 });
    }
    const base = ident(secName.replace(/^\./, '').replace(/\./g, '_'));
    const tname = base.charAt(0).toUpperCase() + base.slice(1);
    dataOut.push(g.structDecl(tname, m.spec.valueSize, members, false));
    const init = m.spec.contents?.[0]?.value;
    if (init instanceof Uint8Array) {
      dataOut.push(`/** Initial contents of \`${secName}\` as compiled into the object. */`);
      dataOut.push(`export const ${base}Defaults: ${tname} = decode(${tname}, new Uint8Array([${Array.from(init).join(', ')}]));`);
    }
  }

  const out: string[] = [];
  out.push(`// Generated by \`bpfkit gen types\`${opts.name ? ` from ${opts.name}` : ''}. Do not edit.`);
  out.push('/* eslint-disable */');
  out.push(`export const objectName = ${JSON.stringify(opts.name ?? '')};`);
  out.push(`export const littleEndian = ${le};`);
  out.push(`export const license = ${JSON.stringify(spec.license)};`);
  out.push(RUNTIME.replace(/__LE__/g, String(le)));
  out.push(...g.decls);
  out.push(...dataOut);
  out.push('/** Programs of the object. */');
  out.push('export const programs = {', ...progLines, '} as const;');
  out.push('/** Maps of the object, with codecs for their keys and values. */');
  out.push('export const maps = {', ...mapLines, '};');
  return out.join('\n') + '\n';
}

/** Emits named codecs for BTF types (dependencies first). */
class Gen {
  readonly decls: string[] = [];
  private named = new Map<number, string>();
  private used = new Set<string>();
  constructor(private btf?: Btf) {}

  /** A codec expression for type `id`. */
  codec(id: number, depth = 0): string {
    const btf = this.btf!;
    if (depth > 32) return 'raw(0)';
    const t = btf.resolveType(id);
    switch (t.kind) {
      case 'int': {
        if (t.bool && t.size === 1) return 'bool';
        const signed = t.signed;
        const map: Record<number, string> = { 1: signed ? 'i8' : 'u8', 2: signed ? 'i16' : 'u16', 4: signed ? 'i32' : 'u32', 8: signed ? 'i64' : 'u64' };
        return map[t.size] ?? `raw(${t.size})`;
      }
      case 'enum':
        return t.size === 1 ? 'u8' : t.size === 2 ? 'u16' : t.size === 8 ? 'i64' : t.signed ? 'i32' : 'u32';
      case 'enum64':
        return t.signed ? 'i64' : 'u64';
      case 'float':
        return t.size === 4 ? 'f32' : t.size === 8 ? 'f64' : `raw(${t.size})`;
      case 'ptr':
        return 'u64';
      case 'array': {
        const el = btf.resolveType(t.typeId);
        if (el.kind === 'int' && el.size === 1 && (el.char || el.name === 'char')) return `str(${t.nelems})`;
        return `arr(${this.codec(t.typeId, depth + 1)}, ${t.nelems})`;
      }
      case 'struct':
      case 'union':
        return this.struct(t);
      default:
        return `raw(${safeSize(btf, id)})`;
    }
  }

  private struct(t: BtfStruct | BtfUnion): string {
    const known = this.named.get(t.id);
    if (known) return known;
    let name = ident(t.name || `anon_${t.id}`);
    while (this.used.has(name)) name += '_';
    this.used.add(name);
    this.named.set(t.id, name);
    this.decls.push(this.structDecl(name, t.size, t.members, t.kind === 'union'));
    return name;
  }

  /** Interface + codec for a struct-like layout. */
  structDecl(name: string, size: number, members: readonly BtfMember[], union: boolean): string {
    const dec: string[] = [];
    const enc: string[] = [];
    const offsets: string[] = [];
    const typedFields: string[] = [];
    let anon = 0;
    for (const m of members) {
      const mname = m.name || `_anon${anon++}`;
      const key = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(mname) ? mname : JSON.stringify(mname);
      const access = key.startsWith('"') ? `x[${key}]` : `x.${key}`;
      const byteOff = Math.floor(m.bitOffset / 8);
      offsets.push(`${key}: ${byteOff}`);
      if (m.bitfieldSize) {
        const mt = this.btf!.resolveType(m.typeId);
        const signed = mt.kind === 'int' && mt.signed ? 'true' : 'false';
        typedFields.push(`  ${key}: number;`);
        dec.push(`${key}: bitfield.get(v, o, ${m.bitOffset}, ${m.bitfieldSize}, ${signed})`);
        enc.push(`bitfield.set(v, o, ${m.bitOffset}, ${m.bitfieldSize}, ${access});`);
        continue;
      }
      // Field types come from the codec (exact TS type, no second copy of the C → TS mapping).
      const c = this.codecVar(m.typeId);
      typedFields.push(`  ${key}: CodecType<typeof ${c}>;`);
      dec.push(`${key}: ${c}.decode(v, o + ${byteOff})`);
      enc.push(`${c}.encode(v, o + ${byteOff}, ${access});`);
    }
    const encBody = union ? enc.slice(0, 1) : enc;
    return [
      `/** ${union ? 'union' : 'struct'} ${name} (${size} bytes). */`,
      `export interface ${name} {`,
      ...typedFields,
      `}`,
      `export const ${name}: Codec<${name}> & { offsets: Record<string, number> } = {`,
      `  size: ${size},`,
      `  offsets: { ${offsets.join(', ')} },`,
      `  decode: (v: DataView, o: number): ${name} => ({ ${dec.join(', ')} }),`,
      `  encode: (v: DataView, o: number, x: ${name}): void => { ${encBody.join(' ')} },`,
      `};`,
    ].join('\n');
  }

  private vars = new Map<string, string>();
  /** A named const for a codec expression (so `CodecType<typeof X>` works for composite expressions). */
  private codecVar(type: number): string {
    const c = this.codec(type);
    if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(c)) return c;
    let v = this.vars.get(c);
    if (!v) {
      v = `__c${this.vars.size}`;
      this.vars.set(c, v);
      this.decls.push(`const ${v} = ${c};`);
    }
    return v;
  }
}

/** Byte size of `id`, 0 when it has none (function prototypes, void, broken chains). */
function safeSize(btf: Btf, id: number): number {
  try {
    const s = btf.trySizeOf(id);
    return typeof s === 'number' ? s : 0;
  } catch {
    return 0;
  }
}

/** The runtime helpers embedded in every skeleton. */
const RUNTIME = `
/** Encodes and decodes one C type at a byte offset of a DataView. */
export interface Codec<T> {
  size: number;
  decode(v: DataView, o: number): T;
  encode(v: DataView, o: number, x: T): void;
}
/** The TS type a codec produces. */
export type CodecType<C> = C extends Codec<infer T> ? T : never;
const LE = __LE__;
const num = (size: number, get: (v: DataView, o: number) => number, set: (v: DataView, o: number, x: number) => void): Codec<number> => ({ size, decode: get, encode: set });
export const u8 = num(1, (v, o) => v.getUint8(o), (v, o, x) => v.setUint8(o, x));
export const i8 = num(1, (v, o) => v.getInt8(o), (v, o, x) => v.setInt8(o, x));
export const u16 = num(2, (v, o) => v.getUint16(o, LE), (v, o, x) => v.setUint16(o, x, LE));
export const i16 = num(2, (v, o) => v.getInt16(o, LE), (v, o, x) => v.setInt16(o, x, LE));
export const u32 = num(4, (v, o) => v.getUint32(o, LE), (v, o, x) => v.setUint32(o, x, LE));
export const i32 = num(4, (v, o) => v.getInt32(o, LE), (v, o, x) => v.setInt32(o, x, LE));
export const f32 = num(4, (v, o) => v.getFloat32(o, LE), (v, o, x) => v.setFloat32(o, x, LE));
export const f64 = num(8, (v, o) => v.getFloat64(o, LE), (v, o, x) => v.setFloat64(o, x, LE));
export const u64: Codec<bigint> = { size: 8, decode: (v, o) => v.getBigUint64(o, LE), encode: (v, o, x) => v.setBigUint64(o, BigInt.asUintN(64, x), LE) };
export const i64: Codec<bigint> = { size: 8, decode: (v, o) => v.getBigInt64(o, LE), encode: (v, o, x) => v.setBigInt64(o, BigInt.asIntN(64, x), LE) };
export const bool: Codec<boolean> = { size: 1, decode: (v, o) => v.getUint8(o) !== 0, encode: (v, o, x) => v.setUint8(o, x ? 1 : 0) };
/** A fixed-length array. */
export function arr<T>(c: Codec<T>, n: number): Codec<T[]> {
  return {
    size: c.size * n,
    decode: (v, o) => Array.from({ length: n }, (_, i) => c.decode(v, o + i * c.size)),
    encode: (v, o, x) => { for (let i = 0; i < n; i++) if (i < x.length) c.encode(v, o + i * c.size, x[i]!); },
  };
}
/** A char[n] as a string (up to the first NUL; encoding truncates and NUL-pads). */
export function str(n: number): Codec<string> {
  return {
    size: n,
    decode: (v, o) => {
      const b = new Uint8Array(v.buffer, v.byteOffset + o, n);
      const end = b.indexOf(0);
      return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
    },
    encode: (v, o, x) => {
      const b = new TextEncoder().encode(x);
      for (let i = 0; i < n; i++) v.setUint8(o + i, i < b.length && i < n ? b[i]! : 0);
    },
  };
}
/** Raw bytes (types the generator does not model). */
export function raw(n: number): Codec<Uint8Array> {
  return {
    size: n,
    decode: (v, o) => new Uint8Array(v.buffer.slice(v.byteOffset + o, v.byteOffset + o + n)),
    encode: (v, o, x) => { for (let i = 0; i < n; i++) v.setUint8(o + i, x[i] ?? 0); },
  };
}
/** Little-endian bitfields (bit offsets from the start of the struct). */
export const bitfield = {
  get(v: DataView, o: number, bitOff: number, bits: number, signed: boolean): number {
    if (!LE) return 0;
    let x = 0n;
    const first = o + (bitOff >> 3), last = o + ((bitOff + bits - 1) >> 3);
    for (let i = last; i >= first; i--) x = (x << 8n) | BigInt(v.getUint8(i));
    x = (x >> BigInt(bitOff & 7)) & ((1n << BigInt(bits)) - 1n);
    return Number(signed ? BigInt.asIntN(bits, x) : x);
  },
  set(v: DataView, o: number, bitOff: number, bits: number, value: number): void {
    if (!LE) return;
    const first = o + (bitOff >> 3), last = o + ((bitOff + bits - 1) >> 3);
    let x = 0n;
    for (let i = last; i >= first; i--) x = (x << 8n) | BigInt(v.getUint8(i));
    const mask = ((1n << BigInt(bits)) - 1n) << BigInt(bitOff & 7);
    x = (x & ~mask) | ((BigInt.asUintN(bits, BigInt(value)) << BigInt(bitOff & 7)) & mask);
    for (let i = first; i <= last; i++) { v.setUint8(i, Number(x & 0xffn)); x >>= 8n; }
  },
};
/** Encode a value to a new byte array of the codec's size. */
export function encode<T>(c: Codec<T>, x: T): Uint8Array {
  const b = new Uint8Array(c.size);
  c.encode(new DataView(b.buffer), 0, x);
  return b;
}
/** Decode a value from bytes (at \`offset\`). */
export function decode<T>(c: Codec<T>, b: Uint8Array, offset = 0): T {
  if (b.length < offset + c.size) throw new RangeError(\`need \${c.size} bytes at \${offset}, have \${b.length}\`);
  return c.decode(new DataView(b.buffer, b.byteOffset, b.byteLength), offset);
}
`;
