/**
 * Spelling BTF types as C: declarators (pointers, arrays, function pointers, qualifiers), struct/union/enum
 * bodies with bitfields, explicit padding and packed detection, and typedefs — the pieces `btf dump format c`
 * (cdump.ts) orders and emits. Follows the rules of libbpf's btf_dump.c so the output compiles with clang.
 *
 * Reads the raw type records (`RawTypes`) rather than decoded type objects and writes the text left to right into
 * a byte buffer (`TextSink`), names copied straight from the string table, so dumping a whole vmlinux allocates
 * little besides the output. The string-returning methods render into that buffer and cut their text back out.
 */
import { BtfError } from '../errors.js';
import { MAX_RESOLVE_DEPTH, type Btf } from './btf.js';
import { NameCounter, RawTypes } from './rawtypes.js';
import { TextSink } from './textsink.js';
import { BtfKind, KIND_NAMES, type BtfStruct, type BtfType, type BtfUnion } from './types.js';

/** Deepest declarator nesting accepted (anonymous types inside anonymous types, pointer chains...). */
const MAX_DECL_DEPTH = 256;

/** Options for `CWriter`. */
export interface CWriterOptions {
  /** Give later types that reuse a name a `___N` suffix, as bpftool does for whole-BTF dumps. */
  dedupNames?: boolean;
  /**
   * Fetch a decoded type for `CWriter.type` (defaults to `btf.typeById`). The C spelling itself reads the BTF's
   * raw records and does not call it.
   */
  get?: (id: number) => BtfType;
}

/** libbpf's padding types, widest first (`long` is pointer-sized). */
const PAD_NAMES = ['long', 'int', 'short', 'char'] as const;
const padBitsAt = (i: number, ptrBits: number): number => (i === 0 ? ptrBits : i === 1 ? 32 : i === 2 ? 16 : 8);
const roundup = (x: number, to: number): number => Math.ceil(x / to) * to;

const isQualifier = (k: number): boolean => k === BtfKind.VOLATILE || k === BtfKind.CONST || k === BtfKind.RESTRICT;

const SPACE = 0x20;
const STAR = 0x2a;
const NL = 0x0a;

/** Produces C text for types of one BTF; keeps the name-deduplication state of one dump. */
export class CWriter {
  /** @internal Where the text is written (a whole dump writes into it directly). */
  readonly sink = new TextSink(256);
  private readonly get: (id: number) => BtfType;
  private readonly dedup: boolean;
  private readonly r: RawTypes;
  /** How often each tag name (struct/union/enum) and each identifier (typedef, enumerator) was used (dedup mode). */
  private readonly typeNameCounts?: NameCounter;
  private readonly identNameCounts?: NameCounter;
  /** Dedup mode, by type id: 0 = name not resolved yet, 1 = written as is, n > 1 = written with `___n`. */
  private readonly suffix?: Int32Array;
  /** Declarator stack shared by nested declarations (each works above the length it found). */
  private readonly stack: number[] = [];

  constructor(
    readonly btf: Btf,
    opts: CWriterOptions = {},
  ) {
    this.get = opts.get ?? ((id) => btf.typeById(id));
    this.dedup = opts.dedupNames ?? false;
    this.r = RawTypes.of(btf);
    if (this.dedup) {
      const expected = Math.min(1 << 16, this.r.typeCount >> 2);
      this.typeNameCounts = new NameCounter(this.r, expected);
      this.identNameCounts = new NameCounter(this.r, expected);
      this.suffix = new Int32Array(this.r.typeCount);
    }
  }

  type(id: number): BtfType {
    return this.get(id);
  }

  private err(msg: string): BtfError {
    return new BtfError(msg, { section: this.btf.section });
  }

  // ---- names ----

  /** Append the (checked) string at `off` of the string table. */
  private nameTo(off: number): void {
    if (off === 0) return;
    const b = this.r.strs;
    let end = b.indexOf(0, off);
    if (end < 0) end = b.length;
    if (!this.sink.ascii(b, off, end)) this.sink.str(this.r.name(off));
  }

