/**
 * Seccomp policies compiled to classic BPF. A policy is JSON:
 *
 *   { "defaultAction": "allow" | "kill_process" | "kill_thread" | "trap" | "log" | "errno(N)" | {"errno": N}
 *                      | "trace(N)" | {"trace": N},
 *     "architectures": ["x86_64", "aarch64"],          // optional; default: the running architecture
 *     "syscalls": [ { "names": ["mkdir", "mkdirat"], "action": "errno(EPERM)",
 *                     "args": [ { "index": 1, "op": "==", "value": 511, "valueTwo": 0 } ] } ] }
 *
 * The program checks `seccomp_data.arch` against each listed AUDIT_ARCH (other architectures are killed),
 * refuses x32 system calls on x86_64 with the default action, then tests the system call number rule by
 * rule (the first rule whose number and arguments match decides). Argument tests compare all 64 bits as
 * unsigned values, high and low halves separately; `&` is `(arg & value) == valueTwo`, or `(arg & value) != 0`
 * without valueTwo. Rules are ANDed within a rule (all `args` must match).
 */
import { CbpfError } from '../errors.js';
import { hostArch as currentArch } from '../host/io.js';
import { LINUX_ERRNO } from '../isa/errno.js';
import type { SockFilter } from './insn.js';
import { validateFilter } from './insn.js';
import { AuditArch, CClass, JmpOp, Mode, SeccompRet, Size, AluOp, Source } from './opcodes.js';
import { SECCOMP_DATA, fieldNamed } from '../isa/contexts.js';
import { type Expr, Block, and, leaf, not, or, retBlock } from './filter/gencode.js';
import { optimize } from './filter/optimize.js';
import { emit } from './filter/emit.js';
import { SYSCALLS_X86_64 } from '../isa/syscalls-x86_64.js';
import { SYSCALLS_AARCH64 } from '../isa/syscalls-aarch64.js';

/** A seccomp action as written in a policy. */
export type SeccompAction = string | { errno: number | string } | { trace: number };

/** One argument condition. */
export interface SeccompArg {
  index: number;
  op: '==' | '!=' | '<' | '<=' | '>' | '>=' | '&';
  value: number | string;
  valueTwo?: number | string;
}

/** One rule. */
export interface SeccompRule {
  names: string[];
  action: SeccompAction;
  args?: SeccompArg[];
}

/** A whole policy. */
export interface SeccompPolicy {
  defaultAction: SeccompAction;
  architectures?: string[];
  syscalls: SeccompRule[];
}

/** Architectures with a syscall table. */
export const SECCOMP_ARCHES: Record<string, { audit: number; table: Readonly<Record<string, number>>; x32?: boolean }> = {
  x86_64: { audit: AuditArch.X86_64, table: SYSCALLS_X86_64, x32: true },
  aarch64: { audit: AuditArch.AARCH64, table: SYSCALLS_AARCH64 },
};

/** The running architecture's name in SECCOMP_ARCHES terms. */
export function hostSeccompArch(): string {
  const hostArch = currentArch() || 'unknown';
  if (hostArch === 'x64') return 'x86_64';
  if (hostArch === 'arm64') return 'aarch64';
  throw new CbpfError(`no seccomp syscall table for architecture ${hostArch}`);
}

/** Syscall number of a name on an architecture, or undefined. */
export function syscallNumber(name: string, arch = hostSeccompArch()): number | undefined {
  return SECCOMP_ARCHES[arch]?.table[name];
}

const ERRNO = LINUX_ERRNO;

/** The SECCOMP_RET_* value of an action. Throws CbpfError naming `where` on a bad action. */
export function seccompActionValue(a: SeccompAction, where = 'action'): number {
  const num = (v: number | string, what: string): number => {
    const n = typeof v === 'number' ? v : /^[0-9]+$/.test(v) ? Number(v) : ERRNO[v];
    if (n === undefined || !Number.isInteger(n) || n < 0 || n > 0xffff) throw new CbpfError(`${where}: bad ${what} '${v}'`);
    return n;
  };
  if (typeof a === 'object' && a !== null) {
    if ('errno' in a) return (SeccompRet.ERRNO | num(a.errno, 'errno')) >>> 0;
    if ('trace' in a) return (SeccompRet.TRACE | num(a.trace, 'trace value')) >>> 0;
    throw new CbpfError(`${where}: unknown action ${JSON.stringify(a)}`);
  }
  if (typeof a !== 'string') throw new CbpfError(`${where}: action must be a string or an object`);
  const m = /^(errno|trace)\(\s*([A-Za-z0-9]+)\s*\)$/.exec(a.trim());
  if (m) return m[1] === 'errno' ? (SeccompRet.ERRNO | num(m[2]!, 'errno')) >>> 0 : (SeccompRet.TRACE | num(m[2]!, 'trace value')) >>> 0;
  switch (a.trim()) {
    case 'allow':
      return SeccompRet.ALLOW;
    case 'kill_process':
      return SeccompRet.KILL_PROCESS >>> 0;
    case 'kill_thread':
    case 'kill':
      return SeccompRet.KILL_THREAD;
    case 'trap':
      return SeccompRet.TRAP;
    case 'log':
      return SeccompRet.LOG;
    case 'trace':
      return SeccompRet.TRACE;
    case 'errno':
      return (SeccompRet.ERRNO | 1) >>> 0;
  }
  throw new CbpfError(`${where}: unknown action '${a}'`);
}

