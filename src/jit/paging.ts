/**
 * The JIT's view of a `VmMemory`: one WebAssembly memory per VmMemory, shared by all JIT programs running in it.
 *
 * Stacks of JIT programs live in the Wasm memory (their regions are re-pointed at views of it, so helpers see the
 * same bytes). Every other region is paged in on first access: copied into the paging area and entered in the
 * segment table (writable regions with their writable length too). Generated code sets an entry's dirty flag when
 * it writes (or may write) the copy; whenever control leaves generated code for JavaScript (helper call, end of
 * run, fault) the regions flagged dirty are copied back to their `Uint8Array`s (a run that only reads a packet
 * copies nothing back); whenever it comes back from JavaScript the table is invalidated (JavaScript may
 * have changed, remapped or unmapped any region). Regions beyond the table or that do not fit go through an
 * 8-byte bounce buffer, written back at the next exit or miss. Faults are raised by `VmMemory.fault`, so they
 * are the interpreter's, pc included.
 */
import type { Region } from '../vm/api.js';
import type { VmMemory } from '../vm/memory.js';
import { ARG_WINDOW, ARG_WINDOW_SIZE, BOUNCE, DIRTY, ENTRY, HEAP, INITIAL_PAGES, MAX_MEMORY, TABLE, TABLE_CAP } from './layout.js';

/** Largest region paged in ahead of time (run arguments) or re-copied after a helper call. */
const PREFETCH_MAX = ARG_WINDOW_SIZE;

/** Int32 index of the table entry of a segment. */
const entryOf = (seg: number) => (TABLE + seg * ENTRY) >> 2;
/** Int32 index of the dirty flag, relative to `entryOf`. */
const FLAG = DIRTY >> 2;

/** Per-VmMemory JIT state. @internal */
export class JitMemory {
  readonly wasm: WebAssembly.Memory;
  u8!: Uint8Array;
  i32!: Int32Array;
  u64!: BigUint64Array;
  i64!: BigInt64Array;
  /** End of the stack area = start of the paging area. */
  private pageStart = HEAP + ARG_WINDOW_SIZE;
  private bump = HEAP + ARG_WINDOW_SIZE;
  /** Paged-in (non-stack) segments and their regions. */
  private readonly present: number[] = [];
  /** Their regions (same indices). */
  private readonly presentRegion: Region[] = [];
  /** Entries of `present` in use (the arrays are reused, not shrunk). */
  private nPresent = 0;
  private bounce: { region: Region; off: number; size: number } | undefined;
  /** Stack regions living in the Wasm memory: segment and linear address. */
  private readonly stacks: { seg: number; lin: number; size: number }[] = [];
  /** Helpers currently running (the memory is not grown while one may hold views of it). */
  helperDepth = 0;
  /** Runs in progress on this memory (for nested runs from helpers). */
  active = 0;
  /** The engine whose frames the stack table (layout.ts STACK_R10, STACK_LIN) holds. */
  stackOwner: unknown = undefined;

  constructor(readonly mem: VmMemory) {
    this.wasm = new WebAssembly.Memory({ initial: INITIAL_PAGES });
    this.views();
  }

  private views(): void {
    const b = this.wasm.buffer;
    this.u8 = new Uint8Array(b);
    this.i32 = new Int32Array(b);
    this.u64 = new BigUint64Array(b);
    this.i64 = new BigInt64Array(b);
  }

  /** Move `count` stack regions (given by segment) into the Wasm memory; returns their linear addresses. */
  adoptStacks(segs: readonly number[], size: number): number[] {
    this.flush();
    this.invalidate();
    const lins: number[] = [];
    this.ensure(this.pageStart + segs.length * size);
    for (const seg of segs) {
      const lin = this.pageStart;
      this.pageStart += size;
      this.stacks.push({ seg, lin, size });
      lins.push(lin);
      if (seg < TABLE_CAP - 1) {
        const e = entryOf(seg);
        const t = this.i32;
        t[e] = t[e + 2] = size;
        t[e + 1] = t[e + 3] = seg;
        t[e + 4] = lin;
      }
    }
    this.bump = this.pageStart;
    this.remapStacks();
    return lins;
  }

