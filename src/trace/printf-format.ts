/**
 * C printf as bpftrace applies it (snprintf with each argument as a 64-bit integer or a C string): parsing
 * format strings at compile time and formatting records in userspace with glibc's exact output.
 */

/** One piece of a parsed format: literal text or a conversion. */
export type FormatPart =
  | { lit: string }
  | { flags: string; width?: number; precision?: number; length: string; conv: string; spec: string };

const SPEC = /%([-+ #0]*)(\d+)?(?:\.(\d*))?(hh|h|ll|l|j|z|t)?([diouxXcspr%])?/y;

/** Parse a format string. Returns an error message (bpftrace-like) instead of parts when it is invalid. */
export function parseFormat(fmt: string): FormatPart[] | string {
  const parts: FormatPart[] = [];
  let lit = '';
  for (let i = 0; i < fmt.length; ) {
    if (fmt[i] !== '%') {
      lit += fmt[i++];
      continue;
    }
    SPEC.lastIndex = i;
    const m = SPEC.exec(fmt);
    if (!m || !m[5]) return `printf: Invalid format string: ${JSON.stringify(fmt.slice(i, i + 6))}`;
    i += m[0].length;
    if (m[5] === '%') {
      lit += '%';
      continue;
    }
    if (m[5] === 's' && m[4]) return `printf: Invalid format specifier: %${m[4]}s`;
    if (lit) parts.push({ lit });
    lit = '';
    parts.push({
      flags: m[1] ?? '',
      width: m[2] !== undefined ? Number(m[2]) : undefined,
      precision: m[3] !== undefined ? Number(m[3] || '0') : undefined,
      length: m[4] ?? '',
      conv: m[5],
      spec: m[0],
    });
  }
  if (lit) parts.push({ lit });
  return parts;
}

/** Conversions taking a string argument. */
export const isStringConv = (conv: string) => conv === 's' || conv === 'r';

function pad(body: string, flags: string, width: number | undefined, numeric: boolean, signPrefixLen = 0): string {
  if (width === undefined || body.length >= width) return body;
  if (flags.includes('-')) return body + ' '.repeat(width - body.length);
  if (numeric && flags.includes('0')) return body.slice(0, signPrefixLen) + '0'.repeat(width - body.length) + body.slice(signPrefixLen);
  return ' '.repeat(width - body.length) + body;
}

/** Bits the C length modifier reads from a 64-bit vararg. */
function bits(length: string): number {
  if (length === 'hh') return 8;
  if (length === 'h') return 16;
  if (length === '') return 32;
  return 64;
}

/** Format one conversion with a 64-bit integer (`bigint`) or a string argument, like glibc. */
export function formatConv(p: Extract<FormatPart, { conv: string }>, arg: bigint | string): string {
  const { flags, width, precision, conv } = p;
  if (conv === 's' || conv === 'r') {
    // %r: a buf() value, already rendered hex-escaped by the caller.
    let s = typeof arg === 'string' ? arg : String(arg);
    if (precision !== undefined) s = s.slice(0, precision);
    return pad(s, flags, width, false);
  }
  const v = typeof arg === 'bigint' ? arg : 0n;
  if (conv === 'c') return pad(String.fromCharCode(Number(v & 0xffn)), flags, width, false);
  if (conv === 'p') {
    if (v === 0n) return pad('(nil)', flags, width, false);
    const digits = BigInt.asUintN(64, v).toString(16);
    return pad('0x' + digits, flags, width, false);
  }
  const n = bits(p.length);
  const signed = conv === 'd' || conv === 'i';
  const val = signed ? BigInt.asIntN(n, v) : BigInt.asUintN(n, v);
  const neg = val < 0n;
  const mag = neg ? -val : val;
  let digits = conv === 'x' ? mag.toString(16) : conv === 'X' ? mag.toString(16).toUpperCase() : conv === 'o' ? mag.toString(8) : mag.toString(10);
  if (precision !== undefined) {
    if (precision === 0 && mag === 0n) digits = '';
    else if (digits.length < precision) digits = '0'.repeat(precision - digits.length) + digits;
  }
  let prefix = '';
  if (signed) prefix = neg ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
  if (flags.includes('#') && mag !== 0n) {
    if (conv === 'x') prefix = '0x';
    else if (conv === 'X') prefix = '0X';
    else if (conv === 'o' && !digits.startsWith('0')) digits = '0' + digits;
  }
  const zeroOk = precision === undefined;
  return pad(prefix + digits, zeroOk ? flags : flags.replace(/0/g, ''), width, true, prefix.length);
}

/** Format a whole parsed format with its arguments. */
export function formatPrintf(parts: readonly FormatPart[], args: readonly (bigint | string)[]): string {
  let out = '';
  let a = 0;
  for (const p of parts) out += 'lit' in p ? p.lit : formatConv(p, args[a++] ?? 0n);
  return out;
}
