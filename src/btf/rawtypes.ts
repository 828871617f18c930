/**
 * Allocation-free reading of BTF type records for whole-BTF passes (the C writer and dumper): one word array and
 * one record-offset array indexed by type id across a split BTF and its bases, one byte array indexed by string
 * offset, and a once-per-type check that a record's references and string offsets are valid (the same checks as
 * `Btf.decode`, which is called to raise the very same `BtfError` when one fails).
 */
import { BtfError } from '../errors.js';
import type { Btf } from './btf.js';
import { decodeName } from './strings.js';
import { BtfKind } from './types.js';

/** One blob of a split chain: its id range and string-table size (what its own records may refer to). */
interface Blob {
  startId: number;
  typeCount: number;
  strLen: number;
}

const cache = new WeakMap<Btf, RawTypes>();

/** Node's Buffer has a native `latin1Slice` (what `toString('latin1', s, e)` calls, minus argument checks). */
type Latin1Buffer = Buffer & { latin1Slice?(start: number, end: number): string };
/** Buffer is Node's; elsewhere (a browser) names are decoded with `decodeName`. */
const HAS_BUFFER = typeof Buffer === 'function';
const HAS_LATIN1_SLICE = HAS_BUFFER && typeof (Buffer.prototype as Latin1Buffer).latin1Slice === 'function';

/** A read-only raw view of a BTF and its bases. Get one with `RawTypes.of(btf)` (cached per `Btf`). */
export class RawTypes {
  /** Host-order words of every type section of the chain (the blob's own array when it has no base). */
  readonly words: Uint32Array;
  /** Word index in `words` of the record of type `id`, at index `id - 1` (void has no record). */
  readonly offs: Uint32Array;
  /** Every string byte of the chain, indexed by string offset. */
  readonly strs: Uint8Array;
  /** Number of type ids including void: valid ids are 0 .. typeCount-1. */
  readonly typeCount: number;
  /** 1 once a type's record has been checked (index 0, void, stays 0: it has no record). */
  private readonly checked: Uint8Array;
  /** The chain, base first. */
  private readonly blobs: Blob[];
  /** Alignment + 1 by type id (0 = not computed) for pointer size `alignPtr`, shared by every C writer. */
  private aligns?: Uint8Array;
  private alignPtr = 0;
  /** `strs` as a Buffer (same memory), for native latin1 decoding of ASCII names. */
  private readonly strBuf: Latin1Buffer | undefined;

  private constructor(readonly btf: Btf) {
    const chain: Btf[] = [];
    for (let b: Btf | undefined = btf; b; b = b.base) chain.unshift(b);
    this.blobs = chain.map((b) => ({ startId: b.startId, typeCount: b.typeCount, strLen: b.strings.length }));
    if (chain.length === 1) {
      const raw = btf.rawTypeSection();
      this.words = raw.words;
      this.offs = raw.offsets;
      this.strs = btf.strings.bytes;
    } else {
      // Split BTF: concatenate (ids and string offsets of a split blob continue its base's).
      let nw = 0;
      let ns = 0;
      for (const b of chain) {
        nw += b.rawTypeSection().words.length;
        ns += b.strings.bytes.length;
      }
      const words = new Uint32Array(nw);
      const offs = new Uint32Array(btf.typeCount - 1);
      const strs = new Uint8Array(ns);
      let w = 0;
      let s = 0;
      for (const b of chain) {
        const raw = b.rawTypeSection();
        words.set(raw.words, w);
        for (let i = 0; i < raw.offsets.length; i++) offs[b.startId - 1 + i] = raw.offsets[i]! + w;
        w += raw.words.length;
        strs.set(b.strings.bytes, s);
        s += b.strings.bytes.length;
      }
      this.words = words;
      this.offs = offs;
      this.strs = strs;
    }
    this.strBuf = HAS_BUFFER ? (Buffer.from(this.strs.buffer, this.strs.byteOffset, this.strs.byteLength) as Latin1Buffer) : undefined;
    this.typeCount = btf.typeCount;
    this.checked = new Uint8Array(btf.typeCount);
  }

  /** The raw view of `btf` (built once per `Btf` object). */
  static of(btf: Btf): RawTypes {
    let r = cache.get(btf);
    if (!r) {
      r = new RawTypes(btf);
      cache.set(btf, r);
    }
    return r;
  }

  /**
   * Word index of the record of `id` (not 0), checking the record first if not done yet. Throws `BtfError` for
   * an id out of range or a record `Btf.decode` rejects.
   */
  rec(id: number): number {
    if (this.checked[id] !== 1) this.check(id);
    return this.offs[id - 1]!;
  }

