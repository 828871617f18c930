/**
 * The classic BPF interpreter. Runs a program over one packet and returns the accept length (0 = drop),
 * with the kernel's and libpcap's semantics: a packet load outside the captured bytes ends the program with
 * 0, division or modulo by a zero X returns 0, shifts by X of 32 or more give 0 (libpcap; the kernel's
 * eBPF translation masks the count instead), scratch memory starts zeroed. Ancillary loads (SKF_AD_*)
 * read the metadata given in {@link CbpfContext}.
 */
import { CbpfError } from '../errors.js';
import type { SockFilter } from './insn.js';
import { AluOp, CClass, CMode, JmpOp, MiscOp, Mode, Rval, SKF_AD_OFF, SKF_LL_OFF, SKF_NET_OFF, SkfAd, Size, Source } from './opcodes.js';

/** Socket-buffer metadata that ancillary loads read. Missing fields read as 0. */
export interface CbpfContext {
  /** skb->protocol in host order (e.g. 0x0800). */
  protocol?: number;
  pktType?: number;
  ifindex?: number;
  mark?: number;
  queue?: number;
  hatype?: number;
  rxhash?: number;
  cpu?: number;
  vlanTci?: number;
  vlanPresent?: boolean;
  vlanTpid?: number;
  /** Result of SKF_AD_PAY_OFFSET (the kernel dissects the flow to find it). */
  payOffset?: number;
  /** Source of SKF_AD_RANDOM; default Math.random. */
  random?: () => number;
  /** Offset of the network header in `data`, for SKF_NET_OFF loads (default 14, Ethernet). */
  netOffset?: number;
}

/** Options of {@link runClassic}. */
export interface RunOptions {
  /** Length on the wire (what `ld #len` loads); default the captured length. */
  wireLen?: number;
  ctx?: CbpfContext;
}

const NLA_HDRLEN = 4;
const NLA_TYPE_MASK = ~(0x8000 | 0x4000) & 0xffff;

/** nla_find over data[start, start+len): offset of the attribute with type `type`, or 0. */
function nlaFind(data: Uint8Array, start: number, len: number, type: number): number {
  let at = start;
  let rem = len;
  while (rem >= NLA_HDRLEN) {
    const nlaLen = data[at]! | (data[at + 1]! << 8);
    if (nlaLen < NLA_HDRLEN || nlaLen > rem) break;
    const t = (data[at + 2]! | (data[at + 3]! << 8)) & NLA_TYPE_MASK;
    if (t === type) return at;
    const aligned = (nlaLen + 3) & ~3;
    at += aligned;
    rem -= aligned;
  }
  return 0;
}

/** Value of an ancillary load, or undefined when the selector is unknown. */
function ancillary(sel: number, a: number, x: number, data: Uint8Array, ctx: CbpfContext): number | undefined {
  switch (sel) {
    case SkfAd.PROTOCOL:
      return (ctx.protocol ?? 0) & 0xffff;
    case SkfAd.PKTTYPE:
      return ctx.pktType ?? 0;
    case SkfAd.IFINDEX:
      return ctx.ifindex ?? 0;
    case SkfAd.MARK:
      return (ctx.mark ?? 0) >>> 0;
    case SkfAd.QUEUE:
      return (ctx.queue ?? 0) & 0xffff;
    case SkfAd.HATYPE:
      return (ctx.hatype ?? 0) & 0xffff;
    case SkfAd.RXHASH:
      return (ctx.rxhash ?? 0) >>> 0;
    case SkfAd.CPU:
      return ctx.cpu ?? 0;
    case SkfAd.VLAN_TAG:
      return (ctx.vlanTci ?? 0) & 0xffff;
    case SkfAd.VLAN_TAG_PRESENT:
      return ctx.vlanPresent ? 1 : 0;
    case SkfAd.VLAN_TPID:
      return (ctx.vlanTpid ?? 0) & 0xffff;
    case SkfAd.PAY_OFFSET:
      return (ctx.payOffset ?? 0) >>> 0;
    case SkfAd.RANDOM:
      return Math.floor((ctx.random ?? Math.random)() * 0x100000000) >>> 0;
    case SkfAd.ALU_XOR_X:
      return (a ^ x) >>> 0;
    case SkfAd.NLATTR: {
      if (data.length < NLA_HDRLEN || a > data.length - NLA_HDRLEN) return 0;
      return nlaFind(data, a, data.length - a, x);
    }
    case SkfAd.NLATTR_NEST: {
      if (data.length < NLA_HDRLEN || a > data.length - NLA_HDRLEN) return 0;
      const nlaLen = data[a]! | (data[a + 1]! << 8);
      if (nlaLen > data.length - a || nlaLen < NLA_HDRLEN) return 0;
      return nlaFind(data, a + NLA_HDRLEN, nlaLen - NLA_HDRLEN, x);
    }
  }
  return undefined;
}