function u64(v: number | string, where: string): bigint {
  let b: bigint;
  try {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new Error('not an integer');
    b = typeof v === 'number' ? BigInt(v) : BigInt(v.trim());
  } catch {
    throw new CbpfError(`${where}: '${v}' is not an integer`);
  }
  if (b < -(1n << 63n) || b >= 1n << 64n) throw new CbpfError(`${where}: ${v} does not fit in 64 bits`);
  return BigInt.asUintN(64, b);
}

const LD_W_ABS = CClass.LD | Size.W | Mode.ABS;
/** Offsets in `struct seccomp_data` (the one layout table, src/isa/contexts.ts). */
const SD_NR = fieldNamed(SECCOMP_DATA, 'nr')!.offset;
const SD_ARCH = fieldNamed(SECCOMP_DATA, 'arch')!.offset;
const SD_IP = fieldNamed(SECCOMP_DATA, 'instruction_pointer')!.offset;
const SD_ARGS = fieldNamed(SECCOMP_DATA, 'args')!.offset;
const jmp = (jop: number, k: number, off: number, extra: { code: number; k: number }[] = []): Expr =>
  leaf(new Block(CClass.JMP | jop | Source.K, k >>> 0, [{ code: LD_W_ABS, k: off }, ...extra]));

/** One 64-bit argument condition as a test expression over seccomp_data.args[index]. */
function argTest(c: SeccompArg, where: string): Expr {
  if (!Number.isInteger(c.index) || c.index < 0 || c.index > 5) throw new CbpfError(`${where}.index: must be 0..5`);
  const lo = SD_ARGS + 8 * c.index;
  const hi = lo + 4;
  const v = u64(c.value, `${where}.value`);
  const vHi = Number(v >> 32n);
  const vLo = Number(v & 0xffffffffn);
  const eq = () => and(jmp(JmpOp.JEQ, vHi, hi), jmp(JmpOp.JEQ, vLo, lo));
  const gt = (strictLo: boolean) => or(jmp(JmpOp.JGT, vHi, hi), and(jmp(JmpOp.JEQ, vHi, hi), jmp(strictLo ? JmpOp.JGT : JmpOp.JGE, vLo, lo)));
  switch (c.op) {
    case '==':
      return eq();
    case '!=':
      return not(eq());
    case '>':
      return gt(true);
    case '>=':
      return gt(false);
    case '<':
      return not(gt(false));
    case '<=':
      return not(gt(true));
    case '&': {
      if (c.valueTwo === undefined) return or(jmp(JmpOp.JSET, vHi, hi), jmp(JmpOp.JSET, vLo, lo));
      const t = u64(c.valueTwo, `${where}.valueTwo`);
      const and32 = (m: number) => [{ code: CClass.ALU | AluOp.AND | Source.K, k: m >>> 0 }];
      return and(jmp(JmpOp.JEQ, Number(t >> 32n), hi, and32(vHi)), jmp(JmpOp.JEQ, Number(t & 0xffffffffn), lo, and32(vLo)));
    }
  }
  throw new CbpfError(`${where}.op: unknown operator '${(c as SeccompArg).op}'`);
}

/** Check a parsed JSON value is a policy (throws CbpfError naming the offending field). */
export function parseSeccompPolicy(json: unknown): SeccompPolicy {
  const p = json as SeccompPolicy;
  if (!p || typeof p !== 'object') throw new CbpfError('policy must be a JSON object');
  if (p.defaultAction === undefined) throw new CbpfError('policy: defaultAction is missing');
  seccompActionValue(p.defaultAction, 'defaultAction');
  if (!Array.isArray(p.syscalls)) throw new CbpfError('policy: syscalls must be an array');
  if (p.architectures !== undefined) {
    if (!Array.isArray(p.architectures) || !p.architectures.length) throw new CbpfError('policy: architectures must be a non-empty array');
    for (const a of p.architectures) if (!SECCOMP_ARCHES[a]) throw new CbpfError(`policy: unknown architecture '${a}' (known: ${Object.keys(SECCOMP_ARCHES).join(', ')})`);
  }
  p.syscalls.forEach((r, i) => {
    const where = `syscalls[${i}]`;
    if (!r || !Array.isArray(r.names) || !r.names.length || r.names.some((n) => typeof n !== 'string')) throw new CbpfError(`${where}.names: must be a non-empty array of names`);
    seccompActionValue(r.action, `${where}.action`);
    if (r.args !== undefined && !Array.isArray(r.args)) throw new CbpfError(`${where}.args: must be an array`);
  });
  return p;
}