  /** Check the record of `id` as `Btf.decode` does (ids, string offsets, linkage) without allocating. */
  check(id: number): void {
    if (!(Number.isInteger(id) && id > 0 && id < this.typeCount)) {
      this.btf.checkId(id);
      throw new BtfError(`type id ${id} (void) has no record`, { section: this.btf.section });
    }
    let bi = this.blobs.length - 1;
    while (id < this.blobs[bi]!.startId) bi--;
    const tc = this.blobs[bi]!.typeCount;
    const sl = this.blobs[bi]!.strLen;
    const w = this.words;
    const at = this.offs[id - 1]!;
    const info = w[at + 1]!;
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const x = at + 3;
    let ok = w[at]! < sl;
    switch (kind) {
      case BtfKind.PTR:
      case BtfKind.TYPEDEF:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
      case BtfKind.DECL_TAG:
        ok &&= w[at + 2]! < tc;
        break;
      case BtfKind.FUNC:
        ok &&= w[at + 2]! < tc && vlen < 3;
        break;
      case BtfKind.VAR:
        ok &&= w[at + 2]! < tc && w[x]! < 3;
        break;
      case BtfKind.ARRAY:
        ok &&= w[x]! < tc && w[x + 1]! < tc;
        break;
      case BtfKind.STRUCT:
      case BtfKind.UNION:
      case BtfKind.ENUM64:
        for (let i = 0, m = x; ok && i < vlen; i++, m += 3) ok = w[m]! < sl && (kind === BtfKind.ENUM64 || w[m + 1]! < tc);
        break;
      case BtfKind.ENUM:
        for (let i = 0, e = x; ok && i < vlen; i++, e += 2) ok = w[e]! < sl;
        break;
      case BtfKind.FUNC_PROTO:
        ok &&= w[at + 2]! < tc;
        for (let i = 0, p = x; ok && i < vlen; i++, p += 2) ok = w[p]! < sl && w[p + 1]! < tc;
        break;
      case BtfKind.DATASEC:
        for (let i = 0, v = x; ok && i < vlen; i++, v += 3) ok = w[v]! < tc;
        break;
      default:
        break;
    }
    if (!ok) {
      this.btf.decode(id); // throws the precise error
      throw new BtfError(`type id ${id} is malformed`, { section: this.btf.section });
    }
    this.checked[id] = 1;
  }

  /** The alignment memo (alignment + 1 by type id, 0 = unknown) for pointers of `pointerSize` bytes. */
  alignMemo(pointerSize: number): Uint8Array {
    if (!this.aligns) this.aligns = new Uint8Array(this.typeCount);
    else if (this.alignPtr !== pointerSize) this.aligns.fill(0);
    this.alignPtr = pointerSize;
    return this.aligns;
  }

  /** Kind number of `id` without checking its record (0 for void). `id` must be in range. */
  kindOf(id: number): number {
    return id === 0 ? 0 : (this.words[this.offs[id - 1]! + 1]! >>> 24) & 0x1f;
  }

  /** True when the string at `off` (a checked offset) is empty. */
  isEmpty(off: number): boolean {
    return off === 0 || this.strs[off] === 0;
  }

  /** The string at `off`, which must be a checked offset (decoded like `BtfStrings.get`). */
  name(off: number): string {
    if (off === 0) return '';
    const b = this.strs;
    let end = b.indexOf(0, off);
    if (end < 0) end = b.length;
    for (let i = off; i < end; i++) if (b[i]! >= 0x80) return decodeName(b, off, end);
    if (!this.strBuf) return decodeName(b, off, end);
    return HAS_LATIN1_SLICE ? this.strBuf.latin1Slice!(off, end) : this.strBuf.toString('latin1', off, end);
  }
}

/**
 * Counts occurrences of names given by string offset, comparing their bytes (so equal names at different offsets
 * of a table that is not deduplicated count together) without decoding them: open addressing in typed arrays.
 * Names with non-ASCII bytes are counted by their decoded text instead, exactly as a `Map<string, number>` would.
 */
export class NameCounter {
  /** Slots of 4 words: string offset + 1 (0 = free), the name's hash, its count, unused (one cache line: 4 slots). */
  private table: Int32Array;
  private used = 0;
  private readonly other = new Map<string, number>();

  /** `expected`: about how many distinct names will be counted (sizes the table; it grows as needed). */
  constructor(
    private readonly r: RawTypes,
    expected = 512,
  ) {
    let slots = 1024;
    while (slots < expected * 2 && slots < 1 << 24) slots *= 2;
    this.table = new Int32Array(slots * 4);
  }

  /** Count one more occurrence of the (checked) string at `off`; returns the new count. */
  add(off: number): number {
    const b = this.r.strs;
    let h = 0x811c9dc5;
    let end = off;
    for (let c = b[end]!; c !== 0 && end < b.length; c = b[++end]!) {
      if (c >= 0x80) return this.addOther(off);
      h = Math.imul(h ^ c, 0x01000193);
    }
    const len = end - off;
    const t = this.table;
    const mask = (t.length >> 2) - 1;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const i = slot << 2;
      const k = t[i]!;
      if (k === 0) {
        t[i] = off + 1;
        t[i + 1] = h;
        t[i + 2] = 1;
        if (++this.used * 2 > mask) this.grow();
        return 1;
      }
      if (k - 1 === off || (t[i + 1] === h && sameName(b, k - 1, off, len))) return ++t[i + 2]!;
    }
  }

  private addOther(off: number): number {
    const s = this.r.name(off);
    const n = (this.other.get(s) ?? 0) + 1;
    this.other.set(s, n);
    return n;
  }

  private grow(): void {
    const old = this.table;
    const t = (this.table = new Int32Array(old.length * 2));
    const mask = (t.length >> 2) - 1;
    for (let i = 0; i < old.length; i += 4) {
      if (old[i] === 0) continue;
      const h = old[i + 1]!;
      let slot = h & mask;
      while (t[slot << 2] !== 0) slot = (slot + 1) & mask;
      const j = slot << 2;
      t[j] = old[i]!;
      t[j + 1] = h;
      t[j + 2] = old[i + 2]!;
    }
  }
}

/** Is the NUL-terminated string at `a` the `len` bytes at `b` (which end at a NUL or the table's end)? */
function sameName(s: Uint8Array, a: number, b: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (s[a + i] !== s[b + i]) return false;
  return a + len >= s.length || s[a + len] === 0;
}