  private remapStacks(): void {
    for (const s of this.stacks) {
      const r = this.mem.regions[s.seg]!;
      this.mem.remap(r.base, new Uint8Array(this.wasm.buffer, s.lin, s.size));
    }
  }

  /** Make the memory at least `bytes` long. Returns false when it cannot grow (limit). */
  private ensure(bytes: number): boolean {
    const have = this.wasm.buffer.byteLength;
    if (bytes <= have) return true;
    if (bytes > MAX_MEMORY) return false;
    const want = Math.min(MAX_MEMORY, Math.max(bytes, have * 2));
    this.wasm.grow(Math.ceil((want - have) / 65536));
    this.views();
    this.remapStacks();
    return true;
  }

  /** Linear address for `len` bytes in the paging area, or -1. */
  private alloc(len: number): number {
    const need = (len + 7) & ~7;
    if (this.bump + need <= this.u8.length) {
      const a = this.bump;
      this.bump += need;
      return a;
    }
    if (this.helperDepth === 0 && this.ensure(this.bump + need)) return this.alloc(len);
    // Evict everything paged in (safe at any miss: generated code keeps no linear address across accesses).
    this.flush();
    this.invalidate();
    if (this.bump + need <= this.u8.length) {
      const a = this.bump;
      this.bump += need;
      return a;
    }
    return -1;
  }

  /**
   * The `miss` import: an access the table refused. Faults (after writing dirty regions back), or pages the
   * region in and returns the linear address of the access.
   */
  miss(hi: number, lo: number, size: number, write: number, pc: number): number {
    if (this.bounce) this.flushBounce();
    const seg = hi >>> 0;
    const off = lo >>> 0;
    const mem = this.mem;
    const r = seg < mem.regions.length ? mem.regions[seg] : undefined;
    if (!r || off + size > r.bytes.length || (write && !r.writable)) {
      this.flush();
      throw mem.fault(pc, hi, lo, size, write !== 0);
    }
    if (seg < TABLE_CAP - 1) {
      const e = entryOf(seg);
      if (this.i32[e + 1] === 0) {
        // Absent (a present entry's read end has the segment, >= 1, in its high word).
        const lin = this.alloc(r.bytes.length);
        if (lin >= 0) {
          this.u8.set(r.bytes, lin);
          this.enter(seg, r, lin);
        }
      }
      const t = this.i32;
      if (t[e + 1] !== 0) {
        if (write) t[e + FLAG] = 1;
        return t[e + 4]! + off;
      }
    }
    // Bounce buffer: copy the bytes, remember to write them back.
    this.u8.set(r.bytes.subarray(off, off + size), BOUNCE);
    if (write) this.bounce = { region: r, off, size };
    return BOUNCE;
  }

  /** Enter a paged-in copy of `r` (segment `seg`) in the table, clean; writable regions with their write end. */
  private enter(seg: number, r: Region, lin: number): void {
    const t = this.i32;
    const e = entryOf(seg);
    t[e] = r.bytes.length;
    t[e + 1] = seg;
    t[e + 4] = lin;
    t[e + FLAG] = 0;
    if (r.writable) {
      t[e + 2] = r.bytes.length;
      t[e + 3] = seg;
    } else t[e + 2] = t[e + 3] = 0;
    this.present[this.nPresent] = seg;
    this.presentRegion[this.nPresent++] = r;
  }

  /**
   * Page in the region of segment `seg` ahead of time (run arguments: the context or packet the program will
   * read), so the generated code does not start with a miss. Only regions up to PREFETCH_MAX bytes. With
   * `window`, into the argument window (layout.ts ARG_WINDOW; call right after `invalidate`, once per run).
   */
  prefetch(seg: number, window = false): void {
    seg >>>= 0;
    if (seg === 0 || seg >= TABLE_CAP - 1 || seg >= this.mem.regions.length) return;
    if (this.i32[entryOf(seg) + 1] !== 0) return;
    const r = this.mem.regions[seg];
    if (!r || r.bytes.length === 0 || r.bytes.length > PREFETCH_MAX) return;
    const lin = window ? ARG_WINDOW : this.alloc(r.bytes.length);
    if (lin < 0) return;
    this.u8.set(r.bytes, lin);
    this.enter(seg, r, lin);
  }

