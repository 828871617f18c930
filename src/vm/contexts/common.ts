/**
 * Shared pieces of the context builders: what a prepared context looks like, and writing / reading named
 * fields of a context struct through its layout table.
 */
import { UsageError } from '../../errors.js';
import type { CtxLayout } from './layouts.js';
import type { PacketBuffer } from './packet.js';

/** Context field values by name; arrays for array fields (`cb: [1, 2, 3, 4, 5]`). */
export type CtxValues = Record<string, number | bigint | readonly (number | bigint)[]>;

/** What a builder returns: r1 for the program, and how to collect the results. */
export interface PreparedContext {
  /** The context address (or the value r1 gets). */
  r1: bigint;
  layout?: CtxLayout;
  /** The ctx region's bytes. */
  ctxBytes?: Uint8Array;
  packet?: PacketBuffer;
  /** Results after the run: output packet (and XDP metadata), context fields. */
  finish(): { packet?: Uint8Array; meta?: Uint8Array; ctx?: CtxValues };
  /** Unmap the regions of this run. */
  release(): void;
}

function put(dv: DataView, off: number, size: number, v: number | bigint): void {
  const b = BigInt.asUintN(size * 8, BigInt(v));
  if (size === 8) dv.setBigUint64(off, b, true);
  else if (size === 4) dv.setUint32(off, Number(b), true);
  else if (size === 2) dv.setUint16(off, Number(b), true);
  else dv.setUint8(off, Number(b));
}

/** Write named values into a context buffer (unknown names are a UsageError). */
export function writeCtxFields(layout: CtxLayout, bytes: Uint8Array, values: CtxValues): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const [name, v] of Object.entries(values)) {
    const fl = layout.fields.find((f) => f.name === name);
    if (!fl) throw new UsageError(`${layout.name} has no field ${name}`);
    if (Array.isArray(v)) {
      const elem = fl.elem ?? fl.size;
      if (v.length * elem > fl.size) throw new UsageError(`${layout.name}.${name} holds ${fl.size / elem} elements, got ${v.length}`);
      v.forEach((x, i) => put(dv, fl.offset + i * elem, elem, x));
    } else put(dv, fl.offset, fl.elem ?? fl.size, v as number | bigint);
  }
}

/** Read every field of a context buffer by name (pointer fields omitted). */
export function readCtxFields(layout: CtxLayout, bytes: Uint8Array): CtxValues {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: CtxValues = {};
  for (const fl of layout.fields) {
    if (fl.pointer) continue;
    const get = (off: number, size: number): number | bigint =>
      size === 8 ? dv.getBigUint64(off, true) : size === 4 ? dv.getUint32(off, true) : size === 2 ? dv.getUint16(off, true) : dv.getUint8(off);
    if (fl.elem && fl.elem < fl.size) {
      const arr: (number | bigint)[] = [];
      for (let o = 0; o < fl.size; o += fl.elem) arr.push(get(fl.offset + o, fl.elem));
      out[fl.name] = arr;
    } else out[fl.name] = get(fl.offset, fl.size);
  }
  return out;
}
