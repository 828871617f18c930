/**
 * BTF-driven codecs for typed map views: a key or value type from a BTF blob (an object's, or the kernel's)
 * becomes a plain JS value — integers (u64/s64 as bigint), bools, enums (numbers), char arrays (strings),
 * arrays, structs and unions (objects by member name, bitfields included), pointers (bigint addresses).
 * Uses src/btf for the types; encoding writes every member at its BTF offset.
 */
import { Btf } from '../../btf/btf.js';
import { BtfError } from '../../errors.js';
import type { Codec } from './typed.js';

type Value = unknown;

/** A codec for BTF type `id` of `btf`. */
export function btfCodec<T = Value>(btf: Btf, id: number): Codec<T> {
  const size = btf.sizeOf(id);
  return {
    size,
    encode(v: T): Uint8Array {
      const out = Buffer.alloc(size);
      write(btf, id, out, 0, v);
      return out;
    },
    decode(bytes: Uint8Array): T {
      return read(btf, id, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0) as T;
    },
  };
}

function readInt(b: Buffer, off: number, size: number, signed: boolean): number | bigint {
  switch (size) {
    case 1:
      return signed ? b.readInt8(off) : b.readUInt8(off);
    case 2:
      return signed ? b.readInt16LE(off) : b.readUInt16LE(off);
    case 4:
      return signed ? b.readInt32LE(off) : b.readUInt32LE(off);
    case 8:
      return signed ? b.readBigInt64LE(off) : b.readBigUInt64LE(off);
  }
  // 16-byte integers and odd sizes: raw little-endian bigint.
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[off + i]!);
  return v;
}

function writeInt(b: Buffer, off: number, size: number, v: unknown): void {
  const n = BigInt.asUintN(size * 8, BigInt((v as number | bigint | boolean | undefined) === true ? 1 : (v as number | bigint | undefined) ?? 0));
  for (let i = 0; i < size; i++) b[off + i] = Number((n >> BigInt(8 * i)) & 0xffn);
}

function read(btf: Btf, id: number, b: Buffer, off: number): Value {
  const t = btf.resolveType(id);
  switch (t.kind) {
    case 'int':
      if (t.bool) return b[off] !== 0;
      return readInt(b, off, t.size, t.signed);
    case 'enum':
    case 'enum64':
      return readInt(b, off, t.size, false);
    case 'ptr':
      return b.readBigUInt64LE(off);
    case 'float':
      return t.size === 4 ? b.readFloatLE(off) : b.readDoubleLE(off);
    case 'array': {
      const elem = btf.resolveType(t.typeId);
      const es = btf.sizeOf(t.typeId);
      if (elem.kind === 'int' && elem.size === 1 && (elem.char || elem.name === 'char')) {
        const s = b.subarray(off, off + t.nelems);
        const z = s.indexOf(0);
        return s.subarray(0, z < 0 ? s.length : z).toString();
      }
      return Array.from({ length: t.nelems }, (_, i) => read(btf, t.typeId, b, off + i * es));
    }
    case 'struct':
    case 'union': {
      const o: Record<string, Value> = {};
      for (const m of t.members) {
        const mo = off + Math.floor(m.bitOffset / 8);
        if (m.bitfieldSize) {
          const word = BigInt(readInt(b, off + Math.floor(m.bitOffset / 64) * 8, Math.min(8, t.size - Math.floor(m.bitOffset / 64) * 8), false) as number | bigint);
          o[m.name] = Number((word >> BigInt(m.bitOffset % 64)) & ((1n << BigInt(m.bitfieldSize)) - 1n));
        } else if (m.name) o[m.name] = read(btf, m.typeId, b, mo);
        else Object.assign(o, read(btf, m.typeId, b, mo) as object);
      }
      return o;
    }
  }
  throw new BtfError(`cannot decode BTF ${t.kind} (type id ${id}) as a map key/value`);
}

function write(btf: Btf, id: number, b: Buffer, off: number, v: Value): void {
  const t = btf.resolveType(id);
  switch (t.kind) {
    case 'int':
    case 'enum':
    case 'enum64':
      return writeInt(b, off, t.size, v);
    case 'ptr':
      return writeInt(b, off, 8, v);
    case 'float':
      if (t.size === 4) b.writeFloatLE(Number(v ?? 0), off);
      else b.writeDoubleLE(Number(v ?? 0), off);
      return;
    case 'array': {
      const es = btf.sizeOf(t.typeId);
      if (typeof v === 'string') {
        b.write(v.slice(0, t.nelems), off);
        return;
      }
      const arr = (v as Value[] | undefined) ?? [];
      for (let i = 0; i < Math.min(arr.length, t.nelems); i++) write(btf, t.typeId, b, off + i * es, arr[i]);
      return;
    }
    case 'struct':
    case 'union': {
      const o = (v ?? {}) as Record<string, Value>;
      for (const m of t.members) {
        if (m.bitfieldSize) {
          const base = off + Math.floor(m.bitOffset / 64) * 8;
          const width = Math.min(8, t.size - Math.floor(m.bitOffset / 64) * 8);
          let word = BigInt(readInt(b, base, width, false) as number | bigint);
          const mask = ((1n << BigInt(m.bitfieldSize)) - 1n) << BigInt(m.bitOffset % 64);
          word = (word & ~mask) | ((BigInt(Number(o[m.name] ?? 0)) << BigInt(m.bitOffset % 64)) & mask);
          writeInt(b, base, width, word);
        } else if (m.name) {
          if (m.name in o) write(btf, m.typeId, b, off + m.bitOffset / 8, o[m.name]);
        } else write(btf, m.typeId, b, off + m.bitOffset / 8, o);
      }
      return;
    }
  }
  throw new BtfError(`cannot encode BTF ${t.kind} (type id ${id}) as a map key/value`);
}
