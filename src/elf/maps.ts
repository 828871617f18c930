/**
 * Map definitions of an eBPF object: BTF-defined maps in `.maps` (libbpf's `__uint`/`__type`/`__array`
 * encoding), legacy `struct bpf_map_def` maps in `maps`, and global data sections (`.data`, `.rodata`, `.bss`,
 * `.data.*`, `.rodata.*`) as one-entry array maps.
 */
import { ElfError } from '../errors.js';
import { MapType, Uapi } from '../isa/uapi.js';
import type { MapSpec } from '../spec/map.js';
import type { Btf } from '../btf/btf.js';
import type { BtfStruct } from '../btf/types.js';
import { R_BPF, SHF, SHT, STT, type ElfFile, type ElfSection, type ElfSymbol } from './reader.js';

/** A map found in the object, with where its definition lives (to resolve lddw relocations). */
export interface ObjectMap {
  spec: MapSpec;
  /** ELF section index of the definition (`.maps`, `maps`) or of the data section. */
  shndx: number;
  /** Byte offset of the definition in its section (0 for data sections). */
  offset: number;
  /** Byte size of the definition (section size for data sections). */
  size: number;
}

/** True for global data sections turned into array maps. */
export function isDataSection(s: ElfSection): boolean {
  if (!(s.flags & SHF.ALLOC) || s.flags & SHF.EXECINSTR) return false;
  if (s.type !== SHT.PROGBITS && s.type !== SHT.NOBITS) return false;
  const n = s.name;
  return n === '.data' || n === '.bss' || n === '.rodata' || n.startsWith('.data.') || n.startsWith('.rodata.') || n.startsWith('.bss.');
}

/** Global data sections as one-entry array maps (`.rodata*` read-only for programs). */
export function dataSectionMaps(elf: ElfFile, btf?: Btf): ObjectMap[] {
  const out: ObjectMap[] = [];
  for (const s of elf.sections) {
    if (!isDataSection(s) || s.size === 0) continue;
    if (s.size > 0x7fffffff) throw new ElfError(`data section of ${s.size} bytes is too large`, { section: s.name, offset: s.offset });
    const rodata = s.name.startsWith('.rodata');
    const value = s.type === SHT.NOBITS ? new Uint8Array(s.size) : s.data.slice();
    const spec: MapSpec = {
      name: s.name,
      type: MapType.ARRAY,
      keySize: 4,
      valueSize: s.size,
      maxEntries: 1,
      flags: rodata ? Uapi.BPF_F_RDONLY_PROG : 0,
      contents: [{ key: new Uint8Array(4), value }],
      dataSection: s.name,
    };
    const ds = btf?.findByName(s.name, 'datasec');
    if (ds) spec.btfValueTypeId = ds.id;
    out.push({ spec, shndx: s.index, offset: 0, size: s.size });
  }
  return out;
}

/** Legacy `maps` section: `struct bpf_map_def { type, key_size, value_size, max_entries, map_flags, ... }`. */
export function legacyMaps(elf: ElfFile): ObjectMap[] {
  const sec = elf.section('maps');
  if (!sec) return [];
  const syms = elf.symbols.filter((s) => s.shndx === sec.index && s.type !== STT.SECTION && s.name).sort((a, b) => a.value - b.value);
  if (!syms.length) return [];
  const defSize = Math.floor(sec.size / syms.length);
  if (defSize < 16 || sec.size % syms.length !== 0) {
    throw new ElfError(`cannot split ${sec.size} bytes into ${syms.length} map definitions`, { section: 'maps', offset: sec.offset });
  }
  const view = new DataView(sec.data.buffer, sec.data.byteOffset, sec.data.byteLength);
  const le = !elf.bigEndian;
  return syms.map((sym) => {
    if (sym.value % defSize !== 0 || sym.value + defSize > sec.size) {
      throw new ElfError(`map ${sym.name} at ${sym.value} is not a whole definition`, { section: 'maps', offset: sec.offset + sym.value });
    }
    const at = sym.value;
    const u32 = (i: number) => (i * 4 + 4 <= defSize ? view.getUint32(at + i * 4, le) : 0);
    const spec: MapSpec = { name: sym.name, type: u32(0), keySize: u32(1), valueSize: u32(2), maxEntries: u32(3), flags: u32(4) };
    if (defSize >= 28 && spec.flags & Uapi.BPF_F_NUMA_NODE) spec.numaNode = u32(6);
    return { spec, shndx: sec.index, offset: at, size: defSize };
  });
}