  /**
   * Page in the regions a small paged-in region points into (8-byte aligned values that are addresses inside a
   * mapped region): a context's data / data_end pointers, so that a program reading its packet through them does
   * not start with a miss. Only a guess, and harmless when wrong: paging in is invisible but for the copy.
   */
  prefetchPointees(seg: number, max = 4): void {
    seg >>>= 0;
    if (seg === 0 || seg >= TABLE_CAP - 1) return;
    const e = entryOf(seg);
    const t = this.i32;
    if (t[e + 1] === 0) return;
    const len = t[e]!;
    if (len > 256) return;
    const lin = t[e + 4]!;
    if (lin & 3) return;
    const regions = this.mem.regions;
    for (let k = 0; k + 8 <= len && max > 0; k += 8) {
      const hi = t[(lin + k + 4) >> 2]! >>> 0;
      if (hi === 0 || hi === seg || hi >= regions.length) continue;
      const r = regions[hi];
      if (r && (t[(lin + k) >> 2]! >>> 0) <= r.bytes.length && t[entryOf(hi) + 1] === 0) {
        this.prefetch(hi);
        max--;
      }
    }
  }

  /**
   * After JavaScript ran (a helper): re-copy the small paged-in regions JavaScript may have changed and keep them
   * in the table (clean); forget the others and any remapped or unmapped region. Dirty regions must have been
   * flushed before JavaScript ran.
   */
  refresh(): void {
    this.flush();
    const n = this.nPresent;
    if (n === 0) return;
    const t = this.i32;
    const regions = this.mem.regions;
    const p = this.present;
    const pr = this.presentRegion;
    this.nPresent = 0;
    for (let k = 0; k < n; k++) {
      const seg = p[k]!;
      const r = pr[k]!;
      const e = entryOf(seg);
      const lin = t[e + 4]!;
      t[e] = t[e + 1] = t[e + 2] = t[e + 3] = 0;
      if (regions[seg] === r && r.bytes.length <= PREFETCH_MAX) {
        this.u8.set(r.bytes, lin);
        this.enter(seg, r, lin);
      }
    }
  }

  private flushBounce(): void {
    const b = this.bounce!;
    this.bounce = undefined;
    b.region.bytes.set(this.u8.subarray(BOUNCE, BOUNCE + b.size), b.off);
  }

  /** Copy regions written by generated code back to their arrays (call before JavaScript looks at memory). */
  flush(): void {
    if (this.bounce) this.flushBounce();
    const p = this.present;
    const t = this.i32;
    for (let k = 0; k < this.nPresent; k++) {
      const e = entryOf(p[k]!);
      if (t[e + FLAG] === 0) continue;
      t[e + FLAG] = 0;
      const r = this.presentRegion[k]!;
      const lin = t[e + 4]!;
      r.bytes.set(this.u8.subarray(lin, lin + r.bytes.length));
    }
  }

  /** Forget every paged-in region (call when JavaScript may have changed memory). Flushes first. */
  invalidate(): void {
    this.flush();
    const n = this.nPresent;
    const p = this.present;
    const t = this.i32;
    for (let k = 0; k < n; k++) {
      const e = entryOf(p[k]!);
      t[e] = t[e + 1] = t[e + 2] = t[e + 3] = 0;
    }
    this.nPresent = 0;
    this.bump = this.pageStart;
  }
}

const byMemory = new WeakMap<VmMemory, JitMemory>();

/** The JIT state of a VmMemory (created on first use). @internal */
export function jitMemory(mem: VmMemory): JitMemory {
  let j = byMemory.get(mem);
  if (!j) {
    j = new JitMemory(mem);
    byMemory.set(mem, j);
  }
  return j;
}
