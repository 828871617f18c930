/**
 * Shared benchmark machinery: the result record every subject returns, timing with warm-up and trials
 * (median and best), locating the project and the shared material, and the results table.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProgType } from '../src/isa/uapi.js';
import type { Insn } from '../src/isa/insn.js';

/** One measured (or documented) number. */
export interface BenchResult {
  /** Subject module (file name in bench/ without extension). */
  subject: string;
  /** What was measured (program, input, operation). */
  case: string;
  /** Which statistic (e.g. 'ns/insn (median)'). */
  metric: string;
  value: number;
  unit: string;
  /** A number to compare with (documented or measured; say which in `name`). */
  reference?: { name: string; value: number };
  /** value / reference.value. */
  ratio?: number;
  notes?: string;
}

/** Signature every subject module exports. */
export type BenchSubject = () => Promise<BenchResult[]>;

/** Project root (the directory holding package.json), found from this compiled module's location. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(resolve(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/** The shared material directory: $BPFKIT_SHARED, else `<root>/../shared`. */
export function sharedDir(root = projectRoot()): string {
  return process.env.BPFKIT_SHARED ? resolve(process.env.BPFKIT_SHARED) : resolve(root, '..', 'shared');
}

/** Timing options. */
export interface TimeOptions {
  /** Untimed calls before measuring (default 20). */
  warmup?: number;
  /** Timed trials (default 21). */
  trials?: number;
  /** Minimum duration of one trial in ms; a trial repeats `fn` until reached (default 5 ms). */
  minTrialMs?: number;
}

/** Per-call times in nanoseconds over the trials. */
export interface Timing {
  median: number;
  best: number;
  mean: number;
  /** Calls per trial. */
  reps: number;
  trials: number;
  samples: number[];
}

/** Time `fn` (per call, ns): warm up, pick a repetition count so a trial lasts `minTrialMs`, then run the trials. */
export function timeIt(fn: () => unknown, opts: TimeOptions = {}): Timing {
  const warmup = opts.warmup ?? 20;
  const trials = opts.trials ?? 21;
  const minTrialNs = (opts.minTrialMs ?? 5) * 1e6;
  for (let i = 0; i < warmup; i++) fn();
  // Estimate one call.
  let reps = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) fn();
    const dt = Number(process.hrtime.bigint() - t0);
    if (dt >= minTrialNs / 4 || reps >= 1 << 20) {
      reps = Math.max(1, Math.ceil((reps * minTrialNs) / Math.max(dt, 1)));
      break;
    }
    reps *= 4;
  }
  const samples: number[] = [];
  for (let t = 0; t < trials; t++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) fn();
    samples.push(Number(process.hrtime.bigint() - t0) / reps);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: sorted[sorted.length >> 1]!,
    best: sorted[0]!,
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
    reps,
    trials,
    samples,
  };
}

/** A result row with `ratio` filled in from the reference. */
export function result(r: Omit<BenchResult, 'ratio'>): BenchResult {
  const out: BenchResult = { ...r };
  if (r.reference && r.reference.value !== 0) out.ratio = r.value / r.reference.value;
  return out;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/** Plain-text table of results. */
export function formatTable(results: readonly BenchResult[]): string {
  const rows = results.map((r) => [
    r.subject,
    r.case,
    r.metric,
    `${fmt(r.value)} ${r.unit}`,
    r.reference ? `${r.reference.name}: ${fmt(r.reference.value)}` : '',
    r.ratio !== undefined ? `${fmt(r.ratio)}x` : '',
    r.notes ?? '',
  ]);
  const head = ['subject', 'case', 'metric', 'value', 'reference', 'ratio', 'notes'];
  const all = [head, ...rows];
  const widths = head.map((_, c) => Math.max(...all.map((row) => row[c]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Kernel JIT measured live (root only): average ns per run from BPF_PROG_TEST_RUN, or why not. */
export async function kernelRun(insns: Insn[], packet: Uint8Array, expect: bigint | undefined): Promise<{ ns: number } | { skip: string }> {
  if (process.getuid?.() !== 0) return { skip: 'not root: kernel not measured' };
  try {
    const { KernelProgram } = await import('../src/kernel/load/program.js');
    const prog = KernelProgram.load({ name: 'bench', section: 'xdp', type: ProgType.XDP, insns, references: [], license: 'GPL' });
    try {
      prog.testRun({ data: packet, repeat: 100 }); // warm-up
      const runs: number[] = [];
      let retval = 0;
      for (let i = 0; i < 7; i++) {
        const r = prog.testRun({ data: packet, repeat: 1000 });
        runs.push(r.duration);
        retval = r.retval;
      }
      if (expect !== undefined && BigInt(retval >>> 0) !== (expect & 0xffffffffn)) {
        return { skip: `kernel returned 0x${(retval >>> 0).toString(16)}, expected 0x${expect.toString(16)}` };
      }
      runs.sort((a, b) => a - b);
      return { ns: runs[runs.length >> 1]! };
    } finally {
      prog.close();
    }
  } catch (e) {
    return { skip: `kernel run failed: ${(e as Error)?.message?.split('\n')[0] ?? e}` };
  }
}
