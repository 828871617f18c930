/**
 * Reading the kernel verifier's log: where it failed (the instruction index and reason) and the last lines
 * worth showing in an error message.
 */
import type { SourceLine } from '../../spec/program.js';

/** Where the verifier stopped. */
export interface VerifierFailure {
  /** Instruction index (kernel slot numbering, as submitted), when the log names one. */
  pc?: number;
  /** The verifier's complaint (the last meaningful line). */
  reason: string;
  /** The source line of `pc`, from the program's line table. */
  source?: SourceLine;
}

const NOISE = /^(processed \d+ insns|verification time|stack depth|mark_precise|\s*$|-- BEGIN PROG LOAD LOG --|-- END PROG LOAD LOG --)/;

/** The last `n` meaningful lines of a log. */
export function lastLogLines(log: string, n = 3): string[] {
  const lines = log.split('\n').filter((l) => !NOISE.test(l));
  return lines.slice(-n);
}

/** Parse a verifier log into its failure point; `lines` maps instruction indices to source lines. */
export function parseVerifierLog(log: string, lines?: readonly (SourceLine | undefined)[]): VerifierFailure {
  const all = log.split('\n');
  let pc: number | undefined;
  for (const l of all) {
    const m = /^(\d+): \([0-9a-f]{2}\)/.exec(l);
    if (m) pc = Number(m[1]);
  }
  const meaningful = all.filter((l) => !NOISE.test(l) && !/^\d+: \([0-9a-f]{2}\)/.test(l) && !/^;/.test(l));
  const reason = (meaningful[meaningful.length - 1] ?? '').trim() || 'rejected';
  let source: SourceLine | undefined;
  if (pc !== undefined && lines) {
    // Line info marks the first instruction of each source line: walk back to the nearest one.
    for (let i = Math.min(pc, lines.length - 1); i >= 0; i--) {
      if (lines[i]) {
        source = lines[i];
        break;
      }
    }
  }
  return { pc, reason, source };
}

/** One-line rendering of a source position. */
export function formatSource(s: SourceLine): string {
  return `${s.file}:${s.line}${s.column ? ':' + s.column : ''}${s.text ? ` '${s.text.trim()}'` : ''}`;
}
