/**
 * The contract between the interpreter core (memory, interpreter, Vm) and the runtime built on top of it
 * (maps, helpers, program contexts): the address-space layout, the memory interface helpers use, the helper
 * signature and the options a `Vm` takes. See notes/VM-CONTRACT.md.
 *
 * Address space: 64-bit addresses, one 4 GiB segment per region. The high 32 bits name the region (segment id,
 * from 1; 0 is the never-mapped null page), the low 32 bits are the offset inside it.
 */
import type { Insn } from '../isa/insn.js';
import type { Vm } from './vm.js';
import type { VmMemory } from './memory.js';

/** What a memory region holds (used in fault messages and by helpers that check pointer kinds). */
export type RegionKind = 'stack' | 'ctx' | 'packet' | 'map_value' | 'rodata' | 'mem' | 'helper';

/** One mapped region. `bytes` may be replaced through `Memory.remap` (packet resize). */
export interface Region {
  /** Segment id: the high 32 bits of every address inside the region. */
  readonly segment: number;
  /** Address of byte 0 of the region: `BigInt(segment) << 32n`. */
  readonly base: bigint;
  readonly bytes: Uint8Array;
  readonly writable: boolean;
  readonly kind: RegionKind;
  readonly name?: string;
}

/** Options of `Memory.map`. */
export interface MapRegionOptions {
  writable: boolean;
  kind: RegionKind;
  name?: string;
}

/** Bits an address is shifted by to name its segment. */
export const SEGMENT_SHIFT = 32n;
/** Largest segment id a region can get (segments above are reserved for handles and code addresses). */
export const MAX_REGION_SEGMENT = 0x00ffffff;
/**
 * Segment of map handles: `lddw rX, map` (PSEUDO_MAP_FD / MAP_IDX) resolves to `mapHandleAddress(i)`. Handles are
 * never dereferenced by programs; a load or store through one faults. The runtime maps index ↔ map object.
 */
export const MAP_HANDLE_SEGMENT = 0xffff0000;
/** Segment of code addresses: `lddw rX, func` (PSEUDO_FUNC) resolves to `funcAddress(pc)` by default. */
export const CODE_SEGMENT = 0xfffe0000;

/** Address of the map handle with this index. */
export function mapHandleAddress(index: number): bigint {
  if (!Number.isInteger(index) || index < 0 || index > 0xffff) throw new RangeError(`map handle index ${index} out of range`);
  return BigInt(MAP_HANDLE_SEGMENT + index) << SEGMENT_SHIFT;
}
/** The map-handle index an address names, or undefined if it is not a map handle. */
export function mapHandleIndex(addr: bigint): number | undefined {
  const seg = Number((addr >> SEGMENT_SHIFT) & 0xffffffffn);
  if (seg < MAP_HANDLE_SEGMENT || (addr & 0xffffffffn) !== 0n) return undefined;
  return seg - MAP_HANDLE_SEGMENT;
}
/** Address of the instruction at `pc` (what `lddw rX, func` yields; `callSubprogram` accepts it). */
export function funcAddress(pc: number): bigint {
  return (BigInt(CODE_SEGMENT) << SEGMENT_SHIFT) | BigInt(pc >>> 0);
}
/** The pc a code address names, or undefined if the value is not a code address. */
export function funcPc(addr: bigint): number | undefined {
  if (((addr >> SEGMENT_SHIFT) & 0xffffffffn) !== BigInt(CODE_SEGMENT)) return undefined;
  return Number(addr & 0xffffffffn);
}

/** The program's view of memory. Every method bounds- and permission-checks and throws `VmError` on a fault. */
export interface Memory {
  /** Map bytes as a new region (the array is used in place, not copied); returns its base address. */
  map(bytes: Uint8Array, opts: MapRegionOptions): bigint;
  /** Re-point an existing region at other bytes (packet resize by adjust_head/tail). */
  remap(base: bigint, bytes: Uint8Array): void;
  /** Remove a region; later accesses through its addresses fault. */
  unmap(base: bigint): void;
  /** A view (not a copy) of [addr, addr+len) after a bounds and permission check. */
  view(addr: bigint, len: number, write?: boolean): Uint8Array;
  /** The bytes of a NUL-terminated string at `addr`, without the NUL, reading at most `max` bytes. */
  readCString(addr: bigint, max: number): Uint8Array;
  /** The region containing `addr`, or undefined. */
  regionOf(addr: bigint): Region | undefined;
  /** Read an unsigned little-endian integer of 1, 2, 4 or 8 bytes. */
  load(addr: bigint, size: 1 | 2 | 4 | 8): bigint;
  /** Write a little-endian integer of 1, 2, 4 or 8 bytes (truncated to the size). */
  store(addr: bigint, size: 1 | 2 | 4 | 8, value: bigint | number): void;
}

