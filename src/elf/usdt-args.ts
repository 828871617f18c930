/**
 * USDT argument specifications (the `Arguments:` string of a `.note.stapsdt` note, e.g.
 * `-4@-8(%rbp) 8@%rax -8@$-7`) parsed into where each argument lives at the probe site: a constant, a
 * register, memory at register + offset, or (x86) base + index × scale + offset — with the register as an offset
 * into the kernel's `struct pt_regs`, the form libbpf's BPF-side `bpf_usdt_arg()` reads. The accepted syntax
 * follows libbpf's usdt.c (x86-64 AT&T operands; aarch64 `[xN, off]`, `xN`, `sp`, bare constants).
 */
import { ElfError } from '../errors.js';
import { PT_REGS } from '../isa/contexts.js';

/** Where an argument is. */
export type UsdtArgKind = 'const' | 'reg' | 'reg_deref' | 'sib';

/** Architectures whose argument syntax is understood. */
export type UsdtArch = 'x86_64' | 'aarch64';

/** One parsed argument. */
export interface UsdtArg {
  /** The argument's text in the spec (`-4@-8(%rbp)`). */
  text: string;
  kind: UsdtArgKind;
  /** Size in bytes: 1, 2, 4 or 8. */
  size: number;
  /** Signed (a negative size in the spec). */
  signed: boolean;
  /** `const`: the value; `reg_deref` / `sib`: the memory offset; `reg`: 0. */
  value: bigint;
  /** The (base) register as written (`rbp`, `eax`, `x1`), absent for constants. */
  register?: string;
  /** Offset of that register's 64-bit slot in `struct pt_regs` (0 for constants). */
  regOffset: number;
  /** `sib`: the index register, its pt_regs offset and the scale (1, 2, 4, 8). */
  indexRegister?: string;
  indexRegOffset?: number;
  scale?: number;
}

/** x86-64 register names (64/32/16/8-bit) → the `struct pt_regs` member holding them. */
const X86_REGS: Record<string, string> = {};
for (const [slot, names] of Object.entries({
  ip: ['rip', 'eip'],
  ax: ['rax', 'eax', 'ax', 'al'],
  bx: ['rbx', 'ebx', 'bx', 'bl'],
  cx: ['rcx', 'ecx', 'cx', 'cl'],
  dx: ['rdx', 'edx', 'dx', 'dl'],
  si: ['rsi', 'esi', 'si', 'sil'],
  di: ['rdi', 'edi', 'di', 'dil'],
  bp: ['rbp', 'ebp', 'bp', 'bpl'],
  sp: ['rsp', 'esp', 'sp', 'spl'],
})) {
  for (const n of names) X86_REGS[n] = slot;
}
for (let r = 8; r <= 15; r++) for (const suffix of ['', 'd', 'w', 'b']) X86_REGS[`r${r}${suffix}`] = `r${r}`;

/** The `struct pt_regs` offset of an x86-64 register name (without `%`), or undefined. */
export function x86RegOffset(name: string): number | undefined {
  const slot = X86_REGS[name];
  return slot === undefined ? undefined : PT_REGS.fields.find((f) => f.name === slot)?.offset;
}

/** The `struct user_pt_regs` offset of an aarch64 register (`x0`..`x30`, `sp`), or undefined. */
export function aarch64RegOffset(name: string): number | undefined {
  if (name === 'sp') return 31 * 8;
  const m = /^x(\d+)$/.exec(name);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n <= 30 ? n * 8 : undefined;
}

const NUM = '[-+]?(?:0[xX][0-9a-fA-F]+|\\d+)';
const X86_REG = '%([a-z0-9]+)';
const X86_FORMS: [RegExp, UsdtArgKind][] = [
  [new RegExp(`^\\$(${NUM})$`), 'const'],
  [new RegExp(`^${X86_REG}$`), 'reg'],
  [new RegExp(`^(${NUM})?\\(${X86_REG}\\)$`), 'reg_deref'],
  [new RegExp(`^(${NUM})?\\(${X86_REG},${X86_REG}(?:,(\\d+))?\\)$`), 'sib'],
];

