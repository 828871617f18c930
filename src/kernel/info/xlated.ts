/**
 * A loaded program's translated (xlated) instructions as the kernel reports them (BPF_OBJ_GET_INFO_BY_FD:
 * xlated_prog_insns, func_info, line_info and the program's BTF), disassembled in the kernel / bpftool syntax:
 * helper calls named through /proc/kallsyms (the kernel stores them as offsets from __bpf_call_base), map
 * references as `map[id:N]`, source lines and function prototypes from BTF when the program has them.
 */
import { readFileSync } from 'node:fs';
import { formatKernel } from '../../asm/llvm-format.js';
import { insnSlots } from '../../asm/slots.js';
import { Btf } from '../../btf/btf.js';
import { helperById } from '../../isa/helpers.js';
import { decodeProgram, type Insn } from '../../isa/insn.js';
import { Class, JmpOp, PseudoCall, Source, opClass, opJmp, opSource } from '../../isa/opcodes.js';
import { Attr, scratchAttr, bpfAttr } from '../sys/bpf.js';
import { openById } from './ids.js';
import { btfInfo } from './info.js';

/** One source line record (struct bpf_line_info, resolved). */
export interface XlatedLine {
  file: string;
  line: number;
  col: number;
  /** The source text (may be empty). */
  src: string;
}

/** One instruction (an lddw is one entry covering two slots). */
export interface XlatedInsn {
  /** Slot index. */
  pc: number;
  /** The instruction (first slot). */
  insn: Insn;
  /** 1, or 2 for lddw. */
  slots: 1 | 2;
  /** The kernel-style text, with the opcode: `(85) call bpf_get_current_pid_tgid#269056`. */
  text: string;
  /** The raw bytes (8 or 16). */
  bytes: Uint8Array;
  /** Function prototype when a BTF func_info record starts here (`int prog(struct xdp_md * ctx)`). */
  func?: string;
  /** Line info records starting at this instruction. */
  lines: XlatedLine[];
}

/** A program's xlated dump. */
export interface XlatedDump {
  progId: number;
  name: string;
  insns: XlatedInsn[];
  /** Number of instruction slots (xlated_prog_len / 8). */
  slotCount: number;
}

let kallsyms: Map<bigint, string> | undefined;
let callBase: bigint | undefined;

/** Text symbols by address, and __bpf_call_base (0n when /proc/kallsyms hides addresses). */
function kernelSymbols(): { syms: Map<bigint, string>; base: bigint } {
  if (!kallsyms) {
    kallsyms = new Map();
    let text = '';
    try {
      text = readFileSync('/proc/kallsyms', 'latin1');
    } catch {
      /* no kallsyms: helpers are named from the helper table only */
    }
    for (const line of text.split('\n')) {
      const sp1 = line.indexOf(' ');
      if (sp1 < 0) continue;
      const t = line[sp1 + 1];
      if (t !== 'T' && t !== 't') continue;
      let name = line.slice(sp1 + 3);
      const tab = name.indexOf('\t');
      if (tab >= 0) name = name.slice(0, tab);
      const addr = BigInt('0x' + line.slice(0, sp1));
      if (addr === 0n) continue;
      if (name === '__bpf_call_base') callBase = addr;
      if (!kallsyms.has(addr) && !name.startsWith('__pfx_')) kallsyms.set(addr, name);
    }
  }
  return { syms: kallsyms, base: callBase ?? 0n };
}

/** The helper call's name as bpftool prints it: kallsyms at __bpf_call_base + imm, else the helper table's. */
function helperName(imm: number): string {
  const { syms, base } = kernelSymbols();
  const sym = base ? syms.get(base + BigInt(imm)) : undefined;
  return sym ?? helperById(imm)?.fullName ?? 'unknown';
}

function formatXlated(insns: readonly Insn[], pc: number): string {
  const i = insns[pc]!;
  const cls = opClass(i.code);
  if (cls === Class.JMP && opJmp(i.code) === JmpOp.CALL && opSource(i.code) === Source.K && i.src !== PseudoCall.CALL && i.src !== PseudoCall.KFUNC) {
    return `(${i.code.toString(16).padStart(2, '0')}) call ${helperName(i.imm)}#${i.imm}`;
  }
  return formatKernel(insns, pc);
}

