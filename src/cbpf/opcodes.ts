/**
 * The classic BPF opcode space (struct sock_filter, /usr/include/linux/filter.h and bpf_common.h).
 * Classes, sizes, modes and ALU/jump operations share their numbers with eBPF and are re-used from
 * `src/isa`; only what is classic-specific (RET, MISC, LEN/MSH modes, rval, misc ops) is spelled here.
 * The numeric constants of the headers (ancillary offsets, limits, seccomp actions, audit architectures)
 * are generated into src/isa/uapi.ts and re-exported from here under their classic names.
 */
import { AluOp, JmpOp, Mode, Size, Source } from '../isa/opcodes.js';
import { AuditArch, FilterConst, SeccompRet, SkfAd } from '../isa/uapi.js';

export { AluOp, JmpOp, Mode, Size, Source };
/** Ancillary data selectors (`SKF_AD_*`, added to SKF_AD_OFF); audit architectures; seccomp return actions. */
export { AuditArch, SeccompRet, SkfAd };

/** Classic instruction classes (low 3 bits). LD..JMP equal the eBPF ones; RET and MISC are classic only. */
export const CClass = { LD: 0x00, LDX: 0x01, ST: 0x02, STX: 0x03, ALU: 0x04, JMP: 0x05, RET: 0x06, MISC: 0x07 } as const;

/** Classic-only addressing modes (bits 5-7) in addition to IMM/ABS/IND/MEM. */
export const CMode = { IMM: Mode.IMM, ABS: Mode.ABS, IND: Mode.IND, MEM: Mode.MEM, LEN: 0x80, MSH: 0xa0 } as const;

/** Return value source of `ret` (BPF_RVAL). */
export const Rval = { K: 0x00, X: 0x08, A: 0x10 } as const;

/** MISC operations (BPF_MISCOP). */
export const MiscOp = { TAX: 0x00, TXA: 0x80 } as const;

/** Scratch memory words M[0..15]. */
export const BPF_MEMWORDS = FilterConst.BPF_MEMWORDS;
/** Longest classic program the kernel accepts. */
export const BPF_MAXINSNS = FilterConst.BPF_MAXINSNS;

/** Base offset of the ancillary ("extension") loads. Loads at `SKF_AD_OFF + n` read socket-buffer metadata. */
export const SKF_AD_OFF = FilterConst.SKF_AD_OFF;

/** Names of the ancillary loads in bpf_asm syntax (`ld proto`, `ld #rand` ...), keyed by selector. */
export const ANCILLARY_NAMES: Readonly<Record<number, string>> = {
  [SkfAd.PROTOCOL]: 'proto',
  [SkfAd.PKTTYPE]: 'type',
  [SkfAd.IFINDEX]: 'ifidx',
  [SkfAd.NLATTR]: 'nla',
  [SkfAd.NLATTR_NEST]: 'nlan',
  [SkfAd.MARK]: 'mark',
  [SkfAd.QUEUE]: 'queue',
  [SkfAd.HATYPE]: 'hatype',
  [SkfAd.RXHASH]: 'rxhash',
  [SkfAd.CPU]: 'cpu',
  [SkfAd.VLAN_TAG]: 'vlan_tci',
  [SkfAd.VLAN_TAG_PRESENT]: 'vlan_avail',
  [SkfAd.PAY_OFFSET]: 'poff',
  [SkfAd.RANDOM]: 'rand',
  [SkfAd.VLAN_TPID]: 'vlan_tpid',
};

/** Network-header-relative and link-layer-relative negative load offsets. */
export const SKF_NET_OFF = FilterConst.SKF_NET_OFF;
export const SKF_LL_OFF = FilterConst.SKF_LL_OFF;

/** Opcode field accessors for classic instructions. */
export const cls = (code: number) => code & 0x07;
export const size = (code: number) => code & 0x18;
export const mode = (code: number) => code & 0xe0;
export const op = (code: number) => code & 0xf0;
export const src = (code: number) => code & 0x08;
export const rval = (code: number) => code & 0x18;
export const miscop = (code: number) => code & 0xf8;

/** Frequently used whole opcodes. */
export const Op = {
  LD_W_ABS: CClass.LD | Size.W | Mode.ABS,
  LD_H_ABS: CClass.LD | Size.H | Mode.ABS,
  LD_B_ABS: CClass.LD | Size.B | Mode.ABS,
  LD_W_IND: CClass.LD | Size.W | Mode.IND,
  LD_H_IND: CClass.LD | Size.H | Mode.IND,
  LD_B_IND: CClass.LD | Size.B | Mode.IND,
  LD_W_LEN: CClass.LD | Size.W | CMode.LEN,
  LD_IMM: CClass.LD | Mode.IMM,
  LD_MEM: CClass.LD | Mode.MEM,
  LDX_IMM: CClass.LDX | Mode.IMM,
  LDX_MEM: CClass.LDX | Mode.MEM,
  LDX_LEN: CClass.LDX | Size.W | CMode.LEN,
  LDX_MSH: CClass.LDX | Size.B | CMode.MSH,
  ST: CClass.ST,
  STX: CClass.STX,
  RET_K: CClass.RET | Rval.K,
  RET_A: CClass.RET | Rval.A,
  RET_X: CClass.RET | Rval.X,
  TAX: CClass.MISC | MiscOp.TAX,
  TXA: CClass.MISC | MiscOp.TXA,
  JA: CClass.JMP | JmpOp.JA,
} as const;

/** Classic ALU operations (eBPF adds MOV, ARSH, END; classic has none of those). */
export const CLASSIC_ALU_OPS: readonly number[] = [
  AluOp.ADD, AluOp.SUB, AluOp.MUL, AluOp.DIV, AluOp.OR, AluOp.AND, AluOp.LSH, AluOp.RSH, AluOp.NEG, AluOp.MOD, AluOp.XOR,
];
/** Classic jump operations. */
export const CLASSIC_JMP_OPS: readonly number[] = [JmpOp.JA, JmpOp.JEQ, JmpOp.JGT, JmpOp.JGE, JmpOp.JSET];
