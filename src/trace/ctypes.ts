/**
 * C types behind pointers and struct fields of the tracing language: the kernel's types come from vmlinux BTF
 * (loaded lazily through src/btf), script types from `struct foo { ... }` definitions (laid out with the C ABI
 * of x86-64/arm64: natural alignment). Records resolve their fields lazily, so recursive kernel structs are fine.
 */
import { Btf } from '../btf/btf.js';
import type { BtfType } from '../btf/types.js';

/** One field of a record: byte offset, type, and bit position/width for bitfields. */
export interface CField {
  name: string;
  offset: number;
  type: CType;
  /** Bitfields: bit offset inside the byte at `offset`, and width. */
  bitShift?: number;
  bitSize?: number;
}

/** A C type as far as the tracing language needs it. */
export type CType =
  | { c: 'int'; size: number; signed: boolean; /** char (arrays of it are strings) */ char?: boolean }
  | { c: 'ptr'; to: CType }
  | { c: 'record'; name: string; size: number; fields: () => Map<string, CField> | undefined }
  | { c: 'array'; elem: CType; n: number }
  | { c: 'void'; name?: string };

/** How bpftrace names a type in messages (`struct task_struct *`, `int32`, `uint8[4]`). */
export function ctypeName(t: CType): string {
  switch (t.c) {
    case 'int':
      return `${t.signed ? '' : 'u'}int${t.size * 8}`;
    case 'ptr':
      return `${ctypeName(t.to)} *`;
    case 'record':
      return t.name;
    case 'array':
      return `${ctypeName(t.elem)}[${t.n}]`;
    case 'void':
      return t.name ?? 'void';
  }
}

/** Size in bytes (pointers 8, void 0). */
export function ctypeSize(t: CType): number {
  switch (t.c) {
    case 'int':
    case 'record':
      return t.size;
    case 'ptr':
      return 8;
    case 'array':
      return t.n * ctypeSize(t.elem);
    case 'void':
      return 0;
  }
}

/** A char array (bpftrace treats these as strings). */
export const isCharArray = (t: CType): boolean => t.c === 'array' && t.elem.c === 'int' && t.elem.size === 1 && !!t.elem.char;

// ---- kernel BTF ----

let kernel: Btf | null | undefined;
function kernelBtf(): Btf | null {
  if (kernel === undefined) {
    try {
      kernel = Btf.loadKernel();
    } catch {
      kernel = null;
    }
  }
  return kernel;
}

const byId = new Map<number, CType>();

/** The CType of kernel BTF type `id` (cached). */
function fromBtf(btf: Btf, id: number): CType {
  const hit = byId.get(id);
  if (hit) return hit;
  const t: BtfType = btf.typeById(id);
  let out: CType;
  switch (t.kind) {
    case 'int':
      out = { c: 'int', size: t.size, signed: t.signed, char: t.char || (t.size === 1 && /char/.test(t.name)) };
      break;
    case 'enum':
    case 'enum64':
      out = { c: 'int', size: t.size, signed: t.signed };
      break;
    case 'ptr': {
      const ptr: { c: 'ptr'; to: CType } = { c: 'ptr', to: { c: 'void' } };
      byId.set(id, ptr); // a pointer to itself through typedefs cannot loop
      ptr.to = fromBtf(btf, t.typeId);
      return ptr;
    }
    case 'array':
      out = { c: 'array', elem: fromBtf(btf, t.typeId), n: t.nelems };
      break;
    case 'struct':
    case 'union': {
      let fields: Map<string, CField> | undefined;
      out = {
        c: 'record',
        name: `${t.kind} ${t.name}`,
        size: t.size,
        fields: () => (fields ??= btfFields(btf, t.members)),
      };
      break;
    }
    case 'fwd':
      out = { c: 'record', name: `${t.fwdKind} ${t.name}`, size: 0, fields: () => undefined };
      break;
    case 'typedef':
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'type_tag':
      out = fromBtf(btf, t.typeId);
      break;
    case 'float':
      out = { c: 'void', name: t.name };
      break;
    default:
      out = { c: 'void', name: t.kind === 'void' ? 'void' : t.kind };
  }
  byId.set(id, out);
  return out;
}

/** Fields of a BTF struct/union; members of anonymous structs/unions are lifted into the parent, like C11. */
function btfFields(btf: Btf, members: { name: string; typeId: number; bitOffset: number; bitfieldSize: number }[], base = 0, into = new Map<string, CField>()): Map<string, CField> {
  for (const m of members) {
    const bit = base + m.bitOffset;
    if (!m.name) {
      const r = btf.resolveType(m.typeId);
      if (r.kind === 'struct' || r.kind === 'union') btfFields(btf, r.members, bit, into);
      continue;
    }
    const type = fromBtf(btf, m.typeId);
    if (m.bitfieldSize) into.set(m.name, { name: m.name, offset: Math.floor(bit / 8), type, bitShift: bit % 8, bitSize: m.bitfieldSize });
    else into.set(m.name, { name: m.name, offset: bit / 8, type });
  }
  return into;
}

/** `struct NAME` / `union NAME` from the kernel's BTF, or undefined (no such type, or no kernel BTF). */
export function kernelRecord(kind: 'struct' | 'union', name: string): CType | undefined {
  const btf = kernelBtf();
  if (!btf) return undefined;
  const ids = btf.findIdsByName(name, kind);
  return ids.length ? fromBtf(btf, ids[0]!) : undefined;
}

/** `struct task_struct` of the running kernel (for `curtask`), or undefined without kernel BTF. */
export function taskStruct(): CType | undefined {
  return kernelRecord('struct', 'task_struct');
}

// ---- C type names (script struct members, tracefs field types) ----

