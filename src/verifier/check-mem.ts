/**
 * Loads and stores through pointers: the stack (spills, initialised bytes, alignment, bounds, variable offsets),
 * map values and keys (within value_size, read-only maps), packets (within the range proven by comparisons
 * against data_end), ring buffer records and other sized memory, and the context (rules in check-ctx.ts).
 * Also the byte-range checks helpers use for memory arguments.
 */
import { BPF_FLOW_KEYS } from '../isa/contexts.js';
import { Uapi } from '../isa/uapi.js';
import { S64_MIN, UNKNOWN, constOf, sconst, sext, truncate, type Scalar } from './bounds.js';
import { checkCtxAccess, pktAccess } from './check-ctx.js';
import { sockReadRefusal } from './check-sock.js';
import { reject, type Env } from './env.js';
import { describeReg, kernelType } from './messages.js';
import { Byte, SCALAR_UNKNOWN, curFrame, isPointer, scalarReg, type Reg, type Slot, type VState } from './state.js';

/** Largest variable offset usable in an access (BPF_MAX_VAR_OFF). */
const MAX_VAR_OFF = 1n << 29n;

/** How an access is made, for messages. */
export interface Access {
  pc: number;
  /** Register holding the pointer. */
  regNo: number;
  /** The instruction's offset. */
  insnOff: number;
  size: number;
  write: boolean;
  /** Value stored (stores), or undefined for a store of unknown bytes. */
  value?: Reg;
  /** Sign-extending load. */
  signed?: boolean;
  atomic?: boolean;
  /** What the access is for in messages (`*(u64 *)(r3 + 0)` or `bpf_map_update_elem's key`). */
  what: string;
}

const nullMsg = (a: Access, r: Reg) =>
  `r${a.regNo} may be NULL here: ${r.origin ?? 'the pointer'} can return NULL, so it must be checked (if r${a.regNo} == 0 goto ...) before ${a.what}`;

/** Check a load or store through register `a.regNo`; returns the loaded value for loads. */
export function checkMemAccess(env: Env, st: VState, a: Access): Reg {
  const reg = curFrame(st).regs[a.regNo]!;
  if (reg.type === 'not_init') reject(a.pc, `r${a.regNo} is used as a pointer before anything was written to it`, `R${a.regNo} !read_ok`);
  if (!isPointer(reg)) {
    reject(a.pc, `r${a.regNo} holds a scalar (${describeReg(reg)}), not a pointer: ${a.what} would dereference an arbitrary number`, `R${a.regNo} invalid mem access 'scalar'`);
  }
  if (reg.maybeNull) reject(a.pc, nullMsg(a, reg), `R${a.regNo} invalid mem access '${kernelType(reg)}'`);
  if (a.atomic) {
    const c = constOf(reg.s);
    const total = reg.off + a.insnOff + (c !== undefined ? Number(BigInt.asIntN(64, c)) : 0);
    const varAligned = c !== undefined || (reg.s.t.mask & BigInt(a.size - 1)) === 0n;
    if (total % a.size !== 0 || !varAligned) {
      reject(a.pc, `${a.what}: atomic operations need an address aligned to their size (${a.size})`, `misaligned ${reg.type === 'map_value' ? 'value' : kernelType(reg)} access off ${reg.off}+${a.insnOff} size ${a.size}`);
    }
  }
  switch (reg.type) {
    case 'stack':
      return stackAccess(env, st, a, reg);
    case 'map_value':
    case 'map_key':
    case 'mem':
      return regionAccess(env, a, reg);
    case 'pkt':
    case 'pkt_meta':
      return packetAccess(env, a, reg);
    case 'ctx':
      return ctxAccess(env, a, reg);
    case 'flow_keys':
      return flowKeysAccess(env, a, reg);
    case 'sock':
    case 'sock_common':
    case 'tcp_sock':
      return sockAccess(a, reg);
    case 'map_ptr':
      if (!a.write) return reject(a.pc, `unsupported: ${a.what} reads a field of struct bpf_map through a map pointer (BTF-typed kernel struct access is not modelled)`);
      return reject(a.pc, `${a.what} writes through a map pointer`, `R${a.regNo} invalid mem access 'map_ptr'`);
    default:
      return reject(a.pc, `${a.what} dereferences ${describeReg(reg)}, which cannot be accessed`, `R${a.regNo} invalid mem access '${kernelType(reg)}'`);
  }
}

