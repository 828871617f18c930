/**
 * The classic instruction model (`struct sock_filter`: u16 code, u8 jt, u8 jf, u32 k), its 8-byte
 * encoding, and the checks the kernel's classic checker (bpf_check_classic) applies before it accepts
 * a socket filter or a seccomp program.
 */
import { CbpfError } from '../errors.js';
import {
  AluOp,
  BPF_MAXINSNS,
  BPF_MEMWORDS,
  CClass,
  CLASSIC_ALU_OPS,
  CMode,
  JmpOp,
  MiscOp,
  Mode,
  Rval,
  SKF_AD_OFF,
  SkfAd,
  Size,
  Source,
  cls,
  mode,
  op,
  rval,
  size,
  src,
} from './opcodes.js';

/** One classic instruction. `k` is held as an unsigned 32-bit number. */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** Bytes per classic instruction. */
export const SOCK_FILTER_SIZE = 8;

/** A non-jump instruction (the kernel's BPF_STMT). */
export function stmt(code: number, k = 0): SockFilter {
  return { code: code & 0xffff, jt: 0, jf: 0, k: k >>> 0 };
}

/** A jump instruction (the kernel's BPF_JUMP). */
export function jump(code: number, k: number, jt: number, jf: number): SockFilter {
  return { code: code & 0xffff, jt: jt & 0xff, jf: jf & 0xff, k: k >>> 0 };
}

/** Encode a program as an array of `struct sock_filter` (host byte order by default: little-endian). */
export function encodeFilter(prog: readonly SockFilter[], littleEndian = true): Uint8Array {
  const out = new Uint8Array(prog.length * SOCK_FILTER_SIZE);
  const v = new DataView(out.buffer);
  prog.forEach((i, n) => {
    const at = n * SOCK_FILTER_SIZE;
    v.setUint16(at, i.code, littleEndian);
    v.setUint8(at + 2, i.jt);
    v.setUint8(at + 3, i.jf);
    v.setUint32(at + 4, i.k >>> 0, littleEndian);
  });
  return out;
}