  /** Count `id`'s name (dedup mode) the first time it is used; returns its suffix number (1 = none). */
  private resolve(id: number, at: number, counts: NameCounter | undefined): number {
    const sfx = this.suffix;
    if (!sfx || !counts) return 1;
    const hit = sfx[id]!;
    if (hit) return hit;
    const w = this.r.words;
    const info = w[at + 1]!;
    const kind = (info >>> 24) & 0x1f;
    const n = kind === BtfKind.FWD || (kind === BtfKind.ENUM && (info & 0xffff) === 0) ? 1 : counts.add(w[at]!);
    sfx[id] = n;
    return n;
  }

  /** Append the (deduplicated) name of named type `id` (record at word `at`). */
  private typeNameTo(id: number, at: number, counts: NameCounter | undefined): void {
    const n = this.resolve(id, at, counts);
    this.nameTo(this.r.words[at]!);
    if (n > 1) this.sink.str(`___${n}`);
  }

  private resolveName(id: number, counts: NameCounter | undefined): string {
    if (id === 0) return '';
    const r = this.r;
    const at = r.rec(id);
    const off = r.words[at]!;
    if (r.isEmpty(off)) return '';
    const n = this.resolve(id, at, counts);
    return n > 1 ? `${r.name(off)}___${n}` : r.name(off);
  }

  /** The (deduplicated) tag name of a struct/union/enum/fwd. */
  typeName(id: number): string {
    return this.resolveName(id, this.typeNameCounts);
  }

  /** The (deduplicated) name of a typedef. */
  identName(id: number): string {
    return this.resolveName(id, this.identNameCounts);
  }

  /** Is the (checked) string at `off` exactly the ASCII text `s`? */
  private nameIs(off: number, s: string): boolean {
    const b = this.r.strs;
    for (let i = 0; i < s.length; i++) if (b[off + i] !== s.charCodeAt(i)) return false;
    return off + s.length >= b.length || b[off + s.length] === 0;
  }

  /** @internal Typedefs bpftool never writes (clang has the builtin). */
  isBlacklisted(id: number): boolean {
    if (id === 0) return false;
    return this.nameIs(this.r.words[this.r.rec(id)]!, '__builtin_va_list');
  }

  // ---- sizes and alignment ----

  /** Size of `id` in bytes, or 0 when it has none (libbpf's max(0, btf__resolve_size); as `Btf.trySizeOf`). */
  sizeOrZero(id: number): number {
    const r = this.r;
    const w = r.words;
    let mult = 1;
    for (let depth = 0; depth <= MAX_RESOLVE_DEPTH; depth++) {
      if (!(Number.isInteger(id) && id >= 0 && id < r.typeCount)) return 0;
      if (id === 0) return 0;
      const at = r.offs[id - 1]!;
      const k = (w[at + 1]! >>> 24) & 0x1f;
      switch (k) {
        case BtfKind.INT:
        case BtfKind.STRUCT:
        case BtfKind.UNION:
        case BtfKind.ENUM:
        case BtfKind.ENUM64:
        case BtfKind.DATASEC:
        case BtfKind.FLOAT:
        case BtfKind.PTR: {
          const total = mult * (k === BtfKind.PTR ? this.btf.pointerSize : w[at + 2]!);
          return total > 0xffffffff ? 0 : total;
        }
        case BtfKind.TYPEDEF:
        case BtfKind.VOLATILE:
        case BtfKind.CONST:
        case BtfKind.RESTRICT:
        case BtfKind.VAR:
        case BtfKind.DECL_TAG:
        case BtfKind.TYPE_TAG:
          id = w[at + 2]!;
          continue;
        case BtfKind.ARRAY: {
          const a = r.rec(id); // decoded (checked) here, as Btf.trySizeOf does
          mult *= w[a + 5]!;
          if (mult > 0xffffffff) return 0;
          id = w[a + 3]!;
          continue;
        }
        default:
          return 0;
      }
    }
    return 0;
  }

