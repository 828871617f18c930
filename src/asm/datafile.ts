/**
 * Reader for bpf_conformance / uBPF test files (`*.data`): sections introduced by `-- asm`, `-- raw`,
 * `-- result`, `-- mem`, `-- error`, `-- c`. A `-- something` line that is not one of these section names
 * stays inside the current section as content (so `-- Unknown directive` inside `-- asm` reaches the
 * assembler, which rejects it as an unknown directive).
 */
import { AsmError } from '../errors.js';
import { encodeProgram } from '../isa/index.js';
import { parseIntLiteral } from './numbers.js';
import { slotFromRaw } from './slots.js';

/** Known section names. */
export const DATA_SECTIONS = ['asm', 'raw', 'result', 'mem', 'error', 'c', 'no register offset'] as const;

/** One parsed test file. */
export interface ConformanceData {
  /**
   * The `-- asm` section with every other line of the file blanked, so line numbers in assembler errors
   * are line numbers of the .data file. Undefined when there is no asm section.
   */
  asm?: string;
  /** The `-- raw` section decoded to bytes (either `0x<u64>` per line or hex bytes). */
  raw?: Uint8Array;
  /** The `-- result` value (r0 after running). */
  result?: bigint;
  /** Initial memory (`-- mem`, hex bytes). */
  mem?: Uint8Array;
  /** The `-- error` text (expected failure), trimmed; `''` when the section is present but empty. */
  error?: string;
  /** Raw text of every section by name. */
  sections: Map<string, string>;
}

/** Parse a .data file. Throws `AsmError` (with file and line) on a malformed raw/mem/result section. */
export function parseConformanceData(text: string, file?: string): ConformanceData {
  const lines = text.split('\n');
  const sections = new Map<string, string[]>();
  const asmLines: string[] = lines.map(() => '');
  const lineOf = new Map<string, number[]>();
  let cur: string | undefined;
  lines.forEach((line, idx) => {
    const m = /^--\s+(.*?)\s*$/.exec(line);
    if (m && (DATA_SECTIONS as readonly string[]).includes(m[1]!)) {
      cur = m[1]!;
      if (!sections.has(cur)) sections.set(cur, []);
      if (!lineOf.has(cur)) lineOf.set(cur, []);
      return;
    }
    if (cur === undefined) return; // header comments
    sections.get(cur)!.push(line);
    lineOf.get(cur)!.push(idx + 1);
    if (cur === 'asm') asmLines[idx] = line;
  });
  const out: ConformanceData = { sections: new Map([...sections].map(([k, v]) => [k, v.join('\n')])) };
  if (sections.has('asm')) out.asm = asmLines.join('\n');
  const bad: (reason: string, name: string, i: number) => never = (reason, name, i) => {
    throw new AsmError(reason, { file, line: lineOf.get(name)![i] });
  };
  const raw = sections.get('raw');
  if (raw) {
    const bytes: number[] = [];
    raw.forEach((l, i) => {
      const s = l.replace(/#.*/, '').trim();
      if (!s) return;
      if (/^0x[0-9a-f]{1,16}$/i.test(s)) {
        const slot = slotFromRaw(BigInt(s));
        bytes.push(...encodeProgram([slot]));
        return;
      }
      for (const w of s.split(/\s+/)) {
        if (!/^[0-9a-f]{2}$/i.test(w)) bad(`malformed raw byte ${w}`, 'raw', i);
        bytes.push(parseInt(w, 16));
      }
    });
    out.raw = Uint8Array.from(bytes);
  }
  const mem = sections.get('mem');
  if (mem) {
    const bytes: number[] = [];
    mem.forEach((l, i) => {
      for (const w of l.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean)) {
        if (!/^[0-9a-f]{2}$/i.test(w)) bad(`malformed mem byte ${w}`, 'mem', i);
        bytes.push(parseInt(w, 16));
      }
    });
    out.mem = Uint8Array.from(bytes);
  }
  const result = sections.get('result');
  if (result) {
    const i = result.findIndex((l) => l.replace(/#.*/, '').trim() !== '');
    if (i >= 0) {
      const s = result[i]!.replace(/#.*/, '').trim();
      const lit = parseIntLiteral(s);
      if (!lit) bad(`malformed result ${s}`, 'result', i);
      out.result = BigInt.asUintN(64, lit.value);
    }
  }
  const error = sections.get('error');
  if (error) out.error = error.join('\n').trim();
  return out;
}
