/**
 * Wording of verifier errors and log lines: register states in plain words and in the kernel's terse names,
 * and the final `VerifierError` message naming the pc, the instruction, the reason, the source line and the
 * kernel's wording.
 */
import { formatLlvmAsm } from '../asm/llvm-format.js';
import { VerifierError } from '../errors.js';
import type { Insn } from '../isa/insn.js';
import type { SourceLine } from '../spec/program.js';
import { constOf, describeScalar, kernelScalar } from './bounds.js';
import type { Reg, VState } from './state.js';

const KTYPE: Record<string, string> = {
  not_init: '?',
  scalar: 'scalar',
  ctx: 'ctx',
  stack: 'fp',
  map_ptr: 'map_ptr',
  map_value: 'map_value',
  map_key: 'map_key',
  pkt: 'pkt',
  pkt_meta: 'pkt_meta',
  pkt_end: 'pkt_end',
  mem: 'mem',
  func: 'func',
  flow_keys: 'flow_keys',
  sock: 'sock',
  sock_common: 'sock_common',
  tcp_sock: 'tcp_sock',
};

/** The kernel's name for a register type (`map_value_or_null`, `pkt_end`, `fp`). */
export function kernelType(r: Reg): string {
  const base = r.type === 'mem' && r.refId !== undefined ? 'ringbuf_mem' : KTYPE[r.type]!;
  return r.maybeNull ? `${base}_or_null` : base;
}

function offText(r: Reg): string {
  const c = constOf(r.s);
  if (c !== undefined) {
    const o = r.off + Number(BigInt.asIntN(64, c));
    return o ? ` + ${o}` : '';
  }
  return ` + ${r.off ? r.off + ' + ' : ''}(variable ${describeScalar(r.s)})`;
}

/** A register's abstract value in plain words. */
export function describeReg(r: Reg): string {
  switch (r.type) {
    case 'not_init':
      return 'uninitialised';
    case 'scalar':
      return `scalar ${describeScalar(r.s)}`;
    case 'ctx':
      return `pointer to the context${offText(r)}`;
    case 'stack':
      return `pointer to the stack (r10${offText(r) || ' + 0'})`;
    case 'map_ptr':
      return `map ${r.map?.name ?? '?'}`;
    case 'map_value':
      return `${r.maybeNull ? 'possibly-NULL ' : ''}pointer to a value of map ${r.map?.name ?? '?'} (${r.map?.valueSize ?? '?'} bytes)${offText(r)}`;
    case 'map_key':
      return `pointer to a key of map ${r.map?.name ?? '?'}${offText(r)}`;
    case 'pkt':
      return `packet pointer${offText(r)} with ${r.range ?? 0} bytes proven readable`;
    case 'pkt_meta':
      return `packet metadata pointer${offText(r)} with ${r.range ?? 0} bytes proven readable`;
    case 'pkt_end':
      return 'the packet end pointer';
    case 'mem':
      return `${r.maybeNull ? 'possibly-NULL ' : ''}pointer to ${r.memSize} bytes of ${r.refId !== undefined ? 'ring buffer record' : 'memory'}${offText(r)}`;
    case 'func':
      return `pointer to the function at insn ${r.subprog}`;
    case 'flow_keys':
      return `pointer to the flow keys (struct bpf_flow_keys)${offText(r)}`;
    case 'sock':
    case 'sock_common':
    case 'tcp_sock': {
      const what = r.type === 'sock' ? 'socket (struct bpf_sock)' : r.type === 'sock_common' ? 'socket (struct bpf_sock, common fields only)' : 'TCP socket (struct bpf_tcp_sock)';
      return `${r.maybeNull ? 'possibly-NULL ' : ''}${r.refId !== undefined ? 'referenced ' : ''}pointer to a ${what}${offText(r)}`;
    }
  }
}

/** Kernel-log style register (`R3_w=map_value_or_null(id=1,off=0,ks=4,vs=8)`). */
export function kernelReg(n: number, r: Reg): string {
  if (r.type === 'scalar') return `R${n}=${kernelScalar(r.s)}`;
  const parts: string[] = [];
  if (r.id) parts.push(`id=${r.id}`);
  if (r.refId) parts.push(`ref_obj_id=${r.refId}`);
  parts.push(`off=${r.off}`);
  if (r.type === 'pkt' || r.type === 'pkt_meta') parts.push(`r=${r.range ?? 0}`);
  if (r.map) parts.push(`ks=${r.map.keySize},vs=${r.map.valueSize}`);
  if (r.memSize !== undefined) parts.push(`sz=${r.memSize}`);
  return `R${n}=${kernelType(r)}(${parts.join(',')})`;
}

/** One-line kernel-style dump of the current frame's initialised registers. */
export function kernelState(st: VState): string {
  const f = st.frames[st.frames.length - 1]!;
  const out: string[] = [];
  f.regs.forEach((r, n) => {
    if (r.type !== 'not_init') out.push(kernelReg(n, r));
  });
  return (st.frames.length > 1 ? `frame${st.frames.length - 1}: ` : '') + out.join(' ');
}

function formatSourceLine(s: SourceLine): string {
  return `${s.file.split('/').pop()}:${s.line}${s.text ? ` '${s.text.trim()}'` : ''}`;
}

/** The source line of `pc`, or of the nearest earlier instruction that has one. */
export function sourceOf(lines: readonly (SourceLine | undefined)[] | undefined, pc: number): SourceLine | undefined {
  if (!lines) return undefined;
  for (let i = Math.min(pc, lines.length - 1); i >= 0; i--) if (lines[i]) return lines[i];
  return undefined;
}

/** Build the error users see. */
export function makeError(insns: readonly Insn[], pc: number, why: string, kernel: string | undefined, lines: readonly (SourceLine | undefined)[] | undefined, log: string[]): VerifierError {
  let text = '';
  if (pc >= 0 && pc < insns.length) {
    try {
      text = formatLlvmAsm(insns, pc);
    } catch {
      text = '';
    }
  }
  const src = sourceOf(lines, pc);
  const reason = `${why}${text ? ` — at '${text}'` : ''}${kernel ? ` (kernel: ${kernel})` : ''}`;
  return new VerifierError(pc, reason, { sourceLine: src ? formatSourceLine(src) : undefined, log: log.join('\n') || undefined });
}
