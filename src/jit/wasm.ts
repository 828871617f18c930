/**
 * A minimal WebAssembly binary writer: a byte buffer with LEB128 encoders, the opcodes the JIT emits, and the
 * assembly of a module (types, imports, functions, exports, code). No dependency; only what the eBPF JIT needs.
 */

const UTF8 = new TextEncoder();

/** Value types. */
export const I32 = 0x7f;
export const I64 = 0x7e;
/** Block type of a block producing nothing. */
export const VOID = 0x40;

/** Opcodes used by the JIT (single-byte ones; 0xfc-prefixed ones have their own emitters). */
export const W = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  br_table: 0x0e,
  return: 0x0f,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  i32_load: 0x28,
  i64_load: 0x29,
  i64_load8_s: 0x30,
  i64_load8_u: 0x31,
  i64_load16_s: 0x32,
  i64_load16_u: 0x33,
  i64_load32_s: 0x34,
  i64_load32_u: 0x35,
  i32_store: 0x36,
  i32_store8: 0x3a,
  i64_store: 0x37,
  i64_store8: 0x3c,
  i64_store16: 0x3d,
  i64_store32: 0x3e,
  i32_const: 0x41,
  i64_const: 0x42,
  i32_eqz: 0x45,
  i32_eq: 0x46,
  i32_ne: 0x47,
  i32_lt_s: 0x48,
  i32_lt_u: 0x49,
  i32_gt_s: 0x4a,
  i32_gt_u: 0x4b,
  i32_le_s: 0x4c,
  i32_le_u: 0x4d,
  i32_ge_s: 0x4e,
  i32_ge_u: 0x4f,
  i64_eqz: 0x50,
  i64_eq: 0x51,
  i64_ne: 0x52,
  i64_lt_s: 0x53,
  i64_lt_u: 0x54,
  i64_gt_s: 0x55,
  i64_gt_u: 0x56,
  i64_le_s: 0x57,
  i64_le_u: 0x58,
  i64_ge_s: 0x59,
  i64_ge_u: 0x5a,
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_mul: 0x6c,
  i32_div_s: 0x6d,
  i32_div_u: 0x6e,
  i32_rem_s: 0x6f,
  i32_rem_u: 0x70,
  i32_and: 0x71,
  i32_or: 0x72,
  i32_xor: 0x73,
  i32_shl: 0x74,
  i32_shr_s: 0x75,
  i32_shr_u: 0x76,
  i32_rotl: 0x77,
  i32_rotr: 0x78,
  i64_add: 0x7c,
  i64_sub: 0x7d,
  i64_mul: 0x7e,
  i64_div_s: 0x7f,
  i64_div_u: 0x80,
  i64_rem_s: 0x81,
  i64_rem_u: 0x82,
  i64_and: 0x83,
  i64_or: 0x84,
  i64_xor: 0x85,
  i64_shl: 0x86,
  i64_shr_s: 0x87,
  i64_shr_u: 0x88,
  i64_rotl: 0x89,
  i64_rotr: 0x8a,
  i32_wrap_i64: 0xa7,
  i64_extend_i32_s: 0xac,
  i64_extend_i32_u: 0xad,
  i32_extend8_s: 0xc0,
  i32_extend16_s: 0xc1,
  i64_extend8_s: 0xc2,
  i64_extend16_s: 0xc3,
  i64_extend32_s: 0xc4,
} as const;

/** A growable byte buffer with the LEB128 encodings of the binary format. */
export class Bytes {
  buf = new Uint8Array(256);
  len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  byte(b: number): this {
    this.room(1);
    this.buf[this.len++] = b;
    return this;
  }
  bytes(b: ArrayLike<number>): this {
    this.room(b.length);
    for (let i = 0; i < b.length; i++) this.buf[this.len++] = b[i]!;
    return this;
  }
  /** Unsigned LEB128 of a non-negative integer below 2^32. */
  u32(v: number): this {
    v >>>= 0;
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.byte(b);
    } while (v !== 0);
    return this;
  }
  /** Signed LEB128 of an int32. */
  s32(v: number): this {
    v |= 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
        this.byte(b);
        return this;
      }
      this.byte(b | 0x80);
    }
  }
  /** Signed LEB128 of a 64-bit value given as a bigint (any value; taken modulo 2^64 as signed). */
  s64(v: bigint): this {
    v = BigInt.asIntN(64, v);
    if (v >= -0x80000000n && v <= 0x7fffffffn) return this.s32(Number(v));
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
        this.byte(b);
        return this;
      }
      this.byte(b | 0x80);
    }
  }
  /** A length-prefixed vector of bytes. */
  vec(b: Bytes): this {
    this.u32(b.len);
    this.room(b.len);
    this.buf.set(b.buf.subarray(0, b.len), this.len);
    this.len += b.len;
    return this;
  }
  /** Append another buffer's bytes (no length prefix). */
  append(b: Bytes): this {
    this.room(b.len);
    this.buf.set(b.buf.subarray(0, b.len), this.len);
    this.len += b.len;
    return this;
  }
  name(s: string): this {
    const e = UTF8.encode(s);
    this.u32(e.length);
    return this.bytes(e);
  }
  result(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.len);
  }
}

/** A function signature. */
export interface FuncType {
  params: number[];
  results: number[];
}

/** A function body: its extra locals (after the parameters) and code (without the final `end`). */
export interface FuncBody {
  type: number;
  locals: number[];
  code: Bytes;
}

/** What a module is made of. Function indices: imports first, then `funcs` in order. */
export interface ModuleSpec {
  types: FuncType[];
  /** Imported functions: module "env", field name, type index. */
  imports: { name: string; type: number }[];
  /** Imported memory ("env"."mem") with this minimum number of 64 KiB pages. */
  memoryPages: number;
  funcs: FuncBody[];
  /** Exported functions: name → function index. */
  exports: { name: string; func: number }[];
}

function section(out: Bytes, id: number, body: Bytes): void {
  out.byte(id).vec(body);
}

/** Encode a module. */
export function encodeModule(m: ModuleSpec): Uint8Array {
  const out = new Bytes();
  out.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  const types = new Bytes().u32(m.types.length);
  for (const t of m.types) {
    types.byte(0x60).u32(t.params.length).bytes(t.params).u32(t.results.length).bytes(t.results);
  }
  section(out, 1, types);
  const imports = new Bytes().u32(m.imports.length + 1);
  imports.name('env').name('mem').byte(0x02).byte(0x00).u32(m.memoryPages);
  for (const im of m.imports) imports.name('env').name(im.name).byte(0x00).u32(im.type);
  section(out, 2, imports);
  const funcs = new Bytes().u32(m.funcs.length);
  for (const f of m.funcs) funcs.u32(f.type);
  section(out, 3, funcs);
  const exports = new Bytes().u32(m.exports.length);
  for (const e of m.exports) exports.name(e.name).byte(0x00).u32(e.func);
  section(out, 7, exports);
  const code = new Bytes().u32(m.funcs.length);
  for (const f of m.funcs) {
    const body = new Bytes();
    // Group consecutive locals of the same type.
    const groups: [number, number][] = [];
    for (const t of f.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    body.u32(groups.length);
    for (const [n, t] of groups) body.u32(n).byte(t);
    body.append(f.code);
    body.byte(W.end);
    code.vec(body);
  }
  section(out, 10, code);
  return out.result();
}