/** Unknown values loaded by each access size, zero- and sign-extended (computed once: scalars are immutable). */
const LOADED_ZEXT = new Map<number, Scalar>();
const LOADED_SEXT = new Map<number, Scalar>();

function loadedScalar(a: Access): Reg {
  const cache = a.signed ? LOADED_SEXT : LOADED_ZEXT;
  let s = cache.get(a.size);
  if (!s) {
    s = a.signed ? sext(UNKNOWN, (a.size * 8) as 8 | 16 | 32) : truncate(UNKNOWN, a.size);
    cache.set(a.size, s);
  }
  return scalarReg(s);
}

/** Variable offset bounds of a pointer: [lo, hi] of reg.off + var + insnOff. */
function span(reg: Reg, insnOff: number): { lo: bigint; hi: bigint; fixed: number } {
  const fixed = reg.off + insnOff;
  return { lo: BigInt(fixed) + reg.s.smin, hi: BigInt(fixed) + reg.s.umax, fixed };
}

function regionAccess(env: Env, a: Access, reg: Reg): Reg {
  const size = reg.type === 'mem' ? reg.memSize! : reg.type === 'map_key' ? reg.map!.keySize : reg.map!.valueSize;
  const name = reg.type === 'mem' ? (reg.refId !== undefined ? 'ring buffer record' : 'memory') : reg.type === 'map_key' ? 'map key' : 'map value';
  const kname = reg.type === 'mem' ? 'mem' : reg.type === 'map_key' ? 'map key' : 'map value';
  const { lo, hi } = span(reg, a.insnOff);
  if (reg.s.smin < 0n && (reg.s.smin === S64_MIN || lo < 0n)) {
    reject(a.pc, `${a.what}: the offset into the ${name} may be negative (${describeReg(reg)}); use an unsigned index or check index >= 0`, `R${a.regNo} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  }
  if (lo < 0n || lo + BigInt(a.size) > BigInt(size)) {
    reject(a.pc, `${a.what} is outside the ${size}-byte ${name} (${describeReg(reg)}, access of ${a.size} bytes at offset ${lo})`, `invalid access to ${kname}, ${reg.type === 'mem' ? 'mem_size' : reg.type === 'map_key' ? 'key_size' : 'value_size'}=${size} off=${lo} size=${a.size}`);
  }
  if (reg.s.umax >= MAX_VAR_OFF) {
    reject(a.pc, `${a.what}: the offset into the ${name} has no upper bound (${describeReg(reg)}); check it against the ${name} size first`, `R${a.regNo} unbounded memory access, make sure to bounds check any such access`);
  }
  if (hi + BigInt(a.size) > BigInt(size)) {
    reject(a.pc, `${a.what} may run past the end of the ${size}-byte ${name}: the offset can reach ${hi} (${describeReg(reg)})`, `invalid access to ${kname}, ${reg.type === 'mem' ? 'mem_size' : 'value_size'}=${size} off=${hi} size=${a.size}`);
  }
  if (a.write) {
    if (reg.type === 'map_key' || reg.rdonly) reject(a.pc, `${a.what} writes to read-only ${name}`, `R${a.regNo} cannot write into ${kname}`);
    if (reg.type === 'map_value' && reg.map!.flags & Uapi.BPF_F_RDONLY_PROG) {
      reject(a.pc, `${a.what} writes to map ${reg.map!.name}, which is read-only for programs (BPF_F_RDONLY_PROG)`, 'write into map forbidden');
    }
    return SCALAR_UNKNOWN;
  }
  if (reg.type === 'map_value' && reg.map!.flags & Uapi.BPF_F_WRONLY_PROG) reject(a.pc, `${a.what} reads map ${reg.map!.name}, which is write-only for programs`, 'read from map forbidden');
  // Constants of frozen read-only global data are known.
  const frozen = reg.type === 'map_value' ? reg.map!.frozenValue : undefined;
  if (frozen && lo === hi && !a.atomic && reg.map!.flags & Uapi.BPF_F_RDONLY_PROG) {
    let v = 0n;
    for (let b = a.size - 1; b >= 0; b--) v = (v << 8n) | BigInt(frozen[Number(lo) + b] ?? 0);
    const s = sconst(v);
    return scalarReg(a.signed ? sext(s, (a.size * 8) as 8 | 16 | 32) : s);
  }
  void env;
  return loadedScalar(a);
}

function packetAccess(env: Env, a: Access, reg: Reg): Reg {
  const perm = pktAccess(env.progType);
  if (a.write && !perm.write) reject(a.pc, `${a.what} writes packet data, which this program type may only read`, 'cannot write into packet');
  if (!a.write && !perm.read) reject(a.pc, `${a.what} reads packet data directly, which this program type may not do`, 'invalid bpf_context access');
  if (a.atomic) reject(a.pc, `atomic operation on packet data`, `BPF_ATOMIC stores into R${a.regNo} ${kernelType(reg)} is not allowed`);
  if (reg.s.smin < 0n) reject(a.pc, `${a.what}: the packet offset may be negative (${describeReg(reg)})`, `R${a.regNo} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  const off = reg.off + a.insnOff;
  const range = reg.range ?? 0;
  if (off < 0 || off + a.size > range) {
    const need = off + a.size;
    reject(
      a.pc,
      range === 0
        ? `${a.what} reads the packet without a bounds check: compare the pointer against data_end first (e.g. if (p + ${need} > data_end) goto drop)`
        : `${a.what} touches packet bytes up to offset ${need}, but only ${range} bytes past this pointer were checked against data_end`,
      `invalid access to packet, off=${off} size=${a.size}, R${a.regNo}(id=${reg.id ?? 0},off=${reg.off},r=${range})`,
    );
  }
  return a.write ? SCALAR_UNKNOWN : loadedScalar(a);
}

/** PTR_TO_FLOW_KEYS (check_flow_keys_access): constant offsets within struct bpf_flow_keys, read and write. */
function flowKeysAccess(env: Env, a: Access, reg: Reg): Reg {
  const c = constOf(reg.s);
  if (c === undefined || c !== 0n) {
    // The kernel's own handling of variable offsets here is not modelled; refusing never accepts a bad program.
    reject(a.pc, `unsupported: ${a.what} uses a variable offset into the flow keys (${describeReg(reg)})`);
  }
  const off = reg.off + a.insnOff;
  if (off < 0 || off + a.size > BPF_FLOW_KEYS.size) {
    reject(a.pc, `${a.what} is outside the ${BPF_FLOW_KEYS.size}-byte struct bpf_flow_keys (access of ${a.size} bytes at offset ${off})`, `invalid access to flow keys off=${off} size=${a.size}`);
  }
  if (a.atomic) reject(a.pc, 'atomic operation on the flow keys', `BPF_ATOMIC stores into R${a.regNo} flow_keys is not allowed`);
  if (a.write) {
    if (a.value && isPointer(a.value) && !env.privileged) reject(a.pc, `${a.what} stores a pointer into the flow keys`, `R${a.regNo} leaks addr into flow keys`);
    return SCALAR_UNKNOWN;
  }
  return loadedScalar(a);
}

/** PTR_TO_SOCKET / SOCK_COMMON / TCP_SOCK (check_sock_access): read-only fields at constant offsets. */
function sockAccess(a: Access, reg: Reg): Reg {
  const k = kernelType(reg);
  if (a.write) reject(a.pc, `${a.what} writes through a socket pointer (${describeReg(reg)}), which is read-only`, `R${a.regNo} cannot write into ${k}`);
  if (reg.s.smin < 0n) reject(a.pc, `${a.what}: the offset into the socket may be negative (${describeReg(reg)})`, `R${a.regNo} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  const c = constOf(reg.s);
  // Pointer arithmetic on sockets is refused (check-alu.ts), so the offset is the instruction's.
  if (c === undefined || c !== 0n || reg.off !== 0) return reject(a.pc, `unsupported: ${a.what} through a socket pointer with an offset (${describeReg(reg)})`);
  const why = sockReadRefusal(reg.type, a.insnOff, a.size);
  if (why) reject(a.pc, `${a.what}: invalid read of ${reg.type === 'tcp_sock' ? 'struct bpf_tcp_sock' : 'struct bpf_sock'} at offset ${a.insnOff}, size ${a.size}: ${why}`, `R${a.regNo} invalid ${k} access off=${a.insnOff} size=${a.size}`);
  return loadedScalar(a);
}

/** The pointer a context load of a socket field produces (fresh id for a possibly-NULL one). */
function sockFromCtx(env: Env, type: 'sock' | 'sock_common', maybeNull: boolean): Reg {
  return maybeNull ? { type, s: sconst(0), off: 0, maybeNull: true, id: env.nextId(), origin: 'the load of sk from the context' } : { type, s: sconst(0), off: 0 };
}

function ctxAccess(env: Env, a: Access, reg: Reg): Reg {
  if (reg.off !== 0) {
    reject(a.pc, `${a.what} goes through a modified context pointer (r${a.regNo} = ctx + ${reg.off}); use the original pointer with an instruction offset`, `dereference of modified ctx ptr R${a.regNo} off=${reg.off} disallowed`);
  }
  const c = constOf(reg.s);
  if (c === undefined || c !== 0n) {
    reject(a.pc, `${a.what} goes through a context pointer with a variable offset (${describeReg(reg)}); context fields must be accessed at constant offsets`, `variable ctx access var_off=(0x${reg.s.t.value.toString(16)}; 0x${reg.s.t.mask.toString(16)}) disallowed`);
  }
  if (a.atomic) reject(a.pc, 'atomic operation on the context', `BPF_ATOMIC stores into R${a.regNo} ctx is not allowed`);
  const r = checkCtxAccess(env.progType, env.expectedAttachType, a.insnOff, a.size, a.write);
  if (!r.ok) {
    if (r.why.startsWith('unsupported')) reject(a.pc, r.why);
    reject(a.pc, `${a.what}: invalid ${a.write ? 'write to' : 'read of'} ${r.ctxName} at offset ${a.insnOff}, size ${a.size}: ${r.why}`, `invalid bpf_context access off=${a.insnOff} size=${a.size}`);
  }
  if (a.write) return SCALAR_UNKNOWN;
  if (r.result === 'pkt' || r.result === 'pkt_meta') return { type: r.result, s: sconst(0), off: 0, id: 0, range: 0 };
  if (r.result === 'pkt_end') return { type: 'pkt_end', s: sconst(0), off: 0 };
  if (r.result === 'flow_keys') return { type: 'flow_keys', s: sconst(0), off: 0 };
  if (r.result === 'sock' || r.result === 'sock_common') return sockFromCtx(env, r.result, !!r.maybeNull);
  return loadedScalar(a);
}

// ---- stack ----

const slotIndex = (off: number) => (512 + off) >> 3;

function frameOf(st: VState, reg: Reg) {
  return st.frames[reg.frame ?? st.frames.length - 1]!;
}

function noteDepth(env: Env, st: VState, reg: Reg, lowest: number): void {
  const f = frameOf(st, reg);
  const d = env.stackDepth.get(f.subprog) ?? 0;
  if (-lowest > d) env.stackDepth.set(f.subprog, -lowest);
}

function checkStackBounds(a: Access, lo: number, hi: number, size: number): void {
  if (lo < -512 || hi + size > 0) {
    reject(a.pc, `${a.what} is outside the 512-byte stack (offset ${lo}${hi !== lo ? `..${hi}` : ''} from r10, size ${size})`, `invalid ${a.write ? 'write to' : 'read from'} stack R${a.regNo} off=${lo} size=${size}`);
  }
}

function stackAccess(env: Env, st: VState, a: Access, reg: Reg): Reg {
  const c = constOf(reg.s);
  if (c === undefined) return stackVarAccess(env, st, a, reg);
  const off = reg.off + Number(BigInt.asIntN(64, c)) + a.insnOff;
  checkStackBounds(a, off, off, a.size);
  if (off % a.size !== 0) reject(a.pc, `${a.what}: misaligned stack access (offset ${off} is not a multiple of ${a.size})`, `misaligned stack access off ${reg.off}+${a.insnOff} size ${a.size}`);
  noteDepth(env, st, reg, off);
  const frame = frameOf(st, reg);
  if (a.write && !a.atomic) {
    writeStack(frame.stack, off, a.size, a.value);
    return SCALAR_UNKNOWN;
  }
  const v = readStack(env, frame.stack, off, a.size, a);
  if (a.atomic) {
    if (isPointer(v)) reject(a.pc, 'atomic operation on a pointer spilled to the stack', `BPF_ATOMIC stores into R${a.regNo} fp is not allowed`);
    writeStack(frame.stack, off, a.size, undefined);
  }
  return a.signed && v.type === 'scalar' ? scalarReg(sext(v.s, (a.size * 8) as 8 | 16 | 32)) : v;
}

function stackVarAccess(env: Env, st: VState, a: Access, reg: Reg): Reg {
  if (!env.privileged) reject(a.pc, `${a.what} uses a variable stack offset (${describeReg(reg)})`, `R${a.regNo} variable stack access prohibited for !root`);
  if (reg.s.smin === S64_MIN || reg.s.smax >= MAX_VAR_OFF || reg.s.smin <= -MAX_VAR_OFF) {
    reject(a.pc, `${a.what}: the stack offset is unbounded (${describeReg(reg)})`, `R${a.regNo} unbounded indirect variable offset stack access`);
  }
  const lo = reg.off + a.insnOff + Number(reg.s.smin);
  const hi = reg.off + a.insnOff + Number(reg.s.smax);
  checkStackBounds(a, lo, hi, a.size);
  noteDepth(env, st, reg, lo);
  const frame = frameOf(st, reg);
  if (a.write) {
    for (let o = lo; o < hi + a.size; o++) markBytes(frame.stack, o, 1, Byte.MISC);
    return SCALAR_UNKNOWN;
  }
  checkStackInit(env, st, reg, lo, hi + a.size - lo, a);
  return loadedScalar(a);
}

function markBytes(stack: (Slot | undefined)[], off: number, size: number, kind: Byte): void {
  for (let o = off; o < off + size; o++) {
    const i = slotIndex(o);
    const old = stack[i];
    const bytes = old ? old.bytes.slice() : new Array<Byte>(8).fill(Byte.INVALID);
    if (old?.spill) for (let b = 0; b < 8; b++) if (bytes[b] === Byte.SPILL) bytes[b] = Byte.MISC;
    bytes[(512 + o) & 7] = kind;
    stack[i] = { bytes };
  }
}

/** Store `size` bytes at `off` (value undefined: unknown bytes). */
export function writeStack(stack: (Slot | undefined)[], off: number, size: number, value: Reg | undefined): void {
  const i = slotIndex(off);
  const at = (512 + off) & 7;
  if (value && size === 8 && (value.type === 'scalar' || isPointer(value))) {
    stack[i] = { bytes: new Array<Byte>(8).fill(Byte.SPILL), spill: { reg: value, at: 0, size: 8 } };
    return;
  }
  if (value?.type === 'scalar') {
    const v = truncate(value.s, size);
    if (constOf(v) === 0n) {
      markBytes(stack, off, size, Byte.ZERO);
      return;
    }
    // Like the kernel, narrow scalars are remembered only at the start of an 8-byte slot.
    if (at !== 0) {
      markBytes(stack, off, size, Byte.MISC);
      return;
    }
    markBytes(stack, off, size, Byte.SPILL);
    const s = stack[i]!;
    const bytes = s.bytes.slice();
    stack[i] = { bytes, spill: { reg: scalarReg(v), at, size } };
    return;
  }
  markBytes(stack, off, size, Byte.MISC);
}

function readStack(env: Env, stack: (Slot | undefined)[], off: number, size: number, a: Access): Reg {
  const slot = stack[slotIndex(off)];
  const at = (512 + off) & 7;
  let zero = true;
  for (let b = at; b < at + size; b++) {
    const k = slot ? slot.bytes[b]! : Byte.INVALID;
    if (k === Byte.INVALID && (env.strict || !env.privileged)) {
      reject(a.pc, `${a.what} reads stack bytes at r10${off} that were never written (uninitialised stack)`, `invalid read from stack R${a.regNo} off ${off}+0 size ${size}`);
    }
    if (k !== Byte.ZERO) zero = false;
  }
  if (slot?.spill && slot.spill.at === at && slot.spill.size === size) return slot.spill.reg;
  if (zero) return scalarReg(sconst(0));
  if (slot?.spill && isPointer(slot.spill.reg)) {
    if (!env.privileged) reject(a.pc, `${a.what} reads part of a pointer spilled to the stack`, `leaking pointer from stack off ${off}`);
  }
  if (slot?.spill && slot.spill.reg.type === 'scalar' && slot.spill.at === at && size < slot.spill.size) {
    return scalarReg(truncate(slot.spill.reg.s, size));
  }
  return loadedScalar(a);
}

/** Every byte of [off, off+size) of the stack of `reg`'s frame is initialised (helper memory arguments). */
export function checkStackInit(env: Env, st: VState, reg: Reg, off: number, size: number, a: Access): void {
  const stack = frameOf(st, reg).stack;
  for (let o = off; o < off + size; o++) {
    const slot = stack[slotIndex(o)];
    const k = slot ? slot.bytes[(512 + o) & 7]! : Byte.INVALID;
    if (k === Byte.INVALID && (env.strict || !env.privileged)) {
      reject(a.pc, `${a.what}: stack byte r10${o} of the ${size} bytes at r10${off} is not initialised`, `invalid indirect read from stack R${a.regNo} off ${off}+${o - off} size ${size}`);
    }
    if (k === Byte.SPILL && slot!.spill && isPointer(slot!.spill.reg) && !env.privileged) {
      reject(a.pc, `${a.what}: the stack bytes hold a spilled pointer`, `invalid indirect read from stack R${a.regNo} off ${off}+${o - off} size ${size}`);
    }
  }
}

/**
 * Check that `size` bytes (a range [minSize, maxSize] for variable sizes) at the pointer in `a.regNo` may be read
 * (or written when `a.write`) by a helper; written stack bytes become initialised.
 */
export function checkHelperMem(env: Env, st: VState, a: Access, maxSize: number): void {
  const reg = curFrame(st).regs[a.regNo]!;
  if (reg.type === 'stack') {
    const c = constOf(reg.s);
    let lo: number;
    let hi: number;
    if (c === undefined) {
      if (reg.s.smin === S64_MIN || reg.s.smax >= MAX_VAR_OFF || reg.s.smin <= -MAX_VAR_OFF) {
        reject(a.pc, `${a.what}: the stack offset is unbounded (${describeReg(reg)})`, `R${a.regNo} unbounded indirect variable offset stack access`);
      }
      lo = reg.off + Number(reg.s.smin);
      hi = reg.off + Number(reg.s.smax);
    } else lo = hi = reg.off + Number(BigInt.asIntN(64, c));
    if (maxSize === 0) return;
    if (lo < -512 || hi + maxSize > 0) {
      reject(a.pc, `${a.what}: ${maxSize} bytes at r10${lo >= 0 ? '+' : ''}${lo} do not fit in the stack`, `invalid indirect access to stack R${a.regNo} off=${lo} size=${maxSize}`);
    }
    noteDepth(env, st, reg, lo);
    if (a.write) {
      const stack = frameOf(st, reg).stack;
      for (let o = lo; o < hi + maxSize; o++) markBytes(stack, o, 1, Byte.MISC);
    } else checkStackInit(env, st, reg, lo, hi + maxSize - lo, a);
    return;
  }
  if (maxSize === 0 && reg.type !== 'not_init') return;
  // Other memory: check the first and the last byte like an access of `maxSize` bytes.
  if (reg.type === 'map_value' || reg.type === 'map_key' || reg.type === 'mem' || reg.type === 'pkt' || reg.type === 'pkt_meta') {
    checkMemAccess(env, st, { ...a, size: maxSize, insnOff: 0, value: undefined, atomic: false, signed: false });
    return;
  }
  if (reg.type === 'ctx') reject(a.pc, `${a.what} must point to the stack, a map value or other memory, not to the context`, `R${a.regNo} type=ctx expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf`);
  checkMemAccess(env, st, a);
}