const INT_NAMES: Record<string, [number, boolean]> = {
  char: [1, true], 'signed char': [1, true], 'unsigned char': [1, false],
  short: [2, true], 'short int': [2, true], 'unsigned short': [2, false], 'unsigned short int': [2, false], 'signed short': [2, true],
  int: [4, true], signed: [4, true], 'signed int': [4, true], unsigned: [4, false], 'unsigned int': [4, false],
  long: [8, true], 'long int': [8, true], 'unsigned long': [8, false], 'unsigned long int': [8, false], 'signed long': [8, true],
  'long long': [8, true], 'long long int': [8, true], 'unsigned long long': [8, false], 'unsigned long long int': [8, false],
  bool: [1, false], _Bool: [1, false],
  u8: [1, false], u16: [2, false], u32: [4, false], u64: [8, false], s8: [1, true], s16: [2, true], s32: [4, true], s64: [8, true],
  __u8: [1, false], __u16: [2, false], __u32: [4, false], __u64: [8, false], __s8: [1, true], __s16: [2, true], __s32: [4, true], __s64: [8, true],
  uint8_t: [1, false], uint16_t: [2, false], uint32_t: [4, false], uint64_t: [8, false], int8_t: [1, true], int16_t: [2, true], int32_t: [4, true], int64_t: [8, true],
  uint8: [1, false], uint16: [2, false], uint32: [4, false], uint64: [8, false], int8: [1, true], int16: [2, true], int32: [4, true], int64: [8, true],
  size_t: [8, false], ssize_t: [8, true], pid_t: [4, true], uid_t: [4, false], gid_t: [4, false], loff_t: [8, true], umode_t: [2, false],
};

/**
 * A base C type by name (`unsigned int`, `u8`, `struct foo`), looking records up in `records` first and then in
 * the kernel's BTF. Undefined when unknown.
 */
export function baseType(name: string, records?: Map<string, CType>): CType | undefined {
  const n = name.replace(/\b(const|volatile|__user|__rcu|__percpu)\b/g, ' ').replace(/\s+/g, ' ').trim();
  if (n === 'void') return { c: 'void' };
  const i = INT_NAMES[n];
  if (i) return { c: 'int', size: i[0], signed: i[1], char: n.endsWith('char') };
  const r = /^(struct|union|enum) ([A-Za-z_][A-Za-z_0-9]*)$/.exec(n);
  if (r) {
    if (r[1] === 'enum') return { c: 'int', size: 4, signed: false };
    return records?.get(n) ?? kernelRecord(r[1] as 'struct' | 'union', r[2]!);
  }
  // A kernel typedef (e.g. `atomic_t`, `dev_t`).
  const btf = kernelBtf();
  if (btf && /^[A-Za-z_][A-Za-z_0-9]*$/.test(n)) {
    const ids = btf.findIdsByName(n, 'typedef');
    if (ids.length) return fromBtf(btf, ids[0]!);
  }
  return undefined;
}

/** A C type spelled like tracefs does (`const char *`, `struct sk_buff *`, `u8`), or undefined. */
export function parseCType(spelling: string, records?: Map<string, CType>): CType | undefined {
  const m = /^(.*?)\s*((?:\*\s*)*)$/.exec(spelling.trim());
  if (!m) return undefined;
  let t = baseType(m[1]!, records);
  if (!t) return undefined;
  for (const _ of m[2]!.replace(/\s/g, '')) t = { c: 'ptr', to: t };
  return t;
}

/** Natural alignment of a type (records: their largest member's). */
export function ctypeAlign(t: CType): number {
  switch (t.c) {
    case 'int':
      return t.size;
    case 'ptr':
      return 8;
    case 'array':
      return ctypeAlign(t.elem);
    case 'record': {
      let a = 1;
      for (const f of t.fields()?.values() ?? []) a = Math.max(a, ctypeAlign(f.type));
      return a;
    }
    case 'void':
      return 1;
  }
}

/** Lay out a script-defined struct/union (C rules, no bitfields). */
export function layoutRecord(kind: 'struct' | 'union', name: string, members: { name: string; type: CType }[]): CType {
  const fields = new Map<string, CField>();
  let off = 0;
  let size = 0;
  let align = 1;
  for (const m of members) {
    const a = ctypeAlign(m.type);
    align = Math.max(align, a);
    const s = ctypeSize(m.type);
    if (kind === 'union') {
      fields.set(m.name, { name: m.name, offset: 0, type: m.type });
      size = Math.max(size, s);
    } else {
      off = Math.ceil(off / a) * a;
      fields.set(m.name, { name: m.name, offset: off, type: m.type });
      off += s;
      size = off;
    }
  }
  size = Math.ceil(size / align) * align;
  return { c: 'record', name: `${kind} ${name}`, size, fields: () => fields };
}

let enumConsts: Map<string, bigint> | undefined;

/** The value of a kernel BTF enumerator (`TASK_COMM_LEN`), or undefined (no such name, or no kernel BTF). */
export function kernelEnumValue(name: string): bigint | undefined {
  if (!enumConsts) {
    enumConsts = new Map();
    const btf = kernelBtf();
    if (btf) {
      for (let id = 1; id < btf.typeCount; id++) {
        const k = btf.kindNameOf(id);
        if (k !== 'enum' && k !== 'enum64') continue;
        const t = btf.typeById(id);
        if (t.kind !== 'enum' && t.kind !== 'enum64') continue;
        for (const v of t.values as { name: string; value: number | bigint }[]) if (!enumConsts.has(v.name)) enumConsts.set(v.name, BigInt(v.value));
      }
    }
  }
  return enumConsts.get(name);
}
