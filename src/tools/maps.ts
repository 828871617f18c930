/**
 * Decoding the raw map entries a tracing script leaves (per-CPU values, bpftrace key layouts) into plain
 * numbers for the tools: totals of count()/sum() maps, log2/linear histogram buckets, and key fields.
 */
import type { RawEntry } from '../trace/output.js';
import { STRLEN } from '../trace/types.js';

const view = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** The u64 at `off` of a key or value. */
export const u64At = (b: Uint8Array, off = 0): bigint => view(b).readBigUInt64LE(off);
/** The s64 at `off` of a key or value. */
export const s64At = (b: Uint8Array, off = 0): bigint => view(b).readBigInt64LE(off);
/** The zero-terminated string (bpftrace's 64-byte string slot) at `off`. */
export function strAt(b: Uint8Array, off = 0): string {
  const s = b.subarray(off, off + STRLEN);
  const z = s.indexOf(0);
  return view(s.subarray(0, z < 0 ? s.length : z)).toString('latin1');
}

/** Sum over CPUs of the first u64 of an entry's values (count() and sum() maps). */
export function entryTotal(e: RawEntry): bigint {
  let s = 0n;
  for (const v of e.values) s += u64At(v);
  return BigInt.asUintN(64, s);
}

/** Signed total of a sum() map entry. */
export function entrySignedTotal(e: RawEntry): bigint {
  return BigInt.asIntN(64, entryTotal(e));
}

/**
 * Bucket counts of a hist()/lhist() map, all keys merged (the bucket index is the key's last u64):
 * index → count, dense from 0 to the highest bucket seen.
 */
export function histCounts(entries: RawEntry[]): bigint[] {
  const out: bigint[] = [];
  for (const e of entries) {
    const i = Number(u64At(e.key, e.key.length - 8));
    out[i] = (out[i] ?? 0n) + entryTotal(e);
  }
  return Array.from({ length: out.length }, (_, i) => out[i] ?? 0n);
}