/**
 * A helper (or kfunc) implementation. Registers r1..r5 arrive as u64 bigints. The return value becomes r0:
 * a bigint or an integral number, taken modulo 2^64 (so -1 and 2^64-1 are the same); `undefined` means 0.
 * Throw `VmError` to fault the program.
 */
export type HelperImpl = (
  ctx: HelperCallContext,
  r1: bigint,
  r2: bigint,
  r3: bigint,
  r4: bigint,
  r5: bigint,
) => bigint | number | void;

/** What a helper can see and do besides its arguments. */
export interface HelperCallContext {
  readonly mem: Memory;
  /** pc of the call instruction. */
  readonly pc: number;
  /** The run's state object the runtime attached (maps, task, clock, logs, packet...): `Vm.env`. */
  readonly env: unknown;
  /** The program being executed (changes after a tail call). */
  readonly vm: Vm;
  /**
   * Call back into the program (bpf_loop, for_each_map_elem): run the subprogram starting at `fn` (a pc, or a
   * code address from `lddw rX, func`) as a bpf-to-bpf call with r1..r5 and return its r0 (u64).
   */
  callSubprogram(fn: number | bigint, r1?: bigint, r2?: bigint, r3?: bigint, r4?: bigint, r5?: bigint): bigint;
  /**
   * Request a tail call (what bpf_tail_call does on success): when the helper returns, the current frame is
   * replaced by `target`'s program, started at insn 0 with the same r1. Returns false (and does nothing) when the
   * chain already made 33 tail calls; the helper should then return its error value and execution continues.
   * `target` must share this program's `Memory`.
   */
  tailCall(target: Vm): boolean;
}

/** Options of `new Vm(insns, opts)`. */
export interface VmOptions {
  /** Helper implementations by helper id (src/isa/helpers.ts). A call to an id not here fails at construction. */
  helpers?: ReadonlyMap<number, HelperImpl>;
  /** kfunc implementations by BTF id (call with src = 2). A call to an id not here fails at construction. */
  kfuncs?: ReadonlyMap<number, HelperImpl>;
  /** Maximum executed instructions per `run` (default 1e9); exceeding it faults with kind 'budget'. */
  maxInsns?: number;
  /** Initial `Vm.env` (what helpers see as `ctx.env`). */
  env?: unknown;
  /** Memory to run in (shared with maps, contexts and other programs of a collection). Default: a new one. */
  memory?: VmMemory;
  /**
   * Value of a pseudo `lddw` (src != 0: map fd/idx, map value, BTF id, func). Called once per such lddw at
   * construction with the two slots. Without it, PSEUDO_FUNC yields `funcAddress(target pc)` and the other
   * pseudo sources fail at construction.
   */
  resolveLddw?: (pc: number, insn: Insn, next: Insn) => bigint;
  /**
   * Packet for the legacy packet loads (LD_ABS / LD_IND), read in network byte order. Without it those
   * instructions fault with kind 'unsupported'. An out-of-range legacy load ends the program with r0 = 0,
   * as in the kernel.
   */
  legacyPacket?: (env: unknown) => Uint8Array | undefined;
  /**
   * What `callx rX` (opcode 0x8d) finds in its register. 'pc' (default): the index of an instruction of the
   * program, or a code address from `lddw rX, func`; the call is a bpf-to-bpf call. 'helper': a helper id, as
   * bpf_conformance's `call helper %rX` defines it.
   */
  callx?: 'pc' | 'helper';
  /** Name used in fault messages. */
  name?: string;
}

/** Fault kinds a `VmError` from the interpreter carries in `kind`. */
export type VmFaultKind =
  | 'oob' // access outside a region
  | 'perm' // write to a read-only region
  | 'null' // access to segment 0 (null page) or an unmapped segment
  | 'jump' // jump/call to a bad target, fall off the end
  | 'call-depth' // more than MAX_CALL_FRAMES frames
  | 'budget' // instruction budget exhausted
  | 'helper' // unknown helper / kfunc, or a helper failed
  | 'lddw' // unresolvable pseudo lddw
  | 'unsupported' // instruction the configuration cannot run (legacy packet load without a packet)
  | 'tail-call' // bad tail-call target
  | 'invalid' // instruction the VM refuses (write to r10, bad byte-swap width...)
  | 'reentrant'; // run() called while the same Vm is running

/** Result details of the last `run`. */
export interface RunStats {
  /** Instructions executed (lddw counts as one). */
  insns: number;
  /** Tail calls taken. */
  tailCalls: number;
}
