/**
 * Layout of the JIT's WebAssembly linear memory (one memory per `VmMemory`, shared by every JIT program of it):
 * the register spill area used at calls out to JavaScript, the per-frame stack table of the current run, the
 * segment table the generated code checks accesses against, the argument window (the run's r1 region), then the
 * stacks and the paging area where regions are copied in on first access.
 */

/** r0..r9 as i64 (spilled at helper calls, callx, tail calls; the entry trampolines load and store them). */
export const REGS = 0;
/** Remaining instruction budget (i64). */
export const REM = 88;
/** Block index where the slow variant of a function resumes (i32). */
export const RESUME = 96;
/** Scratch bytes for accesses to regions that cannot be paged in (segment beyond the table, no room). */
export const BOUNCE = 128;
/** r10 of each frame depth (8 x i64) of the current run. */
export const STACK_R10 = 256;
/** Linear address of each frame depth's 512-byte stack (8 x i32). */
export const STACK_LIN = 320;
/** Bytes of the fixed area saved and restored around a nested run. */
export const FIXED_BYTES = 352;
/**
 * Segment table, indexed by `segment & (TABLE_CAP - 1)`, 32 bytes per entry: read end (i64), write end (i64), linear
 * base (i32), dirty flag (byte at DIRTY: set by generated code when it may have written the paged-in copy). An end is `(segment << 32) + length` (the first address past the region) when the region is paged
 * in (write end: and dirty), 0 otherwise. An access of `size` bytes at `addr` hits iff `addr + size - 1 <u end`:
 * 0 makes everything miss; an address of a higher segment with the same index is above the end; only segments
 * below TABLE_CAP - 1 are entered, so no lower segment shares an index, and the last index (where
 * `addr + size - 1` can wrap around 2^64) always stays 0.
 */
export const TABLE = 4096;
/** Entries of the table; segments from TABLE_CAP - 1 up always take the slow path. */
export const TABLE_CAP = 8192;
/** Bytes per table entry. */
export const ENTRY = 32;
/** Offset of the dirty flag in a table entry. */
export const DIRTY = 20;
/** First byte after the table: the argument window, stacks, then the paging area. */
export const HEAP = TABLE + TABLE_CAP * ENTRY;
/**
 * Fixed place of the region a run's r1 points into (context or packet, when at most ARG_WINDOW_SIZE bytes):
 * generated code reaches it at a constant linear address, with no base register (codegen.ts).
 */
export const ARG_WINDOW = HEAP;
/** Bytes of the argument window (= the largest region paged in ahead of a run). */
export const ARG_WINDOW_SIZE = 16384;
/** Initial memory size in 64 KiB pages. */
export const INITIAL_PAGES = Math.ceil((HEAP + 128 * 1024) / 65536);
/** Largest memory the JIT grows to (bytes); beyond, accesses go through the bounce buffer. */
export const MAX_MEMORY = 1 << 30;
