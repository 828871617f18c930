/**
 * Spelling BTF types as C: declarators (pointers, arrays, function pointers, qualifiers), struct/union/enum
 * bodies with bitfields, explicit padding and packed detection, and typedefs — the pieces `btf dump format c`
 * (cdump.ts) orders and emits. Follows the rules of libbpf's btf_dump.c so the output compiles with clang.
 */
import { BtfError } from '../errors.js';
import type { Btf } from './btf.js';
import type { BtfType, BtfStruct, BtfUnion, BtfEnum, BtfEnum64 } from './types.js';

/** Deepest declarator nesting accepted (anonymous types inside anonymous types, pointer chains...). */
const MAX_DECL_DEPTH = 256;

/** Options for `CWriter`. */
export interface CWriterOptions {
  /** Give later types that reuse a name a `___N` suffix, as bpftool does for whole-BTF dumps. */
  dedupNames?: boolean;
  /** Fetch a decoded type (defaults to `btf.typeById`). */
  get?: (id: number) => BtfType;
}

const tabs = (n: number) => '\t'.repeat(n);

/** Produces C text for types of one BTF; keeps the name-deduplication state of one dump. */
export class CWriter {
  private readonly get: (id: number) => BtfType;
  private readonly dedup: boolean;
  private readonly typeNameCounts = new Map<string, number>();
  private readonly identNameCounts = new Map<string, number>();
  private readonly resolved = new Map<number, string>();
  private readonly alignMemo = new Map<number, number>();

  constructor(
    readonly btf: Btf,
    opts: CWriterOptions = {},
  ) {
    this.get = opts.get ?? ((id) => btf.typeById(id));
    this.dedup = opts.dedupNames ?? false;
  }

  type(id: number): BtfType {
    return this.get(id);
  }

  private countName(map: Map<string, number>, name: string): number {
    const n = (map.get(name) ?? 0) + 1;
    map.set(name, n);
    return n;
  }

  private resolveName(id: number, map: Map<string, number>): string {
    const t = this.get(id);
    if (!t.name) return '';
    if (!this.dedup) return t.name;
    const hit = this.resolved.get(id);
    if (hit !== undefined) return hit;
    let name = t.name;
    if (!(t.kind === 'fwd' || (t.kind === 'enum' && t.values.length === 0))) {
      const n = this.countName(map, t.name);
      if (n > 1) name = `${t.name}___${n}`;
    }
    this.resolved.set(id, name);
    return name;
  }

  /** The (deduplicated) tag name of a struct/union/enum/fwd. */
  typeName(id: number): string {
    return this.resolveName(id, this.typeNameCounts);
  }

  /** The (deduplicated) name of a typedef. */
  identName(id: number): string {
    return this.resolveName(id, this.identNameCounts);
  }

  /** Size of `id` in bytes, or 0 when it has none (libbpf's max(0, btf__resolve_size)). */
  sizeOrZero(id: number): number {
    const s = this.btf.trySizeOf(id);
    return typeof s === 'number' ? s : 0;
  }

  /** Alignment of `id` (memoised), as libbpf's btf__align_of; 1 when undeterminable. */
  alignOf(id: number, depth = 0): number {
    const hit = this.alignMemo.get(id);
    if (hit !== undefined) return hit;
    if (depth > 64) throw new BtfError(`type chain too deep or looping at type id ${id}`, { section: this.btf.section });
    const t = this.get(id);
    let a: number;
    switch (t.kind) {
      case 'int':
      case 'enum':
      case 'enum64':
      case 'float':
        a = Math.max(1, Math.min(this.btf.pointerSize, t.size));
        break;
      case 'ptr':
        a = this.btf.pointerSize;
        break;
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
      case 'array':
        a = this.alignOf(t.typeId, depth + 1);
        break;
      case 'struct':
      case 'union': {
        let max = 1;
        a = 0;
        for (const m of t.members) {
          const ma = this.alignOf(m.typeId, depth + 1);
          max = Math.max(max, ma);
          if (m.bitfieldSize === 0 && m.bitOffset % (8 * ma) !== 0) {
            a = 1;
            break;
          }
        }
        if (!a) a = t.size % max !== 0 ? 1 : max;
        break;
      }
      default:
        a = 1;
    }
    this.alignMemo.set(id, a);
    return a;
  }

