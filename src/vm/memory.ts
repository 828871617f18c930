/**
 * The VM's segmented address space: each region gets its own 4 GiB segment (high 32 bits of an address), so a
 * bounds check is one array index plus one compare. The interpreter reads the per-segment `DataView` tables
 * directly; helpers use the checked `Memory` methods.
 */
import { VmError } from '../errors.js';
import { SEGMENT_SHIFT, MAX_REGION_SEGMENT, type MapRegionOptions, type Memory, type Region, type RegionKind } from './api.js';

const EMPTY_VIEW = new DataView(new ArrayBuffer(0));

/** Describe an address for a fault message: `0x2_00000010`-style hex. */
export function formatAddr(addr: bigint): string {
  return '0x' + BigInt.asUintN(64, addr).toString(16);
}

/** `Memory` implementation used by `Vm`: segment tables plus a region record per segment. */
export class VmMemory implements Memory {
  /**
   * Readable view per segment (EMPTY for unmapped ones, so an unmapped segment fails the length check).
   * Indexed by segment id; mutated in place so the interpreter can keep a reference.
   * @internal
   */
  readonly rviews: DataView[] = [EMPTY_VIEW];
  /** Writable view per segment (EMPTY for read-only or unmapped segments). @internal */
  readonly wviews: DataView[] = [EMPTY_VIEW];
  /** Region record per segment. @internal */
  readonly regions: (Region | undefined)[] = [undefined];
  private readonly free: number[] = [];
  /** pc reported by faults raised through the checked methods (set by the interpreter before helper calls). */
  pc = -1;

  map(bytes: Uint8Array, opts: MapRegionOptions): bigint {
    let seg = this.free.pop();
    if (seg === undefined) {
      seg = this.rviews.length;
      if (seg > MAX_REGION_SEGMENT) throw new RangeError('VM address space exhausted (too many regions)');
      this.rviews.push(EMPTY_VIEW);
      this.wviews.push(EMPTY_VIEW);
      this.regions.push(undefined);
    }
    const base = BigInt(seg) << SEGMENT_SHIFT;
    const region: Region = { segment: seg, base, bytes, writable: opts.writable, kind: opts.kind, name: opts.name };
    this.install(seg, region);
    return base;
  }

  remap(base: bigint, bytes: Uint8Array): void {
    const r = this.regionAtBase(base, 'remap');
    this.install(r.segment, { ...r, bytes });
  }

  unmap(base: bigint): void {
    const r = this.regionAtBase(base, 'unmap');
    this.rviews[r.segment] = EMPTY_VIEW;
    this.wviews[r.segment] = EMPTY_VIEW;
    this.regions[r.segment] = undefined;
    this.free.push(r.segment);
  }

  regionOf(addr: bigint): Region | undefined {
    const seg = Number((addr >> SEGMENT_SHIFT) & 0xffffffffn);
    return seg < this.regions.length ? this.regions[seg] : undefined;
  }

  view(addr: bigint, len: number, write = false): Uint8Array {
    const r = this.check(addr, len, write);
    const off = Number(addr & 0xffffffffn);
    return r.bytes.subarray(off, off + len);
  }

  readCString(addr: bigint, max: number): Uint8Array {
    const r = this.check(addr, 1, false);
    const off = Number(addr & 0xffffffffn);
    const end = Math.min(r.bytes.length, off + max);
    for (let i = off; i < end; i++) if (r.bytes[i] === 0) return r.bytes.subarray(off, i);
    if (end - off >= max) return r.bytes.subarray(off, end);
    throw new VmError(this.pc, 'oob', `string at ${formatAddr(addr)} runs past the end of ${describe(r)}`);
  }

  load(addr: bigint, size: 1 | 2 | 4 | 8): bigint {
    const b = this.view(addr, size);
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    return v;
  }

  store(addr: bigint, size: 1 | 2 | 4 | 8, value: bigint | number): void {
    const b = this.view(addr, size, true);
    let v = BigInt.asUintN(64, BigInt(value));
    for (let i = 0; i < size; i++) {
      b[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }

  /** Build the fault for an access the fast path refused (segment `hi`, offset `lo`). @internal */
  fault(pc: number, hi: number, lo: number, size: number, write: boolean): VmError {
    const seg = hi >>> 0;
    const off = lo >>> 0;
    const addr = (BigInt(seg) << SEGMENT_SHIFT) | BigInt(off);
    const what = `${write ? 'write' : 'read'} of ${size} byte${size === 1 ? '' : 's'} at ${formatAddr(addr)}`;
    const r = seg < this.regions.length ? this.regions[seg] : undefined;
    const above = seg + 1 < this.regions.length ? this.regions[seg + 1] : undefined;
    if (!r && above && off >= 0x80000000) {
      return new VmError(pc, 'oob', `${what}: ${0x100000000 - off} byte(s) below the start of ${describe(above)}`);
    }
    if (seg === 0) return new VmError(pc, 'null', `${what}: null pointer (segment 0 is never mapped)`);
    if (!r) return new VmError(pc, 'oob', `${what}: no region is mapped there`);
    if (off + size > r.bytes.length) {
      return new VmError(pc, 'oob', `${what}: out of bounds of ${describe(r)} (offset ${off}, length ${r.bytes.length})`);
    }
    if (write && !r.writable) return new VmError(pc, 'perm', `${what}: ${describe(r)} is read-only`);
    return new VmError(pc, 'oob', `${what}: refused`);
  }

  private check(addr: bigint, len: number, write: boolean): Region {
    const seg = Number((addr >> SEGMENT_SHIFT) & 0xffffffffn);
    const off = Number(addr & 0xffffffffn);
    const r = seg < this.regions.length ? this.regions[seg] : undefined;
    if (!r || len < 0 || off + len > r.bytes.length || (write && !r.writable) || addr < 0n || addr >> 64n !== 0n) {
      throw this.fault(this.pc, seg | 0, off | 0, len, write);
    }
    return r;
  }

  private regionAtBase(base: bigint, op: string): Region {
    const r = this.regionOf(base);
    if (!r || r.base !== base) throw new RangeError(`${op}: ${formatAddr(base)} is not the base of a mapped region`);
    return r;
  }

  private install(seg: number, r: Region): void {
    const dv = new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
    this.rviews[seg] = dv;
    this.wviews[seg] = r.writable ? dv : EMPTY_VIEW;
    this.regions[seg] = r;
  }
}

function describe(r: Region): string {
  return `${r.kind} region${r.name ? ` '${r.name}'` : ''}`;
}

/** Kinds of region, for callers that enumerate them. */
export const REGION_KINDS: readonly RegionKind[] = ['stack', 'ctx', 'packet', 'map_value', 'rodata', 'mem', 'helper'];
