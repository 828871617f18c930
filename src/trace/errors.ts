/** Building bpftrace-style TraceSyntaxErrors: `stdin:1:12-15: ERROR: Unknown function: foo`. */
import { TraceSyntaxError } from '../errors.js';
import type { Loc } from './ast.js';

/** A TraceSyntaxError at `loc` whose message reads like bpftrace's (`file:line:col-end: ERROR: reason`). */
export function traceError(reason: string, loc: Loc, file = 'stdin'): TraceSyntaxError {
  // One line, whatever the script contained.
  reason = reason.replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1));
  const e = new TraceSyntaxError(`ERROR: ${reason}`, loc.line, loc.col, file);
  // bpftrace prints the range with an exclusive end column.
  const range = `${loc.col}-${loc.endCol + 1}`;
  e.message = `${file}:${loc.line}:${range}: ERROR: ${reason}`;
  return e;
}

/** A "not supported by bpfkit yet" error for a bpftrace feature bpfkit does not implement. */
export function unsupported(what: string, loc: Loc, file?: string): TraceSyntaxError {
  return traceError(`${what} is not supported by bpfkit yet`, loc, file);
}

/** Merge two locations into one range (same line assumed; otherwise the start). */
export function span(a: Loc, b: Loc): Loc {
  return b.line === a.line ? { line: a.line, col: a.col, endCol: Math.max(a.endCol, b.endCol) } : a;
}