  /** libbpf's btf_is_struct_packed: a non-bitfield member is misaligned or the size is not a multiple. */
  isPacked(t: BtfStruct | BtfUnion): boolean {
    let max = 1;
    for (const m of t.members) {
      const a = this.alignOf(m.typeId);
      if (a && m.bitfieldSize === 0 && m.bitOffset % (8 * a) !== 0) return true;
      max = Math.max(a, max);
    }
    return t.size % max !== 0;
  }

  /**
   * A declaration of `fname` (may be '') with type `id`, spelled like libbpf's btf_dump: the chain of
   * pointers/qualifiers/arrays/prototypes down to a base type is stacked, then written base-first.
   */
  decl(id: number, fname: string, lvl: number, depth = 0): string {
    if (depth > MAX_DECL_DEPTH) throw new BtfError(`type id ${id}: declarator too deep or looping`, { section: this.btf.section });
    const stack: number[] = [];
    for (;;) {
      if (stack.length > MAX_DECL_DEPTH) throw new BtfError(`type id ${id}: declarator chain too long or looping`, { section: this.btf.section });
      const t = this.get(id);
      // Type tags are not written (as bpftool 7.x); the tagged type is.
      if (t.kind !== 'type_tag') stack.push(id);
      if (id === 0) break;
      switch (t.kind) {
        case 'ptr':
        case 'volatile':
        case 'const':
        case 'restrict':
        case 'type_tag':
        case 'array':
          id = t.typeId;
          continue;
        case 'func_proto':
          id = t.returnTypeId;
          continue;
        case 'int':
        case 'enum':
        case 'enum64':
        case 'fwd':
        case 'struct':
        case 'union':
        case 'typedef':
        case 'float':
          break;
        default:
          throw new BtfError(`type id ${id} (${t.kind}) cannot appear in a C declaration`, { section: this.btf.section });
      }
      break;
    }
    return this.chain(stack, fname, lvl, depth);
  }

  /** Leading qualifiers that apply directly to the base type (`const char`). */
  private mods(stack: number[]): string {
    let s = '';
    while (stack.length) {
      const k = this.get(stack[stack.length - 1]!).kind;
      if (k !== 'volatile' && k !== 'const' && k !== 'restrict') break;
      s += `${k} `;
      stack.pop();
    }
    return s;
  }

  private dropMods(stack: number[]): void {
    while (stack.length) {
      const k = this.get(stack[stack.length - 1]!).kind;
      if (k !== 'volatile' && k !== 'const' && k !== 'restrict') return;
      stack.pop();
    }
  }