/**
 * Compile a policy into a seccomp program (validated; at most 4096 instructions). Syscall names are looked up
 * per architecture; a name no listed architecture knows is an error.
 */
export function compileSeccomp(policy: SeccompPolicy): SockFilter[] {
  parseSeccompPolicy(policy);
  const arches = policy.architectures ?? [hostSeccompArch()];
  const dflt = seccompActionValue(policy.defaultAction, 'defaultAction');
  for (const [i, r] of policy.syscalls.entries()) {
    for (const n of r.names) {
      if (!arches.some((a) => SECCOMP_ARCHES[a]!.table[n] !== undefined) && !/^[0-9]+$/.test(n)) {
        throw new CbpfError(`syscalls[${i}].names: unknown system call '${n}' on ${arches.join(', ')}`);
      }
    }
  }
  const rets = new Map<number, Block>();
  const ret = (v: number) => {
    if (!rets.has(v >>> 0)) rets.set(v >>> 0, retBlock(v >>> 0));
    return rets.get(v >>> 0)!;
  };
  // Per architecture: a chain of rules ending in the default action.
  const section = (archName: string): Block => {
    const { table, x32 } = SECCOMP_ARCHES[archName]!;
    let next: Block = ret(dflt);
    for (let i = policy.syscalls.length - 1; i >= 0; i--) {
      const r = policy.syscalls[i]!;
      const nrs = [...new Set(r.names.map((n) => (/^[0-9]+$/.test(n) ? Number(n) : table[n])).filter((v): v is number => v !== undefined))];
      if (!nrs.length) continue;
      let test: Expr = jmp(JmpOp.JEQ, nrs[0]!, SD_NR);
      for (const nr of nrs.slice(1)) test = or(test, jmp(JmpOp.JEQ, nr, SD_NR));
      (r.args ?? []).forEach((c, j) => {
        test = and(test, argTest(c, `syscalls[${i}].args[${j}]`));
      });
      for (const p of test.t) p.b[p.side] = ret(seccompActionValue(r.action));
      for (const p of test.f) p.b[p.side] = next;
      next = test.head;
    }
    if (x32) {
      // x32 system calls (bit 30 set) share the x86_64 arch value: give them the default action.
      const t = jmp(JmpOp.JGE, 0x40000000 /* __X32_SYSCALL_BIT */, SD_NR);
      for (const p of t.t) p.b[p.side] = ret(dflt);
      for (const p of t.f) p.b[p.side] = next;
      next = t.head;
    }
    return next;
  };
  let chain: Block = ret(SeccompRet.KILL_PROCESS);
  for (let i = arches.length - 1; i >= 0; i--) {
    const t = jmp(JmpOp.JEQ, SECCOMP_ARCHES[arches[i]!]!.audit, SD_ARCH);
    for (const p of t.t) p.b[p.side] = section(arches[i]!);
    for (const p of t.f) p.b[p.side] = chain;
    chain = t.head;
  }
  const prog = emit(optimize(chain));
  validateFilter(prog, { noAncillary: true });
  return prog;
}

/** The seccomp_data fields a test run supplies. */
export interface SeccompData {
  nr: number;
  arch?: number;
  instructionPointer?: bigint;
  args?: (bigint | number)[];
}

/**
 * struct seccomp_data as the classic interpreter must see it. The kernel serves seccomp's 32-bit loads in
 * native byte order, while `runClassic` reads packets big-endian; so every 32-bit word is stored big-endian
 * at its native (little-endian layout) position: nr at 0, arch at 4, and each 64-bit arg as its low word at
 * 16+8i and high word at 20+8i.
 */
export function seccompDataBytes(d: SeccompData): Uint8Array {
  const b = new Uint8Array(SECCOMP_DATA.size);
  const v = new DataView(b.buffer);
  const put64 = (at: number, x: bigint) => {
    const u = BigInt.asUintN(64, x);
    v.setUint32(at, Number(u & 0xffffffffn));
    v.setUint32(at + 4, Number(u >> 32n));
  };
  v.setInt32(SD_NR, d.nr);
  v.setUint32(SD_ARCH, (d.arch ?? SECCOMP_ARCHES[hostSeccompArch()]!.audit) >>> 0);
  put64(SD_IP, d.instructionPointer ?? 0n);
  (d.args ?? []).forEach((a, i) => put64(SD_ARGS + 8 * i, BigInt(a)));
  return b;
}