function loadAt(data: Uint8Array, off: number, sz: number): number {
  if (sz === Size.W) return ((data[off]! << 24) | (data[off + 1]! << 16) | (data[off + 2]! << 8) | data[off + 3]!) >>> 0;
  if (sz === Size.H) return (data[off]! << 8) | data[off + 1]!;
  return data[off]!;
}
const bytesOf = (sz: number) => (sz === Size.W ? 4 : sz === Size.H ? 2 : 1);

/** Resolve a load offset (possibly a negative SKF_NET_OFF/SKF_LL_OFF one) to a data index, or -1. */
function resolveOffset(off: number, nbytes: number, len: number, ctx: CbpfContext): number {
  if (off >= 0) return off + nbytes <= len ? off : -1;
  let base: number;
  if (off >= SKF_NET_OFF && off < SKF_AD_OFF) base = off - SKF_NET_OFF + (ctx.netOffset ?? 14);
  else if (off >= SKF_LL_OFF && off < SKF_NET_OFF) base = off - SKF_LL_OFF;
  else return -1;
  return base + nbytes <= len ? base : -1;
}

/**
 * Run a classic program over a packet. Returns the accept length (the value of the `ret` reached, unsigned).
 * The program should have passed `validateFilter`; an invalid opcode or a jump past the end throws CbpfError.
 */
