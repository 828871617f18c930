/**
 * Parser of bpf_conformance test files (`*.data`). Sections start with a `-- name` line: `asm` (uBPF assembly),
 * `raw` (the program as one 64-bit word per line, `0x...` or decimal, or as hex bytes), `mem` (input memory,
 * hex bytes), `result` (expected r0), `error` (the program must be rejected or fault; optional text), and the
 * ignored `c` and `no register offset` sections. `#` starts a comment. Line numbers are kept for messages.
 */
import { AsmError } from '../errors.js';

/** One parsed test file. */
export interface ConformanceTest {
  file: string;
  /** The asm section with every other line blanked, so assembler line numbers are file line numbers. */
  asm?: string;
  /** Line of the `-- asm` directive. */
  asmLine?: number;
  /** The raw section as program bytes (little-endian slots). */
  raw?: Uint8Array;
  /** File line of each raw slot. */
  rawLines?: number[];
  rawLine?: number;
  /** Input memory. */
  mem?: Uint8Array;
  /** Expected r0 (u64). */
  result?: bigint;
  /** Line of the result value (of the `-- result` directive when it has none). */
  resultLine?: number;
  /** Expected error text ('' when the section has none); undefined when no `-- error` section. */
  error?: string;
  errorLine?: number;
}

const SECTIONS = ['asm', 'raw', 'mem', 'result', 'error', 'c', 'no register offset'] as const;
type Section = (typeof SECTIONS)[number];

/** Parse a .data file. Throws `AsmError` (file, line) for a malformed file. */
export function parseConformanceTest(text: string, file: string): ConformanceTest {
  const lines = text.split(/\r?\n/);
  const t: ConformanceTest = { file };
  const fail = (line: number, reason: string, column?: number): never => {
    throw new AsmError(reason, column === undefined ? { file, line } : { file, line, column });
  };
  if (text.trim() === '') fail(1, 'empty test file');
  let section: Section | undefined;
  const asm: string[] = lines.map(() => '');
  const raw: { tok: string; line: number }[] = [];
  const mem: number[] = [];
  const errorText: string[] = [];
  let resultText: { s: string; line: number } | undefined;
  let sawMem = false;
  for (let idx = 0; idx < lines.length; idx++) {
    const lineNo = idx + 1;
    const full = lines[idx]!;
    const m = /^\s*--\s*(.*?)\s*$/.exec(full);
    if (m) {
      const body = m[1]!.replace(/\s*#.*$/, '');
      const name = SECTIONS.find((s) => body === s || body.startsWith(s + ' ')) as Section | undefined;
      if (!name || (name !== 'error' && body !== name)) {
        // Worded and located as the uBPF assembler reports a `--` line inside asm text.
        const trimmed = full.trimStart();
        fail(lineNo, `unknown directive ${trimmed.replace(/\s*[#;].*$/, '').trimEnd()}`, full.length - trimmed.length + 1);
      }
      section = name;
      if (name === 'asm') {
        if (t.asmLine !== undefined) fail(lineNo, 'second -- asm section');
        t.asmLine = lineNo;
      } else if (name === 'raw') {
        if (t.rawLine !== undefined) fail(lineNo, 'second -- raw section');
        t.rawLine = lineNo;
      } else if (name === 'mem') sawMem = true;
      else if (name === 'result') t.resultLine = lineNo;
      else if (name === 'error') {
        t.errorLine = lineNo;
        const rest = body.slice('error'.length).trim();
        if (rest) errorText.push(rest);
      }
      continue;
    }
    if (section === 'asm') {
      asm[idx] = full;
      continue;
    }
    const line = full.replace(/#.*$/, '').trim();
    if (!line) continue;
    switch (section) {
      case undefined:
        fail(lineNo, `text outside any section: '${line}'`);
        break;
      case 'raw':
        for (const tok of line.split(/\s+/)) raw.push({ tok, line: lineNo });
        break;
      case 'mem':
        for (const tok of line.split(/\s+/)) {
          if (!/^(0x)?[0-9a-f]{1,2}$/i.test(tok)) fail(lineNo, `malformed memory byte '${tok}'`);
          mem.push(parseInt(tok.replace(/^0x/i, ''), 16));
        }
        break;
      case 'result':
        if (resultText) fail(lineNo, 'more than one value in -- result');
        resultText = { s: line, line: lineNo };
        break;
      case 'error':
        errorText.push(line);
        break;
      default:
        break; // c, no register offset: ignored
    }
  }
  if (t.asmLine !== undefined) t.asm = asm.join('\n');
  if (t.rawLine !== undefined) {
    const { bytes, lines: rl } = parseRaw(raw, t.rawLine, fail);
    t.raw = bytes;
    t.rawLines = rl;
  }
  if (sawMem) t.mem = Uint8Array.from(mem);
  if (resultText) {
    t.result = parseResult(resultText.s, resultText.line, fail);
    t.resultLine = resultText.line;
  }
  else if (t.resultLine !== undefined) fail(t.resultLine, '-- result section has no value');
  if (t.errorLine !== undefined) t.error = errorText.join(' ');
  return t;
}

function parseResult(s: string, line: number, fail: (line: number, reason: string) => never): bigint {
  const m = /^(-)?(0x[0-9a-f]+|\d+)$/i.exec(s);
  if (!m) fail(line, `malformed result '${s}'`);
  let v = BigInt(m![2]!);
  if (m![1]) v = -v;
  if (v >= 1n << 64n || v < -(1n << 63n)) fail(line, `result '${s}' does not fit in 64 bits`);
  return BigInt.asUintN(64, v);
}

/**
 * Raw program text: either one 64-bit word per token (`0x...` hex or decimal; the word's little-endian bytes
 * are the slot, as bpf_conformance reads it) or hex bytes (every token exactly two hex digits).
 */
function parseRaw(
  toks: { tok: string; line: number }[],
  sectionLine: number,
  fail: (line: number, reason: string) => never,
): { bytes: Uint8Array; lines: number[] } {
  // Bytes when the first line holds several tokens, all of exactly two hex digits; otherwise one word per token.
  const firstLine = toks[0]?.line;
  const onFirst = toks.filter((t) => t.line === firstLine).length;
  const asBytes = onFirst > 1 && toks.every((t) => /^[0-9a-f]{2}$/i.test(t.tok));
  if (asBytes) {
    if (toks.length % 8 !== 0) fail(toks[toks.length - 1]!.line, `raw program is ${toks.length} bytes, not a multiple of 8`);
    const bytes = Uint8Array.from(toks.map((t) => parseInt(t.tok, 16)));
    const lines: number[] = [];
    for (let i = 0; i < toks.length; i += 8) lines.push(toks[i]!.line);
    return { bytes, lines };
  }
  const bytes = new Uint8Array(toks.length * 8);
  const view = new DataView(bytes.buffer);
  const lines: number[] = [];
  toks.forEach((t, i) => {
    let v: bigint;
    if (/^0x[0-9a-f]{1,16}$/i.test(t.tok)) v = BigInt(t.tok);
    else if (/^\d+$/.test(t.tok)) v = BigInt(t.tok);
    else fail(t.line, `malformed raw instruction '${t.tok}' (expected a 64-bit word or hex bytes)`);
    if (v! >= 1n << 64n) fail(t.line, `raw instruction '${t.tok}' does not fit in 64 bits`);
    view.setBigUint64(i * 8, v!, true);
    lines.push(t.line);
  });
  if (!toks.length) fail(sectionLine, 'empty -- raw section');
  return { bytes, lines };
}
