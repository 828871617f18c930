/**
 * The typed bpf(2) call: attrs encoded from the one layout table (attr.ts) into zeroed, pre-allocated buffers
 * whose addresses are cached; failures become `KernelError` with the errno name and a hint.
 */
import { BpfCmd } from '../../isa/uapi.js';
import { addressOf, sys } from './ffi.js';
import { kernelError } from './errno.js';
import { COMMAND_LAYOUT, LAYOUTS, layoutEnd, type CommandName, type FieldOf, type FieldSpec, type LayoutName } from './attr.js';

/** What a field can be given: an integer, a pointer (buffer, or a string made NUL-terminated), or nothing. */
export type AttrValue = number | bigint | string | Uint8Array | ArrayBuffer | null | undefined | boolean;

/** The values of some fields of a layout. */
export type AttrValues<L extends LayoutName> = Partial<Record<FieldOf<L>, AttrValue>>;

/** A NUL-terminated copy of a string. */
export function cString(s: string): Buffer {
  const b = Buffer.alloc(Buffer.byteLength(s) + 1);
  b.write(s, 0);
  return b;
}

/** The text before the first NUL of a buffer the kernel filled (a log, a name); '' when it wrote no NUL. */
export function textBeforeNul(b: Buffer): string {
  return b.toString('utf8', 0, Math.max(0, b.indexOf(0)));
}

/**
 * A zeroed attr buffer for one layout, with its address cached. Pointer fields may be set from buffers; the
 * Attr keeps them referenced until `zero()` or the next `set` of that field, so the GC cannot free them mid-call.
 */
export class Attr<L extends LayoutName = LayoutName> {
  readonly layout: L;
  readonly buf: Buffer;
  readonly addr: bigint;
  readonly size: number;
  private readonly keep = new Map<string, unknown>();

  constructor(layout: L, size = Math.max(layoutEnd(layout), 8)) {
    this.layout = layout;
    this.size = size;
    this.buf = Buffer.alloc(size);
    this.addr = addressOf(this.buf);
  }

  private spec(field: FieldOf<L>): FieldSpec {
    const f = (LAYOUTS[this.layout].fields as Record<string, FieldSpec>)[field];
    if (!f) throw new Error(`internal: ${this.layout} has no field ${field}`);
    return f;
  }

  /** Set one field. Strings go to char arrays in place, or become pointers to NUL-terminated copies. */
  set(field: FieldOf<L>, value: AttrValue): this {
    if (value === undefined || value === null) return this;
    const [off, size] = this.spec(field);
    const b = this.buf;
    if (typeof value === 'boolean') value = value ? 1 : 0;
    if (typeof value === 'string') {
      if (size !== 8) {
        b.fill(0, off, off + size);
        b.write(value.slice(0, size - 1), off, size - 1);
        return this;
      }
      value = cString(value);
    }
    if (typeof value === 'object') {
      this.keep.set(field, value);
      value = value.byteLength === 0 && !(value instanceof ArrayBuffer) ? 0n : addressOf(value);
    }
    switch (size) {
      case 8:
        b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(value)), off);
        break;
      case 4:
        b.writeUInt32LE(Number(BigInt.asUintN(32, BigInt(value))), off);
        break;
      case 2:
        b.writeUInt16LE(Number(value) & 0xffff, off);
        break;
      case 1:
        b.writeUInt8(Number(value) & 0xff, off);
        break;
      default:
        throw new Error(`internal: cannot set ${size}-byte field ${field} from a number`);
    }
    return this;
  }

  /** Set several fields. */
  setAll(values: AttrValues<L>): this {
    for (const [k, v] of Object.entries(values)) this.set(k as FieldOf<L>, v as AttrValue);
    return this;
  }

  /** Read an integer field (u32 as number, u64 as bigint). */
  get(field: FieldOf<L>): number {
    const [off, size] = this.spec(field);
    if (size === 8) return Number(this.buf.readBigUInt64LE(off));
    if (size === 4) return this.buf.readUInt32LE(off);
    if (size === 2) return this.buf.readUInt16LE(off);
    return this.buf.readUInt8(off);
  }

  /** Read a u64 field exactly. */
  get64(field: FieldOf<L>): bigint {
    const [off] = this.spec(field);
    return this.buf.readBigUInt64LE(off);
  }

  /** Read a char-array field as a string. */
  getString(field: FieldOf<L>): string {
    const [off, size] = this.spec(field);
    const s = this.buf.subarray(off, off + size);
    const z = s.indexOf(0);
    return s.subarray(0, z < 0 ? size : z).toString();
  }

  /** Zero everything and drop references. */
  zero(): this {
    this.buf.fill(0);
    this.keep.clear();
    return this;
  }
}

const scratch = new Map<LayoutName, Attr>();

/** The shared scratch attr of a layout, zeroed. Valid until the next call using the same layout. */
export function scratchAttr<L extends LayoutName>(layout: L): Attr<L> {
  let a = scratch.get(layout) as Attr<L> | undefined;
  if (!a) {
    a = new Attr(layout);
    scratch.set(layout, a as unknown as Attr);
  }
  return a.zero();
}

/** Raw bpf(2): the result, or `-errno` on failure (errno read immediately after the call). */
export function bpfRaw(cmd: number, addr: bigint, size: number): number {
  const s = sys();
  const r = s.bpf(cmd, addr, size);
  if (r < 0) return -s.errno();
  return r;
}

/** Call bpf(2) with a prepared attr; throws `KernelError` on failure. */
export function bpfAttr(command: CommandName, attr: Attr, opts: { log?: string; detail?: string } = {}): number {
  const r = bpfRaw(BpfCmd[command], attr.addr, attr.size);
  if (r < 0) throw kernelError(command, -r, opts);
  return r;
}

/**
 * Call bpf(2) with the given fields (everything else zero). Returns the result (an fd or 0) and the attr the
 * kernel wrote back (the command's shared scratch: read outputs before the next call of that layout).
 * Throws `KernelError(command, errno)` on failure, with `detail` in the message when given.
 */
export function bpf<C extends CommandName>(
  command: C,
  values: AttrValues<(typeof COMMAND_LAYOUT)[C]>,
  opts: { detail?: string } = {},
): { ret: number; attr: Attr<(typeof COMMAND_LAYOUT)[C]> } {
  const attr = scratchAttr(COMMAND_LAYOUT[command]);
  attr.setAll(values);
  const r = bpfRaw(BpfCmd[command], attr.addr, attr.size);
  if (r < 0) throw kernelError(command, -r, opts);
  return { ret: r, attr };
}

/** Like `bpf()` but returns `-errno` instead of throwing. */
export function bpfTry<C extends CommandName>(
  command: C,
  values: AttrValues<(typeof COMMAND_LAYOUT)[C]>,
): { ret: number; attr: Attr<(typeof COMMAND_LAYOUT)[C]> } {
  const attr = scratchAttr(COMMAND_LAYOUT[command]);
  attr.setAll(values);
  return { ret: bpfRaw(BpfCmd[command], attr.addr, attr.size), attr };
}