  private chain(stack: number[], fname: string, lvl: number, depth: number): string {
    const name = (lastWasPtr: boolean) => (fname && !lastWasPtr ? ' ' : '') + fname;
    let out = '';
    let lastWasPtr = true;
    while (stack.length) {
      const id = stack.pop()!;
      if (id === 0) {
        out += this.mods(stack) + 'void';
        lastWasPtr = false;
        continue;
      }
      const t = this.get(id);
      switch (t.kind) {
        case 'int':
        case 'float':
          out += this.mods(stack) + t.name;
          break;
        case 'struct':
        case 'union':
          out += this.mods(stack) + (t.name ? `${t.kind} ${this.typeName(id)}` : this.structDef(id, lvl, depth + 1));
          break;
        case 'enum':
        case 'enum64':
          out += this.mods(stack) + (t.name ? `enum ${this.typeName(id)}` : this.enumDef(id, lvl));
          break;
        case 'fwd':
          out += this.mods(stack) + `${t.fwdKind} ${this.typeName(id)}`;
          break;
        case 'typedef':
          out += this.mods(stack) + this.identName(id);
          break;
        case 'ptr':
          out += lastWasPtr ? '*' : ' *';
          break;
        case 'volatile':
        case 'const':
        case 'restrict':
          out += ` ${t.kind}`;
          break;
        case 'array': {
          this.dropMods(stack);
          if (!stack.length) return out + name(lastWasPtr) + `[${t.nelems}]`;
          const multidim = this.get(stack[stack.length - 1]!).kind === 'array';
          if (fname && !lastWasPtr) out += ' ';
          const inner = this.chain(stack, fname, lvl, depth + 1);
          return out + (multidim ? inner : `(${inner})`) + `[${t.nelems}]`;
        }
        case 'func_proto': {
          this.dropMods(stack);
          out += stack.length ? ` (${this.chain(stack, fname, lvl, depth + 1)})` : name(lastWasPtr);
          const ps = t.params;
          if (ps.length === 0 || (ps.length === 1 && ps[0]!.typeId === 0)) return out + '(void)';
          const args: string[] = [];
          for (let i = 0; i < ps.length; i++) {
            if (i === ps.length - 1 && ps[i]!.typeId === 0) {
              args.push('...');
              break;
            }
            args.push(this.decl(ps[i]!.typeId, ps[i]!.name, lvl, depth + 1));
          }
          return out + `(${args.join(', ')})`;
        }
        default:
          throw new BtfError(`type id ${id} (${t.kind}) cannot appear in a C declaration`, { section: this.btf.section });
      }
      lastWasPtr = t.kind === 'ptr';
    }
    return out + name(lastWasPtr);
  }

  /** `struct name { ... }` (no trailing `;`) with explicit padding where natural alignment does not explain gaps. */
  structDef(id: number, lvl: number, depth = 0): string {
    const t = this.get(id) as BtfStruct | BtfUnion;
    const isStruct = t.kind === 'struct';
    const align = this.alignOf(id);
    const packed = isStruct ? this.isPacked(t) : false;
    const parts: string[] = [`${t.kind}${t.name ? ' ' : ''}${t.name ? this.typeName(id) : ''} {`];
    let off = 0;
    let prevBitfield = false;
    for (const m of t.members) {
      const mAlign = packed ? 1 : this.alignOf(m.typeId);
      const inBitfield = prevBitfield && m.bitfieldSize !== 0;
      this.padding(parts, off, m.bitOffset, mAlign, inBitfield, lvl + 1);
      let line = `\n${tabs(lvl + 1)}${this.decl(m.typeId, m.name, lvl + 1, depth + 1)}`;
      if (m.bitfieldSize) {
        line += `: ${m.bitfieldSize}`;
        off = m.bitOffset + m.bitfieldSize;
        prevBitfield = true;
      } else {
        off = m.bitOffset + this.sizeOrZero(m.typeId) * 8;
        prevBitfield = false;
      }
      parts.push(line + ';');
    }
    if (isStruct) this.padding(parts, off, t.size * 8, align, false, lvl + 1);
    if (t.members.length || t.size) parts.push(`\n${tabs(lvl)}}`);
    else parts.push('}');
    if (packed) parts.push(' __attribute__((packed))');
    return parts.join('');
  }