export function runClassic(prog: readonly SockFilter[], data: Uint8Array, opts: RunOptions = {}): number {
  const len = data.length;
  const wire = opts.wireLen ?? len;
  const ctx = opts.ctx ?? {};
  const mem = new Uint32Array(16);
  let A = 0;
  let X = 0;
  let pc = 0;
  const n = prog.length;
  for (;;) {
    if (pc >= n) throw new CbpfError(`insn ${pc}: fell off the end of the program`);
    const i = prog[pc++]!;
    const k = i.k;
    switch (i.code) {
      case CClass.RET | Rval.K:
        return k >>> 0;
      case CClass.RET | Rval.A:
        return A >>> 0;
      case CClass.RET | Rval.X:
        return X >>> 0;
      case CClass.LD | Size.W | Mode.ABS:
      case CClass.LD | Size.H | Mode.ABS:
      case CClass.LD | Size.B | Mode.ABS: {
        const sz = i.code & 0x18;
        const off = k | 0;
        if (off >= SKF_AD_OFF && off < 0) {
          const v = ancillary(off - SKF_AD_OFF, A, X, data, ctx);
          if (v === undefined) return 0;
          A = v >>> 0;
          break;
        }
        const at = resolveOffset(off, bytesOf(sz), len, ctx);
        if (at < 0) return 0;
        A = loadAt(data, at, sz);
        break;
      }
      case CClass.LD | Size.W | Mode.IND:
      case CClass.LD | Size.H | Mode.IND:
      case CClass.LD | Size.B | Mode.IND: {
        const sz = i.code & 0x18;
        // libpcap and the kernel both treat X + k as an unsigned 32-bit sum with overflow = out of bounds.
        const sum = X + (k >>> 0);
        if (sum > 0xffffffff) return 0;
        const at = resolveOffset(sum | 0, bytesOf(sz), len, ctx);
        if (at < 0) return 0;
        A = loadAt(data, at, sz);
        break;
      }
      case CClass.LD | Size.W | CMode.LEN:
        A = wire >>> 0;
        break;
      case CClass.LDX | Size.W | CMode.LEN:
        X = wire >>> 0;
        break;
      case CClass.LD | Mode.IMM:
        A = k >>> 0;
        break;
      case CClass.LDX | Mode.IMM:
        X = k >>> 0;
        break;
      case CClass.LD | Mode.MEM:
        A = mem[k]!;
        break;
      case CClass.LDX | Mode.MEM:
        X = mem[k]!;
        break;
      case CClass.LDX | Size.B | CMode.MSH: {
        const at = resolveOffset(k | 0, 1, len, ctx);
        if (at < 0) return 0;
        X = (data[at]! & 0xf) << 2;
        break;
      }
      case CClass.ST:
        mem[k] = A;
        break;
      case CClass.STX:
        mem[k] = X;
        break;
      case CClass.MISC | MiscOp.TAX:
        X = A;
        break;
      case CClass.MISC | MiscOp.TXA:
        A = X;
        break;
      case CClass.JMP | JmpOp.JA:
        pc += k >>> 0;
        break;
      case CClass.JMP | JmpOp.JEQ | Source.K:
        pc += A === k >>> 0 ? i.jt : i.jf;
        break;
      case CClass.JMP | JmpOp.JGT | Source.K:
        pc += A > k >>> 0 ? i.jt : i.jf;
        break;
      case CClass.JMP | JmpOp.JGE | Source.K:
        pc += A >= k >>> 0 ? i.jt : i.jf;
        break;
      case CClass.JMP | JmpOp.JSET | Source.K:
        pc += (A & k) !== 0 ? i.jt : i.jf;
        break;
      case CClass.JMP | JmpOp.JEQ | Source.X:
        pc += A === X ? i.jt : i.jf;
        break;
      case CClass.JMP | JmpOp.JGT | Source.X:
        pc += A > X ? i.jt : i.jf;
        break;
      case CClass.JMP | JmpOp.JGE | Source.X:
        pc += A >= X ? i.jt : i.jf;
        break;
      case CClass.JMP | JmpOp.JSET | Source.X:
        pc += (A & X) !== 0 ? i.jt : i.jf;
        break;
      case CClass.ALU | AluOp.NEG:
        A = -A >>> 0;
        break;
      default: {
        if ((i.code & 0x07) !== CClass.ALU) throw new CbpfError(`insn ${pc - 1}: unknown opcode 0x${i.code.toString(16)}`);
        const v = i.code & Source.X ? X : k >>> 0;
        const r = classicAlu(i.code & 0xf0, A, v);
        if (r === undefined) {
          if ((i.code & 0xf0) === AluOp.DIV || (i.code & 0xf0) === AluOp.MOD) return 0;
          throw new CbpfError(`insn ${pc - 1}: unknown opcode 0x${i.code.toString(16)}`);
        }
        A = r;
      }
    }
  }
}

/** One classic ALU operation on unsigned 32-bit values; undefined for division by zero or an unknown op. */
export function classicAlu(aop: number, a: number, v: number): number | undefined {
  switch (aop) {
    case AluOp.ADD:
      return (a + v) >>> 0;
    case AluOp.SUB:
      return (a - v) >>> 0;
    case AluOp.MUL:
      return Math.imul(a, v) >>> 0;
    case AluOp.DIV:
      return v === 0 ? undefined : Math.floor(a / v) >>> 0;
    case AluOp.MOD:
      return v === 0 ? undefined : a % v >>> 0;
    case AluOp.AND:
      return (a & v) >>> 0;
    case AluOp.OR:
      return (a | v) >>> 0;
    case AluOp.XOR:
      return (a ^ v) >>> 0;
    case AluOp.LSH:
      return v >= 32 ? 0 : (a << v) >>> 0;
    case AluOp.RSH:
      return v >= 32 ? 0 : a >>> v;
    case AluOp.NEG:
      return -a >>> 0;
  }
  return undefined;
}
