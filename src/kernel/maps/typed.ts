/**
 * Typed map views: keys and values as JS values through codecs, over any `BpfMap` (kernel or userspace).
 * Codecs for integers, byte strings and fixed structs are here; a BTF-driven codec (struct keys as plain
 * objects from the map's BTF) plugs in through the same `Codec` interface (see btf-codec.ts).
 */
import type { BpfMap } from '../../spec/map.js';

/** Turns a JS value into exactly `size` bytes and back. */
export interface Codec<T> {
  readonly size: number;
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

function intCodec(size: 1 | 2 | 4, signed: boolean): Codec<number> {
  return {
    size,
    encode(v) {
      const b = Buffer.alloc(size);
      if (size === 1) signed ? b.writeInt8(v) : b.writeUInt8(v);
      else if (size === 2) signed ? b.writeInt16LE(v) : b.writeUInt16LE(v);
      else signed ? b.writeInt32LE(v) : b.writeUInt32LE(v >>> 0);
      return b;
    },
    decode(b) {
      const x = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
      if (size === 1) return signed ? x.readInt8(0) : x.readUInt8(0);
      if (size === 2) return signed ? x.readInt16LE(0) : x.readUInt16LE(0);
      return signed ? x.readInt32LE(0) : x.readUInt32LE(0);
    },
  };
}

/** 64-bit integers as bigints (numbers are accepted when encoding). */
function int64Codec(signed: boolean): Codec<bigint> {
  return {
    size: 8,
    encode(v: bigint | number) {
      const b = Buffer.alloc(8);
      if (signed) b.writeBigInt64LE(BigInt.asIntN(64, BigInt(v)));
      else b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)));
      return b;
    },
    decode(b: Uint8Array) {
      const x = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
      return signed ? x.readBigInt64LE(0) : x.readBigUInt64LE(0);
    },
  } as Codec<bigint>;
}

/** Little-endian integer codecs (host order on x86-64/aarch64). */
export const codecs = {
  u8: intCodec(1, false),
  u16: intCodec(2, false),
  u32: intCodec(4, false),
  i32: intCodec(4, true),
  u64: int64Codec(false),
  i64: int64Codec(true),
  /** Raw bytes of a fixed size. */
  bytes(size: number): Codec<Uint8Array> {
    return { size, encode: (v) => v, decode: (b) => b };
  },
  /** A NUL-padded string of a fixed size. */
  string(size: number): Codec<string> {
    return {
      size,
      encode(v) {
        const b = Buffer.alloc(size);
        b.write(v.slice(0, size), 0);
        return b;
      },
      decode(b) {
        const z = b.indexOf(0);
        return Buffer.from(b.subarray(0, z < 0 ? b.length : z)).toString();
      },
    };
  },
  /** A C struct from (name, offset, codec) fields; `size` is the struct size (padding zero). */
  struct<T extends Record<string, unknown>>(size: number, fields: { name: keyof T & string; offset: number; codec: Codec<any> }[]): Codec<T> {
    return {
      size,
      encode(v) {
        const b = new Uint8Array(size);
        for (const f of fields) b.set(f.codec.encode(v[f.name]), f.offset);
        return b;
      },
      decode(b) {
        const o: Record<string, unknown> = {};
        for (const f of fields) o[f.name] = f.codec.decode(b.subarray(f.offset, f.offset + f.codec.size));
        return o as T;
      },
    };
  },
};

/** A map seen through key and value codecs. */
export class TypedMap<K, V> {
  constructor(
    readonly map: BpfMap,
    readonly key: Codec<K>,
    readonly value: Codec<V>,
  ) {}

  get(k: K): V | undefined {
    const v = this.map.lookup(this.key.encode(k));
    return v === undefined ? undefined : this.value.decode(v.subarray(0, this.value.size));
  }

  set(k: K, v: V, flags = 0): void {
    this.map.update(this.key.encode(k), this.value.encode(v), flags);
  }

  delete(k: K): boolean {
    return this.map.delete(this.key.encode(k));
  }

  *keys(): IterableIterator<K> {
    for (const k of this.map.keys()) yield this.key.decode(k);
  }

  *entries(): IterableIterator<[K, V]> {
    for (const [k, v] of this.map.entries()) yield [this.key.decode(k), this.value.decode(v.subarray(0, this.value.size))];
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }
}
