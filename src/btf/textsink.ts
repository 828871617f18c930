/**
 * A growable UTF-8 byte buffer that generated C text is written into piece by piece (ASCII strings, bytes copied
 * straight from a BTF string table, tabs), so producing a large header creates almost no JavaScript strings.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Node's Buffer decodes faster; elsewhere (a browser) TextDecoder does it. */
const HAS_BUFFER = typeof Buffer === 'function';

/** Append-only UTF-8 text in a byte buffer; `len` may be wound back to drop what was written after a mark. */
export class TextSink {
  /** The bytes; valid up to `len`. Replaced by a larger buffer as needed. */
  buf: Uint8Array;
  private view: Buffer | undefined;
  len = 0;

  constructor(capacity = 4096) {
    this.buf = new Uint8Array(Math.max(16, capacity));
    this.view = HAS_BUFFER ? Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength) : undefined;
  }

  /** Make room for `n` more bytes. */
  room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = HAS_BUFFER ? Buffer.from(next.buffer, next.byteOffset, next.byteLength) : undefined;
  }

  /** Append a string (ASCII copied directly, anything else UTF-8 encoded). */
  str(s: string): void {
    const n = s.length;
    this.room(n);
    const b = this.buf;
    let l = this.len;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.len = l;
        this.utf8(s.slice(i));
        return;
      }
      b[l++] = c;
    }
    this.len = l;
  }

  private utf8(s: string): void {
    this.room(s.length * 3);
    this.len += encoder.encodeInto(s, this.buf.subarray(this.len)).written;
  }

  /** Append one byte (an ASCII character code). */
  byte(c: number): void {
    if (this.len === this.buf.length) this.room(1);
    this.buf[this.len++] = c;
  }

  /** Append `n` tab characters. */
  tabs(n: number): void {
    this.room(n);
    const b = this.buf;
    for (let i = 0; i < n; i++) b[this.len++] = 9;
  }

  /**
   * Append the ASCII bytes `src[start, end)`; returns false (appending nothing) if one of them is not ASCII,
   * leaving the caller to decode and append the text itself.
   */
  ascii(src: Uint8Array, start: number, end: number): boolean {
    this.room(end - start);
    const b = this.buf;
    let l = this.len;
    for (let i = start; i < end; i++) {
      const c = src[i]!;
      if (c >= 0x80) return false;
      b[l++] = c;
    }
    this.len = l;
    return true;
  }

  /** The text from byte `start` to the end. */
  text(start = 0): string {
    return this.view ? this.view.toString('utf8', start, this.len) : decoder.decode(this.buf.subarray(start, this.len));
  }

  /** A copy of the bytes from `start` to the end. */
  bytes(start = 0): Uint8Array {
    return this.buf.slice(start, this.len);
  }
}
