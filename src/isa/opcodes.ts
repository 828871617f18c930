/**
 * The eBPF opcode space (RFC 9669, including the v4 additions and the atomics): classes, operations,
 * sizes, modes, pseudo sources and the names both assembler syntaxes use for them.
 * This is the single source of truth for opcode numbers in bpfkit; nothing else spells them.
 */

/** Instruction classes (low 3 bits of the opcode). */
export const Class = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;

/** Operand source bit for ALU and jump classes. */
export const Source = { K: 0x00, X: 0x08 } as const;

/** ALU operation codes (high 4 bits of the opcode). */
export const AluOp = {
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  MOV: 0xb0,
  ARSH: 0xc0,
  END: 0xd0,
} as const;

/** Jump operation codes (high 4 bits of the opcode). */
export const JmpOp = {
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  JNE: 0x50,
  JSGT: 0x60,
  JSGE: 0x70,
  CALL: 0x80,
  EXIT: 0x90,
  JLT: 0xa0,
  JLE: 0xb0,
  JSLT: 0xc0,
  JSLE: 0xd0,
} as const;

/** Access sizes for load and store classes (bits 3-4). */
export const Size = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 } as const;

/** Addressing modes for load and store classes (bits 5-7). */
export const Mode = {
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  MEMSX: 0x80,
  ATOMIC: 0xc0,
} as const;

/** Byte-swap direction, carried in the source bit of `END` instructions of class ALU. */
export const EndSource = { TO_LE: 0x00, TO_BE: 0x08 } as const;

/** Atomic operations, carried in the imm field of `STX | ATOMIC` instructions. */
export const AtomicOp = {
  ADD: 0x00,
  OR: 0x40,
  AND: 0x50,
  XOR: 0xa0,
  FETCH: 0x01,
  XCHG: 0xe0 | 0x01,
  CMPXCHG: 0xf0 | 0x01,
} as const;

/** The imm values an atomic instruction may carry. */
export const ATOMIC_IMMS: readonly number[] = [
  AtomicOp.ADD,
  AtomicOp.OR,
  AtomicOp.AND,
  AtomicOp.XOR,
  AtomicOp.ADD | AtomicOp.FETCH,
  AtomicOp.OR | AtomicOp.FETCH,
  AtomicOp.AND | AtomicOp.FETCH,
  AtomicOp.XOR | AtomicOp.FETCH,
  AtomicOp.XCHG,
  AtomicOp.CMPXCHG,
];

/** Meaning of the src field of a 64-bit immediate load (`lddw`). */
export const PseudoLd = {
  IMM64: 0,
  MAP_FD: 1,
  MAP_VALUE: 2,
  BTF_ID: 3,
  FUNC: 4,
  MAP_IDX: 5,
  MAP_IDX_VALUE: 6,
} as const;

/** Meaning of the src field of a `call` instruction. */
export const PseudoCall = { HELPER: 0, CALL: 1, KFUNC: 2 } as const;

/** Register names. R10 is the read-only frame pointer. */
export const Reg = { R0: 0, R1: 1, R2: 2, R3: 3, R4: 4, R5: 5, R6: 6, R7: 7, R8: 8, R9: 9, R10: 10 } as const;
/** Number of registers (r0..r10). */
export const NUM_REGS = 11;
/** Bytes of stack per frame. */
export const STACK_SIZE = 512;
/** Deepest bpf-to-bpf call chain (frames), as the kernel allows. */
export const MAX_CALL_FRAMES = 8;

/** Opcode of the first slot of a 64-bit immediate load. */
export const LDDW = Class.LD | Size.DW | Mode.IMM;

/** Build an opcode byte. */
export const op = {
  alu: (cls: number, aluOp: number, src: number) => cls | aluOp | src,
  jmp: (cls: number, jmpOp: number, src: number) => cls | jmpOp | src,
  mem: (cls: number, mode: number, size: number) => cls | mode | size,
};

/** Opcode field accessors. */
export const opClass = (code: number) => code & 0x07;
export const opSource = (code: number) => code & 0x08;
export const opAlu = (code: number) => code & 0xf0;
export const opJmp = (code: number) => code & 0xf0;
export const opSize = (code: number) => code & 0x18;
export const opMode = (code: number) => code & 0xe0;

/** Size in bytes of a load/store size code. */
export function sizeBytes(size: number): 1 | 2 | 4 | 8 {
  switch (size) {
    case Size.B:
      return 1;
    case Size.H:
      return 2;
    case Size.W:
      return 4;
    default:
      return 8;
  }
}

/** Size code of an access width in bytes. */
export function sizeCode(bytes: number): number {
  switch (bytes) {
    case 1:
      return Size.B;
    case 2:
      return Size.H;
    case 4:
      return Size.W;
    case 8:
      return Size.DW;
  }
  throw new RangeError(`no access size of ${bytes} bytes`);
}

/** One entry per ALU operation: its mnemonic (uBPF syntax) and operator (LLVM syntax). */
export interface AluOpInfo {
  op: number;
  /** uBPF/conformance mnemonic stem (`add`, `add32` is the 32-bit form). */
  name: string;
  /** LLVM/kernel syntax operator: `r0 += r1`. `neg` and `end` have special forms. */
  llvm: string;
  /** Signed variant mnemonic when `off == 1` (sdiv, smod). */
  signedName?: string;
  signedLlvm?: string;
}

