/**
 * Runs bpf_conformance tests on the userspace interpreter, the way the suite's plugins do: r1 = address of the
 * input memory (0 if none), r2 = its length, compare r0 with `-- result`; a `-- error` test passes when the
 * program is rejected (decode/validation/load) or faults at run time. Every failure gets one line of reason.
 */
import { hostJoinPath, hostReadDir, hostReadText, hostStat } from '../host/io.js';
import { assembleProgram } from '../asm/index.js';
import { AsmError, BpfkitError, DecodeError, VmError } from '../errors.js';
import { decodeProgram, type Insn } from '../isa/insn.js';
import type { HelperImpl } from '../vm/api.js';
import { Vm, type VmEngine } from '../vm/vm.js';
import { parseConformanceTest, type ConformanceTest } from './parse.js';

/** Outcome of one test file. */
export interface ConformanceResult {
  file: string;
  pass: boolean;
  /** One-line reason (why it failed; for a passing `-- error` test, how the program was refused). */
  reason?: string;
  /** File line the reason refers to. */
  line?: number;
  /** r0 when the program ran to completion. */
  r0?: bigint;
  /** Instructions executed. */
  insns?: number;
}

/** Options of the conformance runner. */
export interface ConformanceOptions {
  /** Instruction budget per test (default 1e8). */
  maxInsns?: number;
  /** Engine running the programs: 'interp' (default) or 'jit'. */
  engine?: VmEngine;
}

/**
 * The helpers bpf_conformance tests call. Only helper 5 is used (call_unwind_fail, callx): uBPF's test plugin
 * registers it as an "unwind" helper returning its argument. Its unwinding (stop the program when it returns 0)
 * is not modelled: no test of the suite needs it.
 */
export function conformanceHelpers(): Map<number, HelperImpl> {
  return new Map<number, HelperImpl>([[5, (_ctx, r1) => r1]]);
}

/** A test's program, with the file line of every slot. Throws AsmError / DecodeError. */
export function conformanceProgram(t: ConformanceTest): { insns: Insn[]; lines: number[] } {
  if (t.raw) {
    return { insns: decodeProgram(t.raw, { validate: false }), lines: t.rawLines ?? [] };
  }
  if (t.asm !== undefined) {
    const p = assembleProgram(t.asm, { syntax: 'ubpf', file: t.file });
    return { insns: p.insns, lines: p.lines };
  }
  return { insns: [], lines: [] };
}

const hex = (v: bigint) => '0x' + v.toString(16);

/** Run one parsed test. Never throws for a problem with the test or the program. */
export function runConformanceTest(t: ConformanceTest, opts: ConformanceOptions = {}): ConformanceResult {
  const file = t.file;
  const fail = (line: number | undefined, reason: string): ConformanceResult => ({ file, pass: false, line, reason });
  if (t.result === undefined && t.error === undefined) return fail(1, 'no -- result or -- error section');
  if (t.raw === undefined && t.asm === undefined) return fail(1, 'no program (no -- asm or -- raw section)');
  let prog: { insns: Insn[]; lines: number[] };
  try {
    prog = conformanceProgram(t);
  } catch (e) {
    if (e instanceof AsmError) return fail(e.line ?? t.asmLine, e.reason);
    if (e instanceof DecodeError) return refused(t, e.pc, `program rejected: ${e.message}`, undefined);
    throw e;
  }
  if (prog.insns.length === 0) return fail(t.asmLine ?? t.rawLine ?? 1, 'no instructions in the program');
  const lineOf = (pc: number) => (pc >= 0 ? prog.lines[pc] : undefined);
  let vm: Vm;
  try {
    vm = new Vm(prog.insns, { helpers: conformanceHelpers(), callx: 'helper', maxInsns: opts.maxInsns ?? 1e8, name: file, engine: opts.engine });
  } catch (e) {
    if (e instanceof DecodeError || e instanceof VmError) return refused(t, e.pc, `program rejected: ${e.message}`, lineOf(e.pc));
    throw e;
  }
  let r1 = 0n;
  let r2 = 0n;
  if (t.mem && t.mem.length > 0) {
    r1 = vm.memory.map(t.mem, { writable: true, kind: 'mem', name: 'test memory' });
    r2 = BigInt(t.mem.length);
  }
  let r0: bigint;
  try {
    r0 = vm.run(r1, r2);
  } catch (e) {
    if (e instanceof VmError) return refused(t, e.pc, `fault at run time: ${e.message}`, lineOf(e.pc));
    if (e instanceof BpfkitError) return refused(t, -1, `error at run time: ${e.message}`, undefined);
    throw e;
  }
  const insns = vm.lastRun.insns;
  if (t.error !== undefined) {
    return {
      ...fail(t.errorLine, `expected an error${t.error ? ` ('${t.error}')` : ''} but the program returned ${hex(r0)}`),
      r0,
      insns,
    };
  }
  if (r0 !== t.result) return { ...fail(t.resultLine, `r0 is ${hex(r0)}, expected ${hex(t.result!)}`), r0, insns };
  return { file, pass: true, r0, insns };
}

/** The program was refused or faulted: a pass for a `-- error` test, a failure otherwise. */
function refused(t: ConformanceTest, _pc: number, reason: string, line: number | undefined): ConformanceResult {
  if (t.error !== undefined) return { file: t.file, pass: true, reason, line };
  return { file: t.file, pass: false, reason, line: line ?? t.resultLine };
}

/** Parse and run one test given as text. */
export function runConformanceSource(text: string, file: string, opts: ConformanceOptions = {}): ConformanceResult {
  let t: ConformanceTest;
  try {
    t = parseConformanceTest(text, file);
  } catch (e) {
    if (e instanceof AsmError) return { file, pass: false, line: e.line, reason: e.reason };
    throw e;
  }
  try {
    return runConformanceTest(t, opts);
  } catch (e) {
    // A bug elsewhere (assembler, interpreter) must not hide the other results: report it as this test's failure.
    return { file, pass: false, line: 1, reason: `internal error: ${(e as Error)?.message?.split('\n')[0] ?? String(e)}` };
  }
}

/** Read, parse and run one test file. */
export function runConformanceFile(path: string, opts: ConformanceOptions = {}): ConformanceResult {
  return runConformanceSource(hostReadText(path), path, opts);
}

/**
 * The test files named by `paths`: files as given, directories contribute their `*.data` files (not
 * recursively, like bpf_conformance's test directory), sorted by name.
 */
export function listConformanceFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (hostStat(p).isDirectory()) {
      out.push(
        ...hostReadDir(p)
          .filter((n) => n.endsWith('.data'))
          .sort()
          .map((n) => hostJoinPath(p, n))
          .filter((f) => hostStat(f).isFile()),
      );
    } else out.push(p);
  }
  return out;
}

/** One line describing a result: `PASS file` or `FAIL file:line: reason`. */
export function formatConformanceResult(r: ConformanceResult): string {
  if (r.pass) return `PASS ${r.file}`;
  return `FAIL ${r.file}${r.line !== undefined ? `:${r.line}` : ''}: ${r.reason ?? 'failed'}`;
}