/** Decode an array of `struct sock_filter`. Throws CbpfError if the length is not a multiple of 8. */
export function decodeFilter(bytes: Uint8Array, littleEndian = true): SockFilter[] {
  if (bytes.length % SOCK_FILTER_SIZE !== 0) {
    throw new CbpfError(`classic program is ${bytes.length} bytes, not a multiple of ${SOCK_FILTER_SIZE}`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: SockFilter[] = [];
  for (let at = 0; at < bytes.length; at += SOCK_FILTER_SIZE) {
    out.push({ code: v.getUint16(at, littleEndian), jt: v.getUint8(at + 2), jf: v.getUint8(at + 3), k: v.getUint32(at + 4, littleEndian) });
  }
  return out;
}

/** True when `k` of an absolute load addresses ancillary data (k >= SKF_AD_OFF as a signed value, below 0). */
export function isAncillary(k: number): boolean {
  const s = k | 0;
  return s >= SKF_AD_OFF && s < 0;
}

/** The reason an opcode is not a classic instruction, or undefined if it is one. */
export function checkOpcode(i: SockFilter): string | undefined {
  const c = i.code;
  const hex = `0x${c.toString(16).padStart(2, '0')}`;
  if (c > 0xff) return `unknown opcode ${hex}`;
  switch (cls(c)) {
    case CClass.LD: {
      const m = mode(c);
      if (m === Mode.ABS || m === Mode.IND) return size(c) === 0x18 ? `unknown opcode ${hex}` : undefined;
      if ((m === Mode.IMM || m === Mode.MEM || m === CMode.LEN) && size(c) === Size.W) return undefined;
      return `unknown opcode ${hex}`;
    }
    case CClass.LDX: {
      const m = mode(c);
      if ((m === Mode.IMM || m === Mode.MEM || m === CMode.LEN) && size(c) === Size.W) return undefined;
      if (m === CMode.MSH && size(c) === Size.B) return undefined;
      return `unknown opcode ${hex}`;
    }
    case CClass.ST:
    case CClass.STX:
      return c === CClass.ST || c === CClass.STX ? undefined : `unknown opcode ${hex}`;
    case CClass.ALU: {
      const o = op(c);
      if (!CLASSIC_ALU_OPS.includes(o)) return `unknown opcode ${hex}`;
      if (o === AluOp.NEG && src(c) !== 0) return `unknown opcode ${hex}`;
      return undefined;
    }
    case CClass.JMP: {
      const o = op(c);
      if (o === JmpOp.JA) return src(c) ? `unknown opcode ${hex}` : undefined;
      if (o === JmpOp.JEQ || o === JmpOp.JGT || o === JmpOp.JGE || o === JmpOp.JSET) return undefined;
      return `unknown opcode ${hex}`;
    }
    case CClass.RET:
      return (c & ~0x18) === CClass.RET && rval(c) !== 0x18 ? undefined : `unknown opcode ${hex}`;
    case CClass.MISC:
      return c === (CClass.MISC | MiscOp.TAX) || c === (CClass.MISC | MiscOp.TXA) ? undefined : `unknown opcode ${hex}`;
  }
  return `unknown opcode ${hex}`;
}

/** Options for {@link validateFilter}. */
export interface ValidateOptions {
  /** Allow `ret x` (libpcap and the kernel refuse it; default false). */
  allowRetX?: boolean;
  /** Reject ancillary loads (seccomp programs may not use them). Default false. */
  noAncillary?: boolean;
}

/**
 * Check a program as the kernel's classic checker does: length 1..4096, known opcodes, jumps forward and in
 * range, no division or modulo by constant 0, constant shifts below 32, scratch slots below 16 and stored
 * before being read on every path, known ancillary offsets, last instruction a `ret`.
 * Throws CbpfError naming the instruction.
 */
export function validateFilter(prog: readonly SockFilter[], opts: ValidateOptions = {}): void {
  const n = prog.length;
  if (n === 0) throw new CbpfError('classic program is empty');
  if (n > BPF_MAXINSNS) throw new CbpfError(`classic program has ${n} instructions, more than ${BPF_MAXINSNS}`);
  for (let pc = 0; pc < n; pc++) {
    const i = prog[pc]!;
    const bad = (why: string): never => {
      throw new CbpfError(`insn ${pc}: ${why}`);
    };
    const why = checkOpcode(i);
    if (why) bad(why);
    const c = i.code;
    switch (cls(c)) {
      case CClass.ALU:
        if ((op(c) === AluOp.DIV || op(c) === AluOp.MOD) && src(c) === Source.K && i.k === 0) bad('division by constant zero');
        if ((op(c) === AluOp.LSH || op(c) === AluOp.RSH) && src(c) === Source.K && i.k >= 32) bad(`shift by ${i.k} is 32 or more`);
        break;
      case CClass.LD:
      case CClass.LDX:
        if (mode(c) === Mode.MEM && i.k >= BPF_MEMWORDS) bad(`scratch slot M[${i.k}] does not exist`);
        if (cls(c) === CClass.LD && mode(c) === Mode.ABS && isAncillary(i.k)) {
          if (opts.noAncillary) bad('ancillary load not allowed here');
          const sel = (i.k | 0) - SKF_AD_OFF;
          if (sel % 4 !== 0 || sel >= SkfAd.MAX) bad(`unknown ancillary load ${i.k | 0}`);
        }
        break;
      case CClass.ST:
      case CClass.STX:
        if (i.k >= BPF_MEMWORDS) bad(`scratch slot M[${i.k}] does not exist`);
        break;
      case CClass.JMP:
        if (op(c) === JmpOp.JA) {
          if (i.k >= n - pc - 1) bad(`ja +${i.k} jumps past the end`);
        } else if (pc + i.jt + 1 >= n || pc + i.jf + 1 >= n) {
          bad('conditional jump past the end');
        }
        break;
      case CClass.RET:
        if (rval(c) === Rval.X && !opts.allowRetX) bad('ret x is not allowed');
        break;
    }
  }
  const last = prog[n - 1]!.code;
  if (cls(last) !== CClass.RET) throw new CbpfError(`insn ${n - 1}: last instruction is not a ret`);
  checkScratchInit(prog);
}

/** Every M[k] read must be preceded by a store to M[k] on all paths (the kernel's check_load_and_stores). */
function checkScratchInit(prog: readonly SockFilter[]): void {
  const n = prog.length;
  const ALL = 0xffff;
  // masks[pc]: slots definitely initialised on entry to pc (intersection over predecessors).
  const masks = new Array<number>(n).fill(ALL);
  masks[0] = 0;
  const reached = new Array<boolean>(n).fill(false);
  reached[0] = true;
  for (let pc = 0; pc < n; pc++) {
    if (!reached[pc]) continue;
    const i = prog[pc]!;
    let m = masks[pc]!;
    const c = i.code;
    if ((c === (CClass.LD | Mode.MEM) || c === (CClass.LDX | Mode.MEM)) && !(m & (1 << i.k))) {
      throw new CbpfError(`insn ${pc}: M[${i.k}] is read before it is written`);
    }
    if (c === CClass.ST || c === CClass.STX) m |= 1 << i.k;
    const flow = (to: number) => {
      masks[to] = reached[to] ? masks[to]! & m : m;
      reached[to] = true;
    };
    if (cls(c) === CClass.RET) continue;
    if (cls(c) === CClass.JMP) {
      if (op(c) === JmpOp.JA) flow(pc + 1 + i.k);
      else {
        flow(pc + 1 + i.jt);
        flow(pc + 1 + i.jf);
      }
    } else flow(pc + 1);
  }
}
