/**
 * String helpers: trace_printk / bpf_printk, trace_vprintk, snprintf (the kernel's bstr_printf dialect checked
 * like bpf_bprintf_prepare: flags `0+- `, a width, `l`/`ll`, conversions d i u x X c s %, and %p, %px, %pK, %ps,
 * %pS, %pB, %pks, %pus, %pi4, %pI4, %pi6, %pI6), strncmp, strtol and strtoul. trace_printk output goes to the
 * run's `printk` log (the message only, without trace_pipe's task/cpu/timestamp prefix).
 *
 * Strings (%s, %pks, %pus) and every other argument are accounted in the kernel's 512-byte binary-argument buffer
 * (MAX_BPRINTF_BIN_ARGS): a string gets what is left of it, so a long one is cut at 511 characters (less after
 * earlier arguments), and a conversion that finds the buffer full is refused with -ENOSPC. An unreadable or
 * unterminated string prints as the empty string.
 *
 * Difference: the kernel prints a plain %p / %pK as a hashed value; here it prints the raw address like %px
 * (16 hex digits). %ps / %pS print `0x<addr>` (no kernel symbols).
 */
import type { HelperCallContext, HelperImpl } from '../api.js';
import { Errno } from '../errno.js';
import { envOf } from './env.js';
import { readSpace, readSpaceString } from './probe.js';
import { u32, writeBytes } from './util.js';

const MAX_TRACE_PRINTK_ARGS = 3;
const MAX_BPRINTF_ARGS = 12;
/** MAX_BPRINTF_BIN_ARGS: the buffer bpf_bprintf_prepare copies arguments and strings into. */
const BIN_ARGS = 512;

const latin1 = (b: Uint8Array) => String.fromCharCode(...b);

function pad(s: string, width: number, left: boolean, zero: boolean): string {
  if (s.length >= width) return s;
  if (left) return s + ' '.repeat(width - s.length);
  if (zero) {
    const sign = /^[-+ ]/.test(s) ? s[0] : '';
    return sign + '0'.repeat(width - s.length) + s.slice(sign.length);
  }
  return ' '.repeat(width - s.length) + s;
}

function ip6(b: Uint8Array, colons: boolean, compress: boolean): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16).padStart(colons && compress ? 1 : 4, '0'));
  if (!colons) return groups.join('');
  if (!compress) return groups.join(':');
  // Longest run of zero groups (length >= 2) becomes "::".
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return groups.slice(0, best).join(':') + '::' + groups.slice(best + bestLen).join(':');
}

/**
 * Format `fmt` with `args` the way the kernel's bpf printf helpers do. Returns the text, or a negative errno for a
 * format the kernel refuses.
 */