/** Fetch xlated instructions, func_info and line_info of the program behind `fd`. */
function fetch(fd: number): { id: number; name: string; xlated: Buffer; btfId: number; funcs: Buffer; funcRec: number; lines: Buffer; lineRec: number } {
  const a = scratchAttr('INFO');
  const first = new Attr('PROG_INFO');
  a.set('bpf_fd', fd).set('info_len', first.size).set('info', first.buf);
  bpfAttr('OBJ_GET_INFO_BY_FD', a);
  const xlen = first.get('xlated_prog_len');
  const nFunc = first.get('nr_func_info');
  const funcRec = first.get('func_info_rec_size');
  const nLine = first.get('nr_line_info');
  const lineRec = first.get('line_info_rec_size');
  const xlated = Buffer.alloc(xlen);
  const funcs = Buffer.alloc(nFunc * funcRec);
  const lines = Buffer.alloc(nLine * lineRec);
  const info = new Attr('PROG_INFO');
  info.setAll({ xlated_prog_len: xlen, xlated_prog_insns: xlated });
  if (nFunc) info.setAll({ nr_func_info: nFunc, func_info_rec_size: funcRec, func_info: funcs });
  if (nLine) info.setAll({ nr_line_info: nLine, line_info_rec_size: lineRec, line_info: lines });
  const b = scratchAttr('INFO');
  b.set('bpf_fd', fd).set('info_len', info.size).set('info', info.buf);
  bpfAttr('OBJ_GET_INFO_BY_FD', b);
  if (info.get('xlated_prog_len') > xlen) throw new Error('internal: xlated program grew');
  return { id: info.get('id'), name: info.getString('name'), xlated: xlated.subarray(0, info.get('xlated_prog_len')), btfId: info.get('btf_id'), funcs, funcRec, lines, lineRec };
}

/** The program's BTF (by id), or undefined when it has none or it cannot be read. */
function progBtf(btfId: number): Btf | undefined {
  if (!btfId) return undefined;
  const fd = openById('btf', btfId);
  try {
    const data = btfInfo(fd.fd, { withData: true }).data;
    return data ? Btf.parse(data, { name: `btf ${btfId}` }) : undefined;
  } catch {
    return undefined;
  } finally {
    fd.close();
  }
}

/**
 * The translated instructions of the program behind `fd`, disassembled. An empty list when the kernel gives no
 * instructions (bpf_dump_raw_ok: without CAP_SYS_ADMIN / CAP_PERFMON the lengths are reported as 0).
 */
export function dumpXlated(fd: number): XlatedDump {
  const f = fetch(fd);
  const insns = decodeProgram(new Uint8Array(f.xlated), { validate: false });
  const btf = progBtf(f.btfId);
  const funcAt = new Map<number, string>();
  const linesAt = new Map<number, XlatedLine[]>();
  if (btf) {
    const str = (off: number) => {
      try {
        return btf.strings.get(off);
      } catch {
        return '';
      }
    };
    for (let o = 0; o + 8 <= f.funcs.length && f.funcRec >= 8; o += f.funcRec) {
      const insnOff = f.funcs.readUInt32LE(o);
      const typeId = f.funcs.readUInt32LE(o + 4);
      try {
        const name = btf.nameOf(typeId);
        funcAt.set(insnOff, btf.typeToC(btf.sizeOrTypeOf(typeId), name));
      } catch {
        /* a func_info entry we cannot resolve: no prototype line */
      }
    }
    for (let o = 0; o + 16 <= f.lines.length && f.lineRec >= 16; o += f.lineRec) {
      const insnOff = f.lines.readUInt32LE(o);
      const lc = f.lines.readUInt32LE(o + 12);
      const rec: XlatedLine = { file: str(f.lines.readUInt32LE(o + 4)), src: str(f.lines.readUInt32LE(o + 8)), line: lc >>> 10, col: lc & 0x3ff };
      const list = linesAt.get(insnOff) ?? [];
      list.push(rec);
      linesAt.set(insnOff, list);
    }
  }
  const out: XlatedInsn[] = [];
  for (let pc = 0; pc < insns.length; ) {
    const slots = pc + 1 < insns.length ? insnSlots(insns, pc) : 1;
    out.push({
      pc,
      insn: insns[pc]!,
      slots,
      text: formatXlated(insns, pc),
      bytes: new Uint8Array(f.xlated.subarray(pc * 8, (pc + slots) * 8)),
      func: funcAt.get(pc),
      lines: linesAt.get(pc) ?? [],
    });
    pc += slots;
  }
  return { progId: f.id, name: f.name, insns: out, slotCount: insns.length };
}