/** Which initial-value slots of map-in-maps and prog arrays point where (filled by `btfMaps`). */
interface Pending {
  map: ObjectMap;
  valuesOffset: number;
}

/** BTF-defined maps in `.maps`. Needs the object's BTF. */
export function btfMaps(elf: ElfFile, btf: Btf): ObjectMap[] {
  const sec = elf.section('.maps');
  if (!sec) return [];
  const ds = btf.findByName('.maps', 'datasec');
  if (ds?.kind !== 'datasec') throw new ElfError('no BTF DATASEC for .maps', { section: '.maps' });
  const out: ObjectMap[] = [];
  const pending: Pending[] = [];
  for (const v of ds.vars) {
    const varType = btf.typeById(v.typeId);
    if (varType.kind !== 'var') throw new ElfError(`.maps entry type ${v.typeId} is not a VAR`, { section: '.maps' });
    const name = varType.name;
    const sym = elf.symbols.find((s) => s.shndx === sec.index && s.name === name);
    if (!sym) throw new ElfError(`no symbol for map ${name}`, { section: '.maps' });
    const def = btf.resolveType(varType.typeId);
    if (def.kind !== 'struct') throw new ElfError(`map ${name}: definition is not a struct`, { section: '.maps', offset: sym.value });
    const { spec, valuesOffset } = parseMapDef(btf, name, def, 0);
    const m: ObjectMap = { spec, shndx: sec.index, offset: sym.value, size: sym.size || def.size };
    out.push(m);
    if (valuesOffset !== undefined) pending.push({ map: m, valuesOffset });
  }
  // Initial values (`.values = { [i] = &x }`) come as R_BPF_64_ABS64 relocations inside the definition.
  const relocs = elf.relocations.get(sec.index)?.entries ?? [];
  for (const r of relocs) {
    const owner = pending.find((p) => r.offset >= p.map.offset && r.offset < p.map.offset + p.map.size);
    if (!owner) throw new ElfError(`relocation at ${r.offset} is not inside a map's values`, { section: '.maps', offset: r.offset });
    if (r.type !== R_BPF.R_BPF_64_ABS64) throw new ElfError(`unexpected relocation type ${r.type} in .maps`, { section: '.maps', offset: r.offset });
    const rel = r.offset - owner.map.offset - owner.valuesOffset;
    if (rel < 0 || rel % 8 !== 0) throw new ElfError(`relocation at ${r.offset} is not a values slot`, { section: '.maps', offset: r.offset });
    const target = elf.symbols[r.symbol];
    if (!target?.name) throw new ElfError(`relocation at ${r.offset} names an unnamed symbol`, { section: '.maps', offset: r.offset });
    const index = rel / 8;
    if (index >= owner.map.spec.maxEntries) throw new ElfError(`values slot ${index} beyond max_entries`, { section: '.maps', offset: r.offset });
    (owner.map.spec.initialSlots ??= []).push({ index, name: target.name });
  }
  for (const p of pending) p.map.spec.initialSlots?.sort((a, b) => a.index - b.index);
  return out;
}

/** `int (*name)[N]` → N. */
function uintMember(btf: Btf, name: string, member: string, typeId: number): number {
  const p = btf.resolveType(typeId);
  if (p.kind !== 'ptr') throw new ElfError(`map ${name}: member ${member} is not __uint() (pointer to array)`, { section: '.maps' });
  const arr = btf.resolveType(p.typeId);
  if (arr.kind !== 'array') throw new ElfError(`map ${name}: member ${member} is not __uint() (pointer to array)`, { section: '.maps' });
  return arr.nelems;
}