  /** Alignment of `id` (memoised), as libbpf's btf__align_of; 1 when undeterminable. */
  alignOf(id: number, depth = 0): number {
    const memo = this.r.alignMemo(this.btf.pointerSize);
    const hit = memo[id];
    if (hit) return hit - 1;
    if (depth > 64) throw this.err(`type chain too deep or looping at type id ${id}`);
    if (id === 0) return 1;
    const r = this.r;
    const w = r.words;
    const at = r.rec(id);
    const info = w[at + 1]!;
    let a: number;
    switch ((info >>> 24) & 0x1f) {
      case BtfKind.INT:
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
      case BtfKind.FLOAT:
        a = Math.max(1, Math.min(this.btf.pointerSize, w[at + 2]!));
        break;
      case BtfKind.PTR:
        a = this.btf.pointerSize;
        break;
      case BtfKind.TYPEDEF:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
        a = this.alignOf(w[at + 2]!, depth + 1);
        break;
      case BtfKind.ARRAY:
        a = this.alignOf(w[at + 3]!, depth + 1);
        break;
      case BtfKind.STRUCT:
      case BtfKind.UNION: {
        const vlen = info & 0xffff;
        const kflag = info >>> 31 === 1;
        let max = 1;
        a = 0;
        for (let i = 0, m = at + 3; i < vlen; i++, m += 3) {
          const ma = this.alignOf(w[m + 1]!, depth + 1);
          max = Math.max(max, ma);
          const o = w[m + 2]!;
          if ((!kflag || o >>> 24 === 0) && (kflag ? o & 0xffffff : o) % (8 * ma) !== 0) {
            a = 1;
            break;
          }
        }
        if (!a) a = w[at + 2]! % max !== 0 ? 1 : max;
        break;
      }
      default:
        a = 1;
    }
    if (a < 255) memo[id] = a + 1;
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

  /** `isPacked` on the raw record at word `at`. */
  private isPackedAt(at: number): boolean {
    const w = this.r.words;
    const info = w[at + 1]!;
    const vlen = info & 0xffff;
    const kflag = info >>> 31 === 1;
    let max = 1;
    for (let i = 0, m = at + 3; i < vlen; i++, m += 3) {
      const a = this.alignOf(w[m + 1]!);
      const o = w[m + 2]!;
      if (a && (!kflag || o >>> 24 === 0) && (kflag ? o & 0xffffff : o) % (8 * a) !== 0) return true;
      max = Math.max(a, max);
    }
    return w[at + 2]! % max !== 0;
  }

  // ---- string-returning API (renders into the sink, then cuts the text back out) ----

  private cut(start: number): string {
    const s = this.sink.text(start);
    this.sink.len = start;
    return s;
  }

  /**
   * A declaration of `fname` (may be '') with type `id`, spelled like libbpf's btf_dump: the chain of
   * pointers/qualifiers/arrays/prototypes down to a base type is stacked, then written base-first.
   */
  decl(id: number, fname: string, lvl: number, depth = 0): string {
    const start = this.sink.len;
    try {
      this.declTo(id, fname, 0, lvl, depth);
      return this.cut(start);
    } finally {
      this.sink.len = start;
    }
  }

  /** `struct name { ... }` (no trailing `;`) with explicit padding where natural alignment does not explain gaps. */
  structDef(id: number, lvl: number, depth = 0): string {
    const start = this.sink.len;
    try {
      this.structTo(id, lvl, depth);
      return this.cut(start);
    } finally {
      this.sink.len = start;
    }
  }

  /** `enum name { A = 1, ... }` with mode attributes for 1- and 8-byte enums (no trailing `;`). */
  enumDef(id: number, lvl: number): string {
    const start = this.sink.len;
    try {
      this.enumTo(id, lvl);
      return this.cut(start);
    } finally {
      this.sink.len = start;
    }
  }

  /** `typedef <decl>` (no trailing `;`). */
  typedefDef(id: number, lvl: number): string {
    const start = this.sink.len;
    try {
      this.typedefTo(id, lvl);
      return this.cut(start);
    } finally {
      this.sink.len = start;
    }
  }

  /** `struct name` / `union name` forward declaration (no trailing `;`). */
  fwdDef(id: number): string {
    const start = this.sink.len;
    try {
      this.fwdTo(id);
      return this.cut(start);
    } finally {
      this.sink.len = start;
    }
  }

  // ---- writers ----

  /**
   * @internal Write a declaration of type `id` named by `fname`, or when `foff` is not 0, by the string at offset `foff`
   * of the string table (struct members, parameters).
   */
  declTo(id: number, fname: string, foff: number, lvl: number, depth: number): void {
    if (depth > MAX_DECL_DEPTH) throw this.err(`type id ${id}: declarator too deep or looping`);
    const r = this.r;
    const w = r.words;
    const stack = this.stack;
    const base = stack.length;
    for (;;) {
      if (stack.length - base > MAX_DECL_DEPTH) {
        stack.length = base;
        throw this.err(`type id ${id}: declarator chain too long or looping`);
      }
      if (id === 0) {
        stack.push(0);
        break;
      }
      const at = r.rec(id);
      const kind = (w[at + 1]! >>> 24) & 0x1f;
      // Type tags are not written (as bpftool 7.x); the tagged type is.
      if (kind !== BtfKind.TYPE_TAG) stack.push(id);
      switch (kind) {
        case BtfKind.PTR:
        case BtfKind.VOLATILE:
        case BtfKind.CONST:
        case BtfKind.RESTRICT:
        case BtfKind.TYPE_TAG:
        case BtfKind.FUNC_PROTO:
          id = w[at + 2]!;
          continue;
        case BtfKind.ARRAY:
          id = w[at + 3]!;
          continue;
        case BtfKind.INT:
        case BtfKind.ENUM:
        case BtfKind.ENUM64:
        case BtfKind.FWD:
        case BtfKind.STRUCT:
        case BtfKind.UNION:
        case BtfKind.TYPEDEF:
        case BtfKind.FLOAT:
          break;
        default:
          stack.length = base;
          throw this.err(`type id ${id} (${KIND_NAMES[kind]}) cannot appear in a C declaration`);
      }
      break;
    }
    this.chainTo(base, fname, foff, lvl, depth);
  }

  /** Write the leading qualifiers that apply directly to the base type (`const char`), popping them. */
  private modsTo(base: number): void {
    const stack = this.stack;
    while (stack.length > base) {
      const k = this.r.kindOf(stack[stack.length - 1]!);
      if (!isQualifier(k)) break;
      this.sink.str(KIND_NAMES[k]!);
      this.sink.byte(SPACE);
      stack.pop();
    }
  }

  private dropMods(base: number): void {
    const stack = this.stack;
    while (stack.length > base && isQualifier(this.r.kindOf(stack[stack.length - 1]!))) stack.pop();
  }

  /** The declared name (after the declarator; a space unless it follows a `*`). */
  private declNameTo(fname: string, foff: number, lastWasPtr: boolean): void {
    if (foff !== 0) {
      if (this.r.strs[foff] === 0) return;
      if (!lastWasPtr) this.sink.byte(SPACE);
      this.nameTo(foff);
    } else if (fname) {
      if (!lastWasPtr) this.sink.byte(SPACE);
      this.sink.str(fname);
    }
  }

  /** Write the declarator stacked above `base` (consuming it), base type first. */
  private chainTo(base: number, fname: string, foff: number, lvl: number, depth: number): void {
    const r = this.r;
    const w = r.words;
    const stack = this.stack;
    const sink = this.sink;
    let lastWasPtr = true;
    while (stack.length > base) {
      const id = stack.pop()!;
      if (id === 0) {
        this.modsTo(base);
        sink.str('void');
        lastWasPtr = false;
        continue;
      }
      const at = r.offs[id - 1]!; // checked when stacked
      const info = w[at + 1]!;
      const kind = (info >>> 24) & 0x1f;
      switch (kind) {
        case BtfKind.INT:
        case BtfKind.FLOAT:
          this.modsTo(base);
          this.nameTo(w[at]!);
          break;
        case BtfKind.STRUCT:
        case BtfKind.UNION:
          this.modsTo(base);
          if (r.isEmpty(w[at]!)) this.structTo(id, lvl, depth + 1);
          else {
            sink.str(kind === BtfKind.STRUCT ? 'struct ' : 'union ');
            this.typeNameTo(id, at, this.typeNameCounts);
          }
          break;
        case BtfKind.ENUM:
        case BtfKind.ENUM64:
          this.modsTo(base);
          if (r.isEmpty(w[at]!)) this.enumTo(id, lvl);
          else {
            sink.str('enum ');
            this.typeNameTo(id, at, this.typeNameCounts);
          }
          break;
        case BtfKind.FWD:
          this.modsTo(base);
          sink.str(info >>> 31 === 1 ? 'union ' : 'struct ');
          this.typeNameTo(id, at, this.typeNameCounts);
          break;
        case BtfKind.TYPEDEF:
          this.modsTo(base);
          if (!r.isEmpty(w[at]!)) this.typeNameTo(id, at, this.identNameCounts);
          break;
        case BtfKind.PTR:
          if (!lastWasPtr) sink.byte(SPACE);
          sink.byte(STAR);
          break;
        case BtfKind.VOLATILE:
        case BtfKind.CONST:
        case BtfKind.RESTRICT:
          sink.byte(SPACE);
          sink.str(KIND_NAMES[kind]!);
          break;
        case BtfKind.ARRAY: {
          const nelems = w[at + 5]!;
          this.dropMods(base);
          if (stack.length === base) {
            this.declNameTo(fname, foff, lastWasPtr);
          } else {
            const multidim = r.kindOf(stack[stack.length - 1]!) === BtfKind.ARRAY;
            const named = foff !== 0 ? r.strs[foff] !== 0 : fname !== '';
            if (named && !lastWasPtr) sink.byte(SPACE);
            if (!multidim) sink.byte(0x28);
            this.chainTo(base, fname, foff, lvl, depth + 1);
            if (!multidim) sink.byte(0x29);
          }
          sink.str(`[${nelems}]`);
          return;
        }
        case BtfKind.FUNC_PROTO: {
          this.dropMods(base);
          if (stack.length > base) {
            sink.str(' (');
            this.chainTo(base, fname, foff, lvl, depth + 1);
            sink.byte(0x29);
          } else {
            this.declNameTo(fname, foff, lastWasPtr);
          }
          const n = info & 0xffff;
          const p0 = at + 3;
          if (n === 0 || (n === 1 && w[p0 + 1]! === 0)) {
            sink.str('(void)');
            return;
          }
          sink.byte(0x28);
          for (let i = 0, p = p0; i < n; i++, p += 2) {
            if (i) sink.str(', ');
            if (i === n - 1 && w[p + 1]! === 0) {
              sink.str('...');
              break;
            }
            this.declTo(w[p + 1]!, '', w[p]!, lvl, depth + 1);
          }
          sink.byte(0x29);
          return;
        }
        default:
          throw this.err(`type id ${id} (${KIND_NAMES[kind]}) cannot appear in a C declaration`);
      }
      lastWasPtr = kind === BtfKind.PTR;
    }
    this.declNameTo(fname, foff, lastWasPtr);
  }

  /** @internal Write `struct name { ... }` (see `structDef`). */
  structTo(id: number, lvl: number, depth: number): void {
    const r = this.r;
    const w = r.words;
    const sink = this.sink;
    const at = r.rec(id);
    const info = w[at + 1]!;
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kflag = info >>> 31 === 1;
    const size = w[at + 2]!;
    const isStruct = kind === BtfKind.STRUCT;
    const align = this.alignOf(id);
    const packed = isStruct ? this.isPackedAt(at) : false;
    sink.str(KIND_NAMES[kind]!);
    if (!r.isEmpty(w[at]!)) {
      sink.byte(SPACE);
      this.typeNameTo(id, at, this.typeNameCounts);
    }
    sink.str(' {');
    let off = 0;
    let prevBitfield = false;
    for (let i = 0, m = at + 3; i < vlen; i++, m += 3) {
      const mType = w[m + 1]!;
      const o = w[m + 2]!;
      const bitOffset = kflag ? o & 0xffffff : o;
      const bitfieldSize = kflag ? o >>> 24 : 0;
      const mAlign = packed ? 1 : this.alignOf(mType);
      const inBitfield = prevBitfield && bitfieldSize !== 0;
      if (off < bitOffset) this.paddingTo(off, bitOffset, mAlign, inBitfield, lvl + 1);
      sink.byte(NL);
      sink.tabs(lvl + 1);
      this.declTo(mType, '', w[m]!, lvl + 1, depth + 1);
      if (bitfieldSize) {
        sink.str(`: ${bitfieldSize};`);
        off = bitOffset + bitfieldSize;
        prevBitfield = true;
      } else {
        sink.byte(0x3b);
        off = bitOffset + this.sizeOrZero(mType) * 8;
        prevBitfield = false;
      }
    }
    if (isStruct && off < size * 8) this.paddingTo(off, size * 8, align, false, lvl + 1);
    if (vlen || size) {
      sink.byte(NL);
      sink.tabs(lvl);
    }
    sink.byte(0x7d);
    if (packed) sink.str(' __attribute__((packed))');
  }

  /** One `\n<tabs><type>: <bits>;` padding line. */
  private padLine(lvl: number, type: string, bits: number): void {
    this.sink.byte(NL);
    this.sink.tabs(lvl);
    this.sink.str(`${type}: ${bits};`);
  }

  /** libbpf's btf_dump_emit_bit_padding: fill [cur, next) bits with `long: N;`-style anonymous bitfields. */
  private paddingTo(cur: number, next: number, nextAlign: number, inBitfield: boolean, lvl: number): void {
    if (cur >= next) return;
    const ptrBits = this.btf.pointerSize * 8;
    let newOff = 0;
    let padBits = 0;
    let padType = '';
    for (let i = 0; i < 4; i++) {
      padBits = padBitsAt(i, ptrBits);
      padType = PAD_NAMES[i]!;
      newOff = roundup(cur, padBits);
      if (newOff <= next) break;
    }
    if (newOff > cur && newOff <= next) {
      if (
        inBitfield ||
        (newOff === next && roundup(cur, nextAlign * 8) !== newOff) ||
        (newOff !== next && next - newOff <= newOff - cur)
      ) {
        this.padLine(lvl, padType, inBitfield ? newOff - cur : 0);
      }
      cur = newOff;
    }
    // Implausible gaps (only malformed BTF has them) become one byte array instead of thousands of lines.
    if (next - cur > padBits * 1024) {
      const whole = Math.floor((next - cur) / 8);
      this.sink.byte(NL);
      this.sink.tabs(lvl);
      this.sink.str(`unsigned char __bpfkit_pad_${cur}[${whole}];`);
      cur += whole * 8;
    }
    while (cur !== next) {
      const bits = Math.min(next - cur, padBits);
      if (bits === padBits) {
        this.padLine(lvl, padType, padBits);
        cur += bits;
        continue;
      }
      for (let i = 3; i >= 0; i--) {
        if (padBitsAt(i, ptrBits) < bits) continue;
        this.padLine(lvl, PAD_NAMES[i]!, bits);
        cur += bits;
        break;
      }
    }
  }

  /** @internal Write `enum name { A = 1, ... }` (see `enumDef`). */
  enumTo(id: number, lvl: number): void {
    const r = this.r;
    const w = r.words;
    const sink = this.sink;
    const at = r.rec(id);
    const info = w[at + 1]!;
    const is64 = ((info >>> 24) & 0x1f) === BtfKind.ENUM64;
    const vlen = info & 0xffff;
    const signed = info >>> 31 === 1;
    const size = w[at + 2]!;
    sink.str('enum');
    if (!r.isEmpty(w[at]!)) {
      sink.byte(SPACE);
      this.typeNameTo(id, at, this.typeNameCounts);
    }
    if (!vlen) return;
    sink.str(' {');
    const step = is64 ? 3 : 2;
    let high = false;
    for (let i = 0, e = at + 3; i < vlen; i++, e += step) {
      const voff = w[e]!;
      const n = this.identNameCounts ? this.identNameCounts.add(voff) : 1;
      sink.byte(NL);
      sink.tabs(lvl + 1);
      this.nameTo(voff);
      if (n > 1) sink.str(`___${n}`);
      if (is64) {
        const hi = w[e + 2]!;
        if (hi !== 0) high = true;
        const raw = (BigInt(hi) << 32n) | BigInt(w[e + 1]!);
        sink.str(signed ? ` = ${BigInt.asIntN(64, raw)}LL,` : ` = ${raw}ULL,`);
      } else {
        sink.str(` = ${signed ? w[e + 1]! | 0 : w[e + 1]!},`);
      }
    }
    sink.byte(NL);
    sink.tabs(lvl);
    sink.byte(0x7d);
    if (size === 1) sink.str(' __attribute__((mode(byte)))');
    else if (size === 8 && this.btf.pointerSize === 8 && (!is64 || !high)) sink.str(' __attribute__((mode(word)))');
  }

  /** @internal Write `typedef <decl>` (see `typedefDef`). */
  typedefTo(id: number, lvl: number): void {
    const r = this.r;
    const at = id === 0 ? -1 : r.rec(id);
    if (at < 0 || ((r.words[at + 1]! >>> 24) & 0x1f) !== BtfKind.TYPEDEF) throw this.err(`type id ${id} is not a typedef`);
    const off = r.words[at]!;
    const target = r.words[at + 2]!;
    if (r.isEmpty(off)) {
      this.sink.str('typedef ');
      this.declTo(target, '', 0, lvl, 0);
      return;
    }
    const n = this.resolve(id, at, this.identNameCounts);
    if (target === 0 && n === 1 && this.nameIs(off, '__gnuc_va_list')) {
      this.sink.str('typedef __builtin_va_list __gnuc_va_list');
      return;
    }
    this.sink.str('typedef ');
    if (n === 1) this.declTo(target, '', off, lvl, 0);
    else this.declTo(target, `${r.name(off)}___${n}`, 0, lvl, 0);
  }

  /** @internal Write `struct name` / `union name` / `enum name` (see `fwdDef`). */
  fwdTo(id: number): void {
    const r = this.r;
    const at = id === 0 ? -1 : r.rec(id);
    const info = at < 0 ? 0 : r.words[at + 1]!;
    const kind = (info >>> 24) & 0x1f;
    if (kind === BtfKind.FWD) this.sink.str(info >>> 31 === 1 ? 'union ' : 'struct ');
    else if (kind === BtfKind.STRUCT) this.sink.str('struct ');
    else if (kind === BtfKind.UNION) this.sink.str('union ');
    else if (kind === BtfKind.ENUM || kind === BtfKind.ENUM64) this.sink.str('enum ');
    else throw this.err(`type id ${id} (${KIND_NAMES[kind]}) cannot be forward-declared`);
    if (!r.isEmpty(r.words[at]!)) this.typeNameTo(id, at, this.typeNameCounts);
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