export const ALU_OPS: readonly AluOpInfo[] = [
  { op: AluOp.ADD, name: 'add', llvm: '+=' },
  { op: AluOp.SUB, name: 'sub', llvm: '-=' },
  { op: AluOp.MUL, name: 'mul', llvm: '*=' },
  { op: AluOp.DIV, name: 'div', llvm: '/=', signedName: 'sdiv', signedLlvm: 's/=' },
  { op: AluOp.OR, name: 'or', llvm: '|=' },
  { op: AluOp.AND, name: 'and', llvm: '&=' },
  { op: AluOp.LSH, name: 'lsh', llvm: '<<=' },
  { op: AluOp.RSH, name: 'rsh', llvm: '>>=' },
  { op: AluOp.NEG, name: 'neg', llvm: '-' },
  { op: AluOp.MOD, name: 'mod', llvm: '%=', signedName: 'smod', signedLlvm: 's%=' },
  { op: AluOp.XOR, name: 'xor', llvm: '^=' },
  { op: AluOp.MOV, name: 'mov', llvm: '=' },
  { op: AluOp.ARSH, name: 'arsh', llvm: 's>>=' },
  { op: AluOp.END, name: 'end', llvm: 'end' },
];

/** One entry per jump operation: mnemonic (uBPF syntax) and comparison operator (LLVM syntax). */
export interface JmpOpInfo {
  op: number;
  name: string;
  /** LLVM comparison operator for conditional jumps (`if r1 > r2 goto +3`); empty for ja/call/exit. */
  llvm: string;
  conditional: boolean;
}

export const JMP_OPS: readonly JmpOpInfo[] = [
  { op: JmpOp.JA, name: 'ja', llvm: '', conditional: false },
  { op: JmpOp.JEQ, name: 'jeq', llvm: '==', conditional: true },
  { op: JmpOp.JGT, name: 'jgt', llvm: '>', conditional: true },
  { op: JmpOp.JGE, name: 'jge', llvm: '>=', conditional: true },
  { op: JmpOp.JSET, name: 'jset', llvm: '&', conditional: true },
  { op: JmpOp.JNE, name: 'jne', llvm: '!=', conditional: true },
  { op: JmpOp.JSGT, name: 'jsgt', llvm: 's>', conditional: true },
  { op: JmpOp.JSGE, name: 'jsge', llvm: 's>=', conditional: true },
  { op: JmpOp.CALL, name: 'call', llvm: '', conditional: false },
  { op: JmpOp.EXIT, name: 'exit', llvm: '', conditional: false },
  { op: JmpOp.JLT, name: 'jlt', llvm: '<', conditional: true },
  { op: JmpOp.JLE, name: 'jle', llvm: '<=', conditional: true },
  { op: JmpOp.JSLT, name: 'jslt', llvm: 's<', conditional: true },
  { op: JmpOp.JSLE, name: 'jsle', llvm: 's<=', conditional: true },
];

/** Size suffixes: uBPF mnemonic suffix and LLVM C type. */
export interface SizeInfo {
  size: number;
  bytes: 1 | 2 | 4 | 8;
  suffix: 'b' | 'h' | 'w' | 'dw';
  ctype: 'u8' | 'u16' | 'u32' | 'u64';
  sctype: 's8' | 's16' | 's32' | 's64';
}

export const SIZES: readonly SizeInfo[] = [
  { size: Size.B, bytes: 1, suffix: 'b', ctype: 'u8', sctype: 's8' },
  { size: Size.H, bytes: 2, suffix: 'h', ctype: 'u16', sctype: 's16' },
  { size: Size.W, bytes: 4, suffix: 'w', ctype: 'u32', sctype: 's32' },
  { size: Size.DW, bytes: 8, suffix: 'dw', ctype: 'u64', sctype: 's64' },
];

/** Atomic operation names: uBPF (`lock add`, `lock fetch_add`...) and LLVM operator stems. */
export interface AtomicOpInfo {
  imm: number;
  name: string;
  /** LLVM syntax operator for the non-fetch form (`lock *(u64 *)(r1 + 0) += r2`), or the fetch keyword. */
  llvm: string;
  fetch: boolean;
}

export const ATOMIC_OPS: readonly AtomicOpInfo[] = [
  { imm: AtomicOp.ADD, name: 'add', llvm: '+=', fetch: false },
  { imm: AtomicOp.OR, name: 'or', llvm: '|=', fetch: false },
  { imm: AtomicOp.AND, name: 'and', llvm: '&=', fetch: false },
  { imm: AtomicOp.XOR, name: 'xor', llvm: '^=', fetch: false },
  { imm: AtomicOp.ADD | AtomicOp.FETCH, name: 'fetch_add', llvm: 'add', fetch: true },
  { imm: AtomicOp.OR | AtomicOp.FETCH, name: 'fetch_or', llvm: 'or', fetch: true },
  { imm: AtomicOp.AND | AtomicOp.FETCH, name: 'fetch_and', llvm: 'and', fetch: true },
  { imm: AtomicOp.XOR | AtomicOp.FETCH, name: 'fetch_xor', llvm: 'xor', fetch: true },
  { imm: AtomicOp.XCHG, name: 'xchg', llvm: 'xchg', fetch: true },
  { imm: AtomicOp.CMPXCHG, name: 'cmpxchg', llvm: 'cmpxchg', fetch: true },
];