/** `T *name` → T's id. */
function typeMember(btf: Btf, name: string, member: string, typeId: number): number {
  const p = btf.resolveType(typeId);
  if (p.kind !== 'ptr') throw new ElfError(`map ${name}: member ${member} is not __type() (a pointer)`, { section: '.maps' });
  return p.typeId;
}

/** `__uint(member, N)` members of a map definition and the MapSpec field each sets (`map_extra` is a bigint). */
const UINT_MEMBERS = new Map<string, 'type' | 'maxEntries' | 'flags' | 'numaNode' | 'pinning' | 'keySize' | 'valueSize'>([
  ['type', 'type'],
  ['max_entries', 'maxEntries'],
  ['map_flags', 'flags'],
  ['numa_node', 'numaNode'],
  ['pinning', 'pinning'],
  ['key_size', 'keySize'],
  ['value_size', 'valueSize'],
]);

function parseMapDef(btf: Btf, name: string, def: BtfStruct, depth: number): { spec: MapSpec; valuesOffset?: number } {
  if (depth > 2) throw new ElfError(`map ${name}: map-in-map nesting too deep`, { section: '.maps' });
  const spec: MapSpec = { name, type: MapType.UNSPEC, keySize: 0, valueSize: 0, maxEntries: 0, flags: 0 };
  let valuesOffset: number | undefined;
  for (const m of def.members) {
    const field = UINT_MEMBERS.get(m.name);
    if (field) {
      spec[field] = uintMember(btf, name, m.name, m.typeId);
      continue;
    }
    switch (m.name) {
      case 'map_extra':
        spec.mapExtra = BigInt(uintMember(btf, name, m.name, m.typeId));
        break;
      case 'key': {
        const id = typeMember(btf, name, m.name, m.typeId);
        spec.btfKeyTypeId = id;
        spec.keySize = btf.sizeOf(id);
        break;
      }
      case 'value': {
        const id = typeMember(btf, name, m.name, m.typeId);
        spec.btfValueTypeId = id;
        spec.valueSize = btf.sizeOf(id);
        break;
      }
      case 'values': {
        // __array(values, T): `typeof(T) *values[]` — an array of pointers, zero elements.
        const arr = btf.resolveType(m.typeId);
        if (arr.kind !== 'array') throw new ElfError(`map ${name}: values is not an array`, { section: '.maps' });
        const ptr = btf.resolveType(arr.typeId);
        if (ptr.kind !== 'ptr') throw new ElfError(`map ${name}: values is not an array of pointers`, { section: '.maps' });
        const inner = btf.resolveType(ptr.typeId);
        if (inner.kind === 'struct') {
          spec.inner = parseMapDef(btf, `${name}.inner`, inner, depth + 1).spec;
        } else if (inner.kind !== 'func_proto') {
          throw new ElfError(`map ${name}: values must point to a map definition or a function`, { section: '.maps' });
        }
        valuesOffset = m.bitOffset / 8;
        break;
      }
      default:
        throw new ElfError(`map ${name}: unknown member ${m.name}`, { section: '.maps' });
    }
  }
  const isMapInMap = spec.type === MapType.ARRAY_OF_MAPS || spec.type === MapType.HASH_OF_MAPS;
  if (isMapInMap || spec.type === MapType.PROG_ARRAY) {
    // Values of prog arrays and map-in-maps are fds (4 bytes), whatever __array says.
    if (!spec.valueSize) spec.valueSize = 4;
    if (!spec.keySize) spec.keySize = 4;
  }
  if (isMapInMap && !spec.inner) throw new ElfError(`map ${name}: map-in-map without __array(values, ...)`, { section: '.maps' });
  return { spec, valuesOffset };
}

/** Find the map whose definition contains `(shndx, offset)`. */
export function mapAt(maps: readonly ObjectMap[], shndx: number, offset: number): ObjectMap | undefined {
  return maps.find((m) => m.shndx === shndx && offset >= m.offset && offset < m.offset + Math.max(m.size, 1));
}

/** Symbols defining maps, for diagnostics. */
export function symbolName(sym: ElfSymbol | undefined): string {
  return sym?.name || '(unnamed)';
}
