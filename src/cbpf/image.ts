/**
 * tcpdump's three dump formats of a classic program: `-d` (libpcap's bpf_image text), `-dd` (C array
 * initialisers) and `-ddd` (decimal: the count, then `code jt jf k` per line).
 */
import type { SockFilter } from './insn.js';
import { ANCILLARY_NAMES, AluOp, CClass, CMode, JmpOp, MiscOp, Mode, Rval, SKF_AD_OFF, SkfAd, Size, cls, mode, op, size, src } from './opcodes.js';

/** libpcap's names for ancillary loads in `-d` output: bpf_asm's, except for these three (and xor_x, which bpf_asm lacks). */
const IMAGE_AD_NAMES: Record<number, string> = {
  ...ANCILLARY_NAMES,
  [SkfAd.ALU_XOR_X]: 'xor_x',
  [SkfAd.VLAN_TAG_PRESENT]: 'vlanp',
  [SkfAd.RANDOM]: 'random',
};

const ALU_IMAGE: Record<number, [string, boolean]> = {
  // name, hex immediate?
  [AluOp.ADD]: ['add', false],
  [AluOp.SUB]: ['sub', false],
  [AluOp.MUL]: ['mul', false],
  [AluOp.DIV]: ['div', false],
  [AluOp.MOD]: ['mod', false],
  [AluOp.AND]: ['and', true],
  [AluOp.OR]: ['or', true],
  [AluOp.XOR]: ['xor', true],
  [AluOp.LSH]: ['lsh', false],
  [AluOp.RSH]: ['rsh', false],
};

const s32 = (k: number) => String(k | 0);
const hx = (k: number) => `0x${(k >>> 0).toString(16)}`;

function absOperand(k: number): string {
  const sel = (k >>> 0) - (SKF_AD_OFF >>> 0);
  if (sel >= 0 && sel < SkfAd.MAX && IMAGE_AD_NAMES[sel]) return `[${IMAGE_AD_NAMES[sel]}]`;
  return `[${s32(k)}]`;
}

/** One line of `tcpdump -d` for the instruction at index n (libpcap's bpf_image). */
export function bpfImage(i: SockFilter, n: number): string {
  let opName = 'unimp';
  let operand = hx(i.code);
  const c = i.code;
  const ldName = (sz: number) => (sz === Size.W ? 'ld' : sz === Size.H ? 'ldh' : 'ldb');
  switch (cls(c)) {
    case CClass.RET:
      if (c === (CClass.RET | Rval.K)) [opName, operand] = ['ret', `#${s32(i.k)}`];
      else if (c === (CClass.RET | Rval.A)) [opName, operand] = ['ret', ''];
      break;
    case CClass.LD:
      if (mode(c) === Mode.ABS && size(c) !== 0x18) [opName, operand] = [ldName(size(c)), absOperand(i.k)];
      else if (mode(c) === Mode.IND && size(c) !== 0x18) [opName, operand] = [ldName(size(c)), `[x + ${s32(i.k)}]`];
      else if (c === (CClass.LD | Size.W | CMode.LEN)) [opName, operand] = ['ld', '#pktlen'];
      else if (c === (CClass.LD | Mode.IMM)) [opName, operand] = ['ld', `#${hx(i.k)}`];
      else if (c === (CClass.LD | Mode.MEM)) [opName, operand] = ['ld', `M[${s32(i.k)}]`];
      break;
    case CClass.LDX:
      if (c === (CClass.LDX | Mode.IMM)) [opName, operand] = ['ldx', `#${hx(i.k)}`];
      else if (c === (CClass.LDX | Size.B | CMode.MSH)) [opName, operand] = ['ldxb', `4*([${s32(i.k)}]&0xf)`];
      else if (c === (CClass.LDX | Mode.MEM)) [opName, operand] = ['ldx', `M[${s32(i.k)}]`];
      break;
    case CClass.ST:
      if (c === CClass.ST) [opName, operand] = ['st', `M[${s32(i.k)}]`];
      break;
    case CClass.STX:
      if (c === CClass.STX) [opName, operand] = ['stx', `M[${s32(i.k)}]`];
      break;
    case CClass.JMP: {
      const names: Record<number, string> = { [JmpOp.JA]: 'ja', [JmpOp.JEQ]: 'jeq', [JmpOp.JGT]: 'jgt', [JmpOp.JGE]: 'jge', [JmpOp.JSET]: 'jset' };
      const name = names[op(c)];
      if (name === 'ja' && !src(c)) [opName, operand] = ['ja', String(n + 1 + (i.k | 0))];
      else if (name && name !== 'ja') [opName, operand] = [name, src(c) ? 'x' : `#${hx(i.k)}`];
      break;
    }
    case CClass.ALU:
      if (op(c) === AluOp.NEG && !src(c)) [opName, operand] = ['neg', ''];
      else if (ALU_IMAGE[op(c)]) {
        const [name, hex] = ALU_IMAGE[op(c)]!;
        [opName, operand] = [name, src(c) ? 'x' : hex ? `#${hx(i.k)}` : `#${s32(i.k)}`];
      }
      break;
    case CClass.MISC:
      if (c === (CClass.MISC | MiscOp.TAX)) [opName, operand] = ['tax', ''];
      else if (c === (CClass.MISC | MiscOp.TXA)) [opName, operand] = ['txa', ''];
      break;
  }
  const num = `(${String(n).padStart(3, '0')})`;
  if (cls(c) === CClass.JMP && op(c) !== JmpOp.JA && opName !== 'unimp') {
    return `${num} ${opName.padEnd(8)} ${operand.padEnd(16)} jt ${n + 1 + i.jt}\tjf ${n + 1 + i.jf}`;
  }
  return `${num} ${opName.padEnd(8)} ${operand}`;
}

/** The output of `tcpdump -d` (each line newline-terminated). */
export function formatDump(prog: readonly SockFilter[]): string {
  return prog.map((i, n) => bpfImage(i, n) + '\n').join('');
}

/** The output of `tcpdump -dd`. */
export function formatDumpC(prog: readonly SockFilter[]): string {
  return prog.map((i) => `{ 0x${i.code.toString(16)}, ${i.jt}, ${i.jf}, 0x${(i.k >>> 0).toString(16).padStart(8, '0')} },\n`).join('');
}

/** The output of `tcpdump -ddd`. */
export function formatDumpDecimal(prog: readonly SockFilter[]): string {
  return `${prog.length}\n` + prog.map((i) => `${i.code} ${i.jt} ${i.jf} ${i.k >>> 0}\n`).join('');
}

/** Parse `-ddd` text (count line then `code jt jf k` lines) back into a program. */
export function parseDumpDecimal(text: string): SockFilter[] {
  const lines = text.trim().split(/\r?\n/);
  const n = Number(lines[0]);
  return lines.slice(1, 1 + n).map((l) => {
    const [code, jt, jf, k] = l.trim().split(/\s+/).map(Number);
    return { code: code!, jt: jt!, jf: jf!, k: k! >>> 0 };
  });
}