  /** libbpf's btf_dump_emit_bit_padding: fill [cur, next) bits with `long: N;`-style anonymous bitfields. */
  private padding(out: string[], cur: number, next: number, nextAlign: number, inBitfield: boolean, lvl: number): void {
    if (cur >= next) return;
    const ptrBits = this.btf.pointerSize * 8;
    const pads: [string, number][] = [
      ['long', ptrBits],
      ['int', 32],
      ['short', 16],
      ['char', 8],
    ];
    let newOff = 0;
    let padBits = 0;
    let padType = '';
    const roundup = (x: number, to: number) => Math.ceil(x / to) * to;
    for (const [name, bits] of pads) {
      padBits = bits;
      padType = name;
      newOff = roundup(cur, bits);
      if (newOff <= next) break;
    }
    if (newOff > cur && newOff <= next) {
      if (
        inBitfield ||
        (newOff === next && roundup(cur, nextAlign * 8) !== newOff) ||
        (newOff !== next && next - newOff <= newOff - cur)
      ) {
        out.push(`\n${tabs(lvl)}${padType}: ${inBitfield ? newOff - cur : 0};`);
      }
      cur = newOff;
    }
    // Implausible gaps (only malformed BTF has them) become one byte array instead of thousands of lines.
    if (next - cur > padBits * 1024) {
      const whole = Math.floor((next - cur) / 8);
      out.push(`\n${tabs(lvl)}unsigned char __bpfkit_pad_${cur}[${whole}];`);
      cur += whole * 8;
    }
    while (cur !== next) {
      const bits = Math.min(next - cur, padBits);
      if (bits === padBits) {
        out.push(`\n${tabs(lvl)}${padType}: ${padBits};`);
        cur += bits;
        continue;
      }
      for (let i = pads.length - 1; i >= 0; i--) {
        const [name, pb] = pads[i]!;
        if (pb < bits) continue;
        out.push(`\n${tabs(lvl)}${name}: ${bits};`);
        cur += bits;
        break;
      }
    }
  }

  /** `enum name { A = 1, ... }` with mode attributes for 1- and 8-byte enums (no trailing `;`). */
  enumDef(id: number, lvl: number): string {
    const t = this.get(id) as BtfEnum | BtfEnum64;
    let s = `enum${t.name ? ' ' : ''}${t.name ? this.typeName(id) : ''}`;
    if (!t.values.length) return s;
    s += ' {';
    for (const v of t.values) {
      const n = this.dedup ? this.countName(this.identNameCounts, v.name) : 1;
      const name = n > 1 ? `${v.name}___${n}` : v.name;
      const val = t.kind === 'enum64' ? `${v.value}${t.signed ? 'LL' : 'ULL'}` : String(v.value);
      s += `\n${tabs(lvl + 1)}${name} = ${val},`;
    }
    s += `\n${tabs(lvl)}}`;
    if (t.size === 1) s += ' __attribute__((mode(byte)))';
    else if (t.size === 8 && this.btf.pointerSize === 8) {
      const needsWord = t.kind === 'enum' || !(t as BtfEnum64).values.some((v) => BigInt.asUintN(64, v.value) >> 32n !== 0n);
      if (needsWord) s += ' __attribute__((mode(word)))';
    }
    return s;
  }

  /** `typedef <decl>` (no trailing `;`). */
  typedefDef(id: number, lvl: number): string {
    const t = this.get(id);
    if (t.kind !== 'typedef') throw new BtfError(`type id ${id} is not a typedef`, { section: this.btf.section });
    const name = this.identName(id);
    if (t.typeId === 0 && name === '__gnuc_va_list') return 'typedef __builtin_va_list __gnuc_va_list';
    return `typedef ${this.decl(t.typeId, name, lvl)}`;
  }

  /** `struct name` / `union name` forward declaration (no trailing `;`). */
  fwdDef(id: number): string {
    const t = this.get(id);
    if (t.kind === 'fwd') return `${t.fwdKind} ${this.typeName(id)}`;
    if (t.kind === 'struct' || t.kind === 'union') return `${t.kind} ${this.typeName(id)}`;
    if (t.kind === 'enum' || t.kind === 'enum64') return `enum ${this.typeName(id)}`;
    throw new BtfError(`type id ${id} (${t.kind}) cannot be forward-declared`, { section: this.btf.section });
  }
}

/**
 * The C spelling of type `id` as a declaration of `name` (abstract when `name` is empty). Named aggregates are
 * referred to by tag; a top-level anonymous struct/union/enum is written out in full.
 */
export function formatCDecl(btf: Btf, id: number, name = ''): string {
  btf.checkId(id);
  const w = new CWriter(btf);
  const t = btf.typeById(id);
  switch (t.kind) {
    case 'func':
    case 'var':
      return w.decl(t.typeId, name || t.name, 0);
    case 'decl_tag':
      return w.decl(t.typeId, name, 0);
    case 'datasec':
      return `/* DATASEC ${t.name} */`;
    default:
      return w.decl(id, name, 0);
  }
}
