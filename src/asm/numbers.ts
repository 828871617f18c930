/**
 * Integer literals of both assembler syntaxes (decimal, `0x` hex, optional sign) and the range checks that
 * turn them into instruction fields. Range failures return a one-line reason; the caller adds the location.
 */

/** A parsed integer literal, remembering how it was written (hex literals get unsigned ranges). */
export interface IntLiteral {
  value: bigint;
  text: string;
  hex: boolean;
  /** The literal started with an explicit `+` or `-`. */
  signed: boolean;
}

const INT_RE = /^([+-]?)(0[xX][0-9a-fA-F]+|[0-9]+)$/;

/** Parse a literal like `42`, `-3`, `0x1f`, `-0x10`, `+7`; `undefined` when the text is not one. */
export function parseIntLiteral(text: string): IntLiteral | undefined {
  const m = INT_RE.exec(text);
  if (!m) return undefined;
  const mag = BigInt(m[2]!);
  return { value: m[1] === '-' ? -mag : mag, text, hex: /^0x/i.test(m[2]!), signed: m[1] !== '' };
}

const S32_MIN = -(2n ** 31n);
const S32_MAX = 2n ** 31n - 1n;
const U32_MAX = 2n ** 32n - 1n;
const S16_MIN = -(2n ** 15n);
const S16_MAX = 2n ** 15n - 1n;
const U16_MAX = 2n ** 16n - 1n;
const S64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

/**
 * A 32-bit immediate. Decimal literals must fit signed 32 bits; hex literals may also be written as
 * unsigned (0x80000000..0xffffffff wrap to negative), as the uBPF/bpf_conformance assemblers accept.
 */
export function imm32(lit: IntLiteral): number | string {
  const v = lit.value;
  if (lit.hex) {
    if (v < S32_MIN || v > U32_MAX) return `immediate ${lit.text} out of 32-bit range`;
  } else if (v < S32_MIN || v > S32_MAX) {
    return `immediate ${lit.text} out of signed 32-bit range`;
  }
  return Number(BigInt.asIntN(32, v));
}

/** A 16-bit offset: signed decimal, or hex up to 0xffff. */
export function off16(lit: IntLiteral): number | string {
  const v = lit.value;
  if (lit.hex) {
    if (v < S16_MIN || v > U16_MAX) return `offset ${lit.text} out of 16-bit range`;
  } else if (v < S16_MIN || v > S16_MAX) {
    return `offset ${lit.text} out of signed 16-bit range`;
  }
  return Number(BigInt.asIntN(16, v));
}

/** A 64-bit immediate (lddw): anything from -2^63 to 2^64-1. */
export function imm64(lit: IntLiteral): bigint | string {
  if (lit.value < S64_MIN || lit.value > U64_MAX) return `immediate ${lit.text} out of 64-bit range`;
  return BigInt.asUintN(64, lit.value);
}

/** Signed 16-bit range test for computed jump distances. */
export const fitsS16 = (n: number) => n >= -32768 && n <= 32767;
/** Signed 32-bit range test for computed jump distances. */
export const fitsS32 = (n: number) => n >= -2147483648 && n <= 2147483647;

/** `+N` / `-N` as printed for jump offsets. */
export function signedOffset(n: number): string {
  return n >= 0 ? `+${n}` : String(n);
}

/** A 32-bit field that may be written signed or unsigned (map ids, `ld_pseudo` immediates): -2^31..2^32-1. */
export function imm32any(lit: IntLiteral): number | string {
  if (lit.value < S32_MIN || lit.value > U32_MAX) return `immediate ${lit.text} out of 32-bit range`;
  return Number(BigInt.asIntN(32, lit.value));
}