export function bpfFormat(c: HelperCallContext, fmt: string, args: readonly bigint[], maxArgs: number): string | number {
  let out = '';
  let argi = 0;
  // Bytes of the kernel's binary-argument buffer used so far (see the module comment).
  let used = 0;
  /** Room for a string: the characters it may take (at most), or -1 when the buffer is full. */
  const strRoom = (): number => (used === BIN_ARGS ? -1 : BIN_ARGS - used - 1);
  /** Account a fixed-size argument (4-byte aligned, as the kernel); false when it does not fit. */
  const fixed = (size: number, align: boolean): boolean => {
    if (align) used = (used + 3) & ~3;
    if (BIN_ARGS - used < size) return false;
    used += size;
    return true;
  };
  for (let i = 0; i < fmt.length; i++) {
    const ch = fmt[i];
    const code = ch.charCodeAt(0);
    if (!(code >= 0x20 && code < 0x7f) && !/\s/.test(ch)) return -Errno.EINVAL;
    if (ch !== '%') {
      out += ch;
      continue;
    }
    i++;
    if (fmt[i] === '%') {
      out += '%';
      continue;
    }
    if (argi >= maxArgs || argi >= args.length) return -Errno.EINVAL;
    let left = false;
    let zero = false;
    let plus = false;
    let space = false;
    while ('0+- '.includes(fmt[i] ?? 'x') && i < fmt.length) {
      if (fmt[i] === '-') left = true;
      else if (fmt[i] === '0') zero = true;
      else if (fmt[i] === '+') plus = true;
      else space = true;
      i++;
    }
    let width = 0;
    while (fmt[i] >= '0' && fmt[i] <= '9') width = width * 10 + Number(fmt[i++]);
    const arg = args[argi++];
    if (fmt[i] === 'p') {
      const n = fmt[i + 1] ?? '';
      const n2 = fmt[i + 2] ?? '';
      if ((n === 'k' || n === 'u') && n2 === 's') {
        i += 2;
        const room = strRoom();
        if (room < 0) return -Errno.ENOSPC;
        const s = readSpaceString(c, n === 'k' ? 'kernel' : 'user', arg, room);
        used += (s?.length ?? 0) + 1;
        out += pad(s ? latin1(s) : '', width, left, false);
        continue;
      }
      if ((n === 'i' || n === 'I') && (n2 === '4' || n2 === '6')) {
        i += 2;
        if (!fixed(n2 === '4' ? 4 : 16, false)) return -Errno.ENOSPC;
        // An unreadable address prints as zeros (the kernel zero-fills the copy when it faults).
        const b = readSpace(c, 'any', arg, n2 === '4' ? 4 : 16) ?? new Uint8Array(n2 === '4' ? 4 : 16);
        let s: string;
        if (n2 === '4') s = [...b].map((x) => (n === 'i' ? String(x).padStart(3, '0') : String(x))).join('.');
        else {
          const compress = n === 'I' && fmt[i + 1] === 'c';
          if (compress) i++;
          s = ip6(b, n === 'I', compress);
        }
        out += pad(s, width, left, false);
        continue;
      }
      if (n === 'K' || n === 'x' || n === 's' || n === 'S' || n === 'B') i++;
      else if (n && /[A-Za-z0-9]/.test(n)) return -Errno.EINVAL;
      if (!fixed(8, true)) return -Errno.ENOSPC;
      const v = BigInt.asUintN(64, arg);
      const s = n === 's' || n === 'S' || n === 'B' ? '0x' + v.toString(16) : v.toString(16).padStart(16, '0');
      out += pad(s, width, left, false);
      continue;
    }
    if (fmt[i] === 's') {
      const room = strRoom();
      if (room < 0) return -Errno.ENOSPC;
      const s = readSpaceString(c, 'any', arg, room);
      used += (s?.length ?? 0) + 1;
      out += pad(s ? latin1(s) : '', width, left, false);
      continue;
    }
    if (fmt[i] === 'c') {
      if (used === BIN_ARGS) return -Errno.ENOSPC;
      used++;
      out += pad(String.fromCharCode(Number(arg & 0xffn)), width, left, false);
      continue;
    }
    let bits = 32;
    if (fmt[i] === 'l') {
      bits = 64;
      i++;
      if (fmt[i] === 'l') i++;
    }
    const conv = fmt[i];
    let s: string;
    switch (conv) {
      case 'd':
      case 'i': {
        const v = BigInt.asIntN(bits, arg);
        s = v.toString();
        if (v >= 0n && plus) s = '+' + s;
        else if (v >= 0n && space) s = ' ' + s;
        break;
      }
      case 'u':
        s = BigInt.asUintN(bits, arg).toString();
        break;
      case 'x':
        s = BigInt.asUintN(bits, arg).toString(16);
        break;
      case 'X':
        s = BigInt.asUintN(bits, arg).toString(16).toUpperCase();
        break;
      default:
        return -Errno.EINVAL;
    }
    if (!fixed(bits / 8, true)) return -Errno.ENOSPC;
    out += pad(s, width, left, zero && !left);
  }
  return out;
}

/** The format string at `addr` (must be NUL-terminated within `size` bytes), or undefined. */
function readFmt(c: HelperCallContext, addr: bigint, size: number): string | undefined {
  if (size === 0) return undefined;
  const b = c.mem.view(addr, size);
  const nul = b.indexOf(0);
  return nul < 0 ? undefined : latin1(b.subarray(0, nul));
}

function argsFrom(c: HelperCallContext, data: bigint, dataLen: number): bigint[] | number {
  if (dataLen % 8 || dataLen / 8 > MAX_BPRINTF_ARGS) return -Errno.EINVAL;
  if (dataLen && data === 0n) return -Errno.EINVAL;
  const out: bigint[] = [];
  for (let i = 0; i < dataLen; i += 8) out.push(c.mem.load(data + BigInt(i), 8));
  return out;
}

function log(c: HelperCallContext, s: string): number {
  const env = envOf(c);
  env.printk.push(s.endsWith('\n') ? s.slice(0, -1) : s);
  return s.length;
}

