/**
 * BTF string sections: a reader over the raw NUL-separated bytes (split BTF continues the base's offsets) and a
 * deduplicating writer.
 */
import { BtfError } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });
const encoder = new TextEncoder();

/** Decode bytes [start, end) of `b`: a fast path for short ASCII names, UTF-8 otherwise. */
export function decodeName(b: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n === 0) return '';
  if (n <= 64) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (b[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      // String.fromCharCode on a small array beats TextDecoder for short strings.
      let s = '';
      for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
      return s;
    }
  }
  return utf8.decode(b.subarray(start, end));
}

/**
 * The string section of one BTF blob. Offsets of a split BTF continue after its base's section:
 * offsets below `base.length` are the base's strings.
 */
export class BtfStrings {
  /** Total size in bytes including the base's strings (the first offset past the end). */
  readonly length: number;
  /** Offset of this section's first byte (the base's length for split BTF, else 0). */
  readonly start: number;

  /** `bytes` must already have been checked to end in a NUL byte (or be empty). */
  constructor(
    readonly bytes: Uint8Array,
    readonly base?: BtfStrings,
  ) {
    this.start = base ? base.length : 0;
    this.length = this.start + bytes.length;
  }

  /** True when `off` names a string of this table (or its base). */
  has(off: number): boolean {
    return Number.isInteger(off) && off >= 0 && off < this.length;
  }

  /** The string at `off`. Throws `BtfError` for an offset outside the table. */
  get(off: number): string {
    if (off < this.start) {
      if (this.base) return this.base.get(off);
    }
    const local = off - this.start;
    if (!(local >= 0 && local < this.bytes.length)) {
      if (off === 0) return '';
      throw new BtfError(`string offset ${off} is outside the string section (${this.length} bytes)`, { section: '.BTF' });
    }
    const end = this.bytes.indexOf(0, local);
    return decodeName(this.bytes, local, end < 0 ? this.bytes.length : end);
  }

  /** Byte range [start, end) of the string at `off` in `bytesOf(off)`; used by the name index. */
  range(off: number): { bytes: Uint8Array; start: number; end: number } {
    if (off < this.start && this.base) return this.base.range(off);
    const local = off - this.start;
    if (!(local >= 0 && local < this.bytes.length)) {
      if (off === 0) return { bytes: this.bytes, start: 0, end: 0 };
      throw new BtfError(`string offset ${off} is outside the string section (${this.length} bytes)`, { section: '.BTF' });
    }
    const end = this.bytes.indexOf(0, local);
    return { bytes: this.bytes, start: local, end: end < 0 ? this.bytes.length : end };
  }

  /** Every (offset, string) of this section (not the base's), in order. */
  *entries(): IterableIterator<[number, string]> {
    let i = 0;
    const b = this.bytes;
    while (i < b.length) {
      let end = b.indexOf(0, i);
      if (end < 0) end = b.length;
      yield [this.start + i, decodeName(b, i, end)];
      i = end + 1;
    }
  }
}

/**
 * Builds a string section: interns strings (one copy each), optionally starting from an existing section whose
 * offsets are kept, and optionally continuing a base section (split BTF).
 */
export class StringTableBuilder {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;
  private readonly index = new Map<string, number>();
  private pendingScan?: Uint8Array;
  /** Offset of the first byte of this table (base length for split BTF). */
  readonly start: number;

  constructor(opts: { start?: number; initial?: Uint8Array } = {}) {
    this.start = opts.start ?? 0;
    if (opts.initial && opts.initial.length) {
      const init = opts.initial[opts.initial.length - 1] === 0 ? opts.initial : concat([opts.initial, new Uint8Array(1)]);
      this.chunks.push(init);
      this.size = init.length;
      this.pendingScan = init;
    } else {
      this.chunks.push(new Uint8Array(1));
      this.size = 1;
      this.index.set('', this.start);
    }
  }

  /** Offset of `s`, adding it if new. The empty string is offset 0 of a non-split table. */
  add(s: string): number {
    // Offset 0 is the empty string in every table (a split table's 0 is its base's empty string).
    if (s === '') return 0;
    if (this.pendingScan) this.scan();
    const hit = this.index.get(s);
    if (hit !== undefined) return hit;
    const bytes = encoder.encode(s);
    if (bytes.includes(0)) throw new BtfError(`string ${JSON.stringify(s)} contains a NUL byte`);
    const off = this.start + this.size;
    const chunk = new Uint8Array(bytes.length + 1);
    chunk.set(bytes);
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.index.set(s, off);
    return off;
  }

  /** Index the initial section lazily (first occurrence of each string wins). */
  private scan(): void {
    const b = this.pendingScan!;
    this.pendingScan = undefined;
    let i = 0;
    while (i < b.length) {
      let end = b.indexOf(0, i);
      if (end < 0) end = b.length;
      const s = decodeName(b, i, end);
      if (!this.index.has(s)) this.index.set(s, this.start + i);
      i = end + 1;
    }
  }

  /** Size in bytes so far. */
  get length(): number {
    return this.size;
  }

  /** The section bytes. */
  bytes(): Uint8Array {
    return concat(this.chunks, this.size);
  }
}

/** Concatenate byte arrays. */
export function concat(parts: readonly Uint8Array[], total?: number): Uint8Array {
  const n = total ?? parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