function num(s: string | undefined): bigint {
  if (!s) return 0n;
  const neg = s.startsWith('-');
  const body = s.replace(/^[-+]/, '');
  const v = BigInt(body);
  return neg ? -v : v;
}

function fail(where: string, why: string): never {
  throw new ElfError(`${where}: ${why}`, { section: '.note.stapsdt' });
}

function parseOne(text: string, index: number, arch: UsdtArch, where: string): UsdtArg {
  const at = text.indexOf('@');
  if (at < 0) fail(where, `argument #${index} '${text}' has no size@location form`);
  const sizeText = text.slice(0, at);
  const loc = text.slice(at + 1);
  if (!/^[-+]?\d+$/.test(sizeText)) fail(where, `argument #${index} '${text}' has a bad size '${sizeText}'`);
  const sz = Number(sizeText);
  const size = Math.abs(sz);
  if (![1, 2, 4, 8].includes(size)) fail(where, `argument #${index} '${text}' has size ${sz}, not 1, 2, 4 or 8`);
  const base = { text, size, signed: sz < 0 };
  const reg = (name: string, off: (n: string) => number | undefined): number => {
    const o = off(name);
    if (o === undefined) fail(where, `argument #${index} '${text}' uses unknown ${arch} register '${name}'`);
    return o;
  };
  if (arch === 'x86_64') {
    for (const [re, kind] of X86_FORMS) {
      const m = re.exec(loc);
      if (!m) continue;
      switch (kind) {
        case 'const':
          return { ...base, kind, value: num(m[1]), regOffset: 0 };
        case 'reg':
          return { ...base, kind, value: 0n, register: m[1]!, regOffset: reg(m[1]!, x86RegOffset) };
        case 'reg_deref':
          return { ...base, kind, value: num(m[1]), register: m[2]!, regOffset: reg(m[2]!, x86RegOffset) };
        case 'sib': {
          const scale = m[4] === undefined ? 1 : Number(m[4]);
          if (![1, 2, 4, 8].includes(scale)) fail(where, `argument #${index} '${text}' has scale ${scale}, not 1, 2, 4 or 8`);
          return {
            ...base,
            kind,
            value: num(m[1]),
            register: m[2]!,
            regOffset: reg(m[2]!, x86RegOffset),
            indexRegister: m[3]!,
            indexRegOffset: reg(m[3]!, x86RegOffset),
            scale,
          };
        }
      }
    }
  } else {
    let m = new RegExp(`^\\[([a-z0-9]+)(?:,\\s*(${NUM}))?\\]$`).exec(loc);
    if (m) return { ...base, kind: 'reg_deref', value: num(m[2]), register: m[1]!, regOffset: reg(m[1]!, aarch64RegOffset) };
    m = new RegExp(`^(${NUM})$`).exec(loc);
    if (m) return { ...base, kind: 'const', value: num(m[1]), regOffset: 0 };
    m = /^([a-z0-9]+)$/.exec(loc);
    if (m) return { ...base, kind: 'reg', value: 0n, register: m[1]!, regOffset: reg(m[1]!, aarch64RegOffset) };
  }
  return fail(where, `argument #${index} '${text}' is not a location bpfkit understands (${arch})`);
}

/** The most arguments libbpf's `struct __bpf_usdt_spec` holds. */
export const USDT_MAX_ARGS = 12;

/**
 * Parse a USDT argument spec string. `where` names the probe in error messages. Throws `ElfError` for an
 * argument that is malformed, has an unsupported size or register, or when there are more than 12.
 * aarch64 memory operands with a space after the comma (`[sp, 96]`) are joined before splitting.
 */
export function parseUsdtArgs(spec: string, arch: UsdtArch = 'x86_64', where = 'usdt'): UsdtArg[] {
  const joined = arch === 'aarch64' ? spec.replace(/,\s+/g, ',') : spec;
  const parts = joined.trim().split(/\s+/).filter((p) => p !== '');
  if (parts.length > USDT_MAX_ARGS) fail(where, `${parts.length} arguments, more than ${USDT_MAX_ARGS}`);
  return parts.map((p, i) => parseOne(p, i, arch, where));
}