function parseInt_(text: string, base: number, signed: boolean): { value: bigint; used: number } | number {
  let i = 0;
  while (i < text.length && /\s/.test(text[i])) i++;
  let neg = false;
  if (signed && (text[i] === '-' || text[i] === '+')) {
    neg = text[i] === '-';
    i++;
  } else if (!signed && text[i] === '-') return -Errno.EINVAL;
  let b = base;
  if ((b === 0 || b === 16) && text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X') && /[0-9a-fA-F]/.test(text[i + 2] ?? '')) {
    b = 16;
    i += 2;
  } else if (b === 0 && text[i] === '0') b = 8;
  else if (b === 0) b = 10;
  const start = i;
  let v = 0n;
  for (; i < text.length; i++) {
    const d = parseInt(text[i], 36);
    if (Number.isNaN(d) || d >= b) break;
    v = v * BigInt(b) + BigInt(d);
    if (v > 0xffffffffffffffffn) return -Errno.ERANGE;
  }
  if (i === start) return -Errno.EINVAL;
  if (signed) {
    if (!neg && v > 0x7fffffffffffffffn) return -Errno.ERANGE;
    if (neg && v > 0x8000000000000000n) return -Errno.ERANGE;
  }
  return { value: neg ? -v : v, used: i };
}

function strto(signed: boolean): HelperImpl {
  return (c, r1, r2, r3, r4) => {
    const len = u32(r2);
    if (r3 & ~0x1fn || len === 0) return -Errno.EINVAL;
    const base = Number(r3 & 0x1fn);
    if (base !== 0 && base !== 8 && base !== 10 && base !== 16) return -Errno.EINVAL;
    const b = c.mem.view(r1, len);
    const nul = b.indexOf(0);
    const r = parseInt_(latin1(nul < 0 ? b : b.subarray(0, nul)), base, signed);
    if (typeof r === 'number') return r;
    c.mem.store(r4, 8, r.value);
    return r.used;
  };
}

/** printf-family and string helper implementations by name. */
export const printfHelpers: Record<string, HelperImpl> = {
  trace_printk(c, r1, r2, r3, r4, r5) {
    const fmt = readFmt(c, r1, u32(r2));
    if (fmt === undefined) return -Errno.EINVAL;
    const s = bpfFormat(c, fmt, [r3, r4, r5], MAX_TRACE_PRINTK_ARGS);
    return typeof s === 'number' ? s : log(c, s);
  },
  trace_vprintk(c, r1, r2, r3, r4) {
    const fmt = readFmt(c, r1, u32(r2));
    if (fmt === undefined) return -Errno.EINVAL;
    const args = argsFrom(c, r3, u32(r4));
    if (typeof args === 'number') return args;
    const s = bpfFormat(c, fmt, args, MAX_BPRINTF_ARGS);
    return typeof s === 'number' ? s : log(c, s);
  },
  snprintf(c, r1, r2, r3, r4, r5) {
    const size = u32(r2);
    // The format is a constant string (ARG_PTR_TO_CONST_STR): NUL-terminated inside its region, of any length up
    // to there (the verifier refuses an unterminated one; here that faults). Reading a fixed-size window would
    // fault on a short .rodata.
    const fmt = latin1(c.mem.readCString(r3, Number.MAX_SAFE_INTEGER));
    const args = argsFrom(c, r4, u32(r5));
    if (typeof args === 'number') return args;
    const s = bpfFormat(c, fmt, args, MAX_BPRINTF_ARGS);
    if (typeof s === 'number') return s;
    if (size) {
      const bytes = Uint8Array.from(s.slice(0, size - 1), (x) => x.charCodeAt(0) & 0xff);
      writeBytes(c, r1, bytes);
      c.mem.store(r1 + BigInt(bytes.length), 1, 0);
    }
    return s.length + 1;
  },
  strncmp(c, r1, r2, r3) {
    const n = u32(r2);
    const a = c.mem.view(r1, n);
    const b = readSpaceString(c, 'any', r3, n) ?? new Uint8Array(0);
    for (let i = 0; i < n; i++) {
      const x = a[i];
      const y = i < b.length ? b[i] : 0;
      if (x !== y) return x < y ? -1 : 1;
      if (x === 0) return 0;
    }
    return 0;
  },
  strtol: strto(true),
  strtoul: strto(false),
};
