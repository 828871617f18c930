#!/usr/bin/env node
// Generates src/isa/uapi.ts (enums and flags; also TC/Ethernet, seccomp, audit-arch and classic BPF constants
// from their own UAPI headers) and src/isa/helper-table.ts (helper ids and C prototypes)
// from the kernel UAPI header, completed with the enum values of the running kernel's BTF (via
// `bpftool btf dump ... format c`) where the installed header is older than the kernel (tcx, netkit, ...).
// Usage: node scripts/gen-uapi.mjs [path/to/bpf.h] [--check]
// With --check it exits 1 when a value the header defines is missing from, or different in, the committed
// files (used by a test); values only the kernel's BTF adds are not checked, since they depend on the kernel.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const args = process.argv.slice(2);
const check = args.includes('--check');
const header = args.find((a) => !a.startsWith('--')) ?? '/usr/include/linux/bpf.h';
const src = readFileSync(header, 'utf8');
let noComments = src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
// Enums of the running kernel (only the bpf ones), appended after the header so the header's order wins.
let kernelEnums = '';
if (!check && existsSync('/sys/kernel/btf/vmlinux')) {
  try {
    const dump = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const wanted = /^enum (bpf_cmd|bpf_map_type|bpf_prog_type|bpf_attach_type|bpf_link_type|xdp_action|sk_action|bpf_core_relo_kind|bpf_stats_type) \{/;
    kernelEnums = dump
      .split(/\n(?=enum |struct |union |typedef )/)
      .filter((b) => wanted.test(b))
      .map((b) => b.slice(0, b.indexOf('};') + 2))
      .join('\n');
  } catch {
    /* no bpftool: header only */
  }
}

const values = new Map(); // name -> number (all enumerators and simple #defines, in order)
function evalExpr(expr) {
  // Evaluated in BigInt so 64-bit flags (`0xfffffULL << 32`) keep their value.
  const e = expr.replace(/\(__u64\)|\(__u32\)/g, '');
  const js = e.replace(/\b(0x[0-9a-fA-F]+|\d+)(?:U?L{0,2})\b|[A-Za-z_][A-Za-z0-9_]*/g, (tok, num) => {
    if (num !== undefined) return `${num}n`;
    if (!values.has(tok)) throw new Error(`unknown ${tok}`);
    return `(${values.get(tok)}n)`;
  });
  if (!/^[\s0-9a-fA-Fxn()<>|&~+\-*]+$/.test(js)) throw new Error(`bad expr ${expr}`);
  const v = Function(`return (${js});`)();
  if (typeof v !== 'bigint') return NaN;
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const named = new Map(); // enum name -> [[enumerator, value]]
const enumRe = /enum\s+([A-Za-z_0-9]*)\s*\{([^}]*)\}/g;
for (const m of noComments.matchAll(enumRe)) {
  const body = m[2];
  let next = 0;
  const entries = [];
  for (const raw of body.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const [name, expr] = item.split('=').map((s) => s.trim());
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
    let v = next;
    if (expr !== undefined) {
      try {
        v = evalExpr(expr);
      } catch {
        continue;
      }
    }
    values.set(name, v);
    entries.push([name, v]);
    next = typeof v === 'bigint' ? v + 1n : v + 1;
  }
  if (m[1]) named.set(m[1], entries);
}
for (const m of kernelEnums.matchAll(enumRe)) {
  const have = named.get(m[1]);
  if (!have) continue;
  const known = new Set(have.map(([n]) => n));
  for (const raw of m[2].split(',')) {
    const [name, expr] = raw.trim().split('=').map((t) => t.trim());
    if (!name || known.has(name) || expr === undefined || !/^-?\d+$/.test(expr)) continue;
    have.push([name, Number(expr)]);
    values.set(name, Number(expr));
  }
}
for (const m of noComments.matchAll(/^#define\s+(BPF_[A-Z0-9_]+|XDP_[A-Z0-9_]+)\s+(.+)$/gm)) {
  if (m[1].includes('(')) continue;
  try {
    const v = evalExpr(m[2].trim());
    if (Number.isFinite(v)) values.set(m[1], v);
  } catch {
    /* not a plain number */
  }
}

function lit(v) {
  return typeof v === 'bigint' ? `${v}n` : String(v);
}

function block(tsName, enumName, prefix, doc) {
  const entries = named.get(enumName);
  if (!entries) throw new Error(`enum ${enumName} not found`);
  const lines = entries
    .filter(([n]) => n.startsWith(prefix) && !n.startsWith('__'))
    .map(([n, v]) => `  ${n.slice(prefix.length)}: ${lit(v)},`);
  return `/** ${doc} (\`enum ${enumName}\`). */\nexport const ${tsName} = {\n${lines.join('\n')}\n} as const;\n`;
}

let uapi = `/**
 * Kernel UAPI constants for eBPF, generated from ${header.includes('/usr/include') ? '/usr/include/linux/bpf.h' : 'bpf.h'} (and, for
 * the networking, seccomp and classic BPF tables, linux/pkt_cls.h, if_ether.h, seccomp.h, audit.h, elf-em.h,
 * filter.h and bpf_common.h) by scripts/gen-uapi.mjs. Do not edit by hand: regenerate. A test checks it against the system header.
 */

`;
uapi += block('BpfCmd', 'bpf_cmd', 'BPF_', 'bpf(2) commands') + '\n';
uapi += block('MapType', 'bpf_map_type', 'BPF_MAP_TYPE_', 'Map types') + '\n';
uapi += block('ProgType', 'bpf_prog_type', 'BPF_PROG_TYPE_', 'Program types') + '\n';
uapi += block('AttachType', 'bpf_attach_type', 'BPF_', 'Attach types') + '\n';
uapi += block('LinkType', 'bpf_link_type', 'BPF_LINK_TYPE_', 'Link types') + '\n';
uapi += block('XdpAction', 'xdp_action', 'XDP_', 'XDP verdicts') + '\n';
uapi += block('SkAction', 'sk_action', 'SK_', 'Socket verdicts') + '\n';
uapi += block('CoreReloKind', 'bpf_core_relo_kind', 'BPF_CORE_', 'CO-RE relocation kinds') + '\n';
uapi += block('StatsType', 'bpf_stats_type', 'BPF_STATS_', 'Statistics types') + '\n';
const flagNames = [...values.keys()].filter(
  (n) => /^(BPF_F_|BPF_ANY$|BPF_NOEXIST$|BPF_EXIST$|BPF_OBJ_NAME_LEN$|BPF_TAG_SIZE$|BPF_TCX_|BPF_RB_|BPF_RINGBUF_|XDP_FLAGS_|BPF_SOCK_OPS_|BPF_FIB_|BPF_DEVCG_|BPF_MTU_CHK|BPF_LOCAL_STORAGE_|BPF_BUILD_ID_SIZE$|BPF_SK_LOOKUP_F_|BPF_LOAD_HDR_OPT|BPF_WRITE_HDR|BPF_CSUM_LEVEL|BPF_ADJ_ROOM|BPF_HDR_START|BPF_LWT_ENCAP|BPF_CGROUP_ITER|BPF_MAX_LOOPS$|BPF_PSEUDO_)/.test(n),
);
uapi += `/** Flags and limits from anonymous enums and #defines, by their UAPI name. */\nexport const Uapi = {\n${flagNames
  .map((n) => `  ${n}: ${lit(values.get(n))},`)
  .join('\n')}\n} as const;\n`;

// Constants of other UAPI headers (networking, seccomp, audit architectures, classic BPF). `#define`s only:
// continuation lines are joined, the names a pattern selects are evaluated in order (they may use earlier ones), and a
// define that is not a plain integer expression (ioctl macros, character constants) is skipped.
function headerDefines(file, re) {
  const path = `/usr/include/linux/${file}`;
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\\\n/g, ' ');
  const names = [];
  for (const m of text.matchAll(/^#define\s+([A-Za-z_][A-Za-z0-9_]*)[ \t]+(.+)$/gm)) {
    if (!re.test(m[1])) continue;
    try {
      const v = evalExpr(m[2].trim());
      if (Number.isFinite(v) || typeof v === 'bigint') {
        values.set(m[1], v);
        names.push(m[1]);
      }
    } catch {
      /* not a plain number */
    }
  }
  return names;
}

/** A `export const tsName = {...}` block of the given names (with `prefix` removed from each). */
function defineBlock(tsName, names, prefix, doc) {
  const lines = names.filter((n) => n.startsWith(prefix)).map((n) => `  ${n.slice(prefix.length)}: ${lit(values.get(n))},`);
  return `\n/** ${doc} */\nexport const ${tsName} = {\n${lines.join('\n')}\n} as const;\n`;
}

// Networking constants the helpers and contexts need (TC verdicts, ethertypes), from their own UAPI headers.
const NET_NAMES = /^(TC_ACT_|ETH_P_|ETH_HLEN|ETH_ALEN|ETH_ZLEN|ETH_DATA_LEN|ETH_FRAME_LEN)/;
const net = [...headerDefines('pkt_cls.h', NET_NAMES), ...headerDefines('if_ether.h', NET_NAMES)];
uapi += defineBlock('NetConst', net, '', 'TC verdicts (linux/pkt_cls.h) and Ethernet constants (linux/if_ether.h).');

const seccomp = headerDefines('seccomp.h', /^SECCOMP_(RET_|MODE_|SET_MODE_|GET_|FILTER_FLAG_|USER_NOTIF_FLAG_|ADDFD_FLAG_)/);
uapi += defineBlock('SeccompRet', seccomp, 'SECCOMP_RET_', 'seccomp filter return actions and masks (`SECCOMP_RET_*`, linux/seccomp.h).');
uapi += defineBlock(
  'SeccompConst',
  seccomp.filter((n) => !n.startsWith('SECCOMP_RET_')),
  '',
  'seccomp modes, seccomp(2) operations and filter flags (linux/seccomp.h), by their UAPI name.',
);
headerDefines('elf-em.h', /^EM_/); // AUDIT_ARCH_* are built from the ELF machine numbers
headerDefines('audit.h', /^__AUDIT_ARCH_/);
const audit = headerDefines('audit.h', /^AUDIT_ARCH_/);
uapi += defineBlock('AuditArch', audit, 'AUDIT_ARCH_', 'Audit architectures (`AUDIT_ARCH_*`, linux/audit.h with EM_* of linux/elf-em.h): the `arch` of `struct seccomp_data`.');
const xdpFlags = headerDefines('if_link.h', /^XDP_FLAGS_/);
uapi += defineBlock('XdpFlags', xdpFlags, 'XDP_FLAGS_', 'XDP attach flags (`XDP_FLAGS_*`, linux/if_link.h).');
// Classic BPF: its opcode fields (BPF_LD, BPF_RET, BPF_MSH...) stay in src/cbpf/opcodes.ts, the cBPF ISA table.
const classic = [
  ...headerDefines('bpf_common.h', /^BPF_MAXINSNS$/),
  ...headerDefines('filter.h', /^(BPF_MAJOR_VERSION|BPF_MINOR_VERSION|BPF_MEMWORDS|SKF_[A-Z0-9_]+|BPF_NET_OFF|BPF_LL_OFF)$/),
];
uapi += defineBlock(
  'FilterConst',
  classic.filter((n) => !/^SKF_AD_/.test(n) || n === 'SKF_AD_OFF'),
  '',
  'Classic BPF limits and special load offsets (linux/filter.h, linux/bpf_common.h), by their UAPI name.',
);
uapi += defineBlock(
  'SkfAd',
  classic.filter((n) => n !== 'SKF_AD_OFF'),
  'SKF_AD_',
  'Classic BPF ancillary-load selectors (`SKF_AD_*`, linux/filter.h), added to `FilterConst.SKF_AD_OFF`.',
);

// Helpers: ids from __BPF_FUNC_MAPPER, prototypes from the doc comment.
const mapper = src.match(/#define __BPF_FUNC_MAPPER\(FN\)([\s\S]*?)\n\s*\/\*|#define ___BPF_FUNC_MAPPER\(FN, ctx\.\.\.\)([\s\S]*?)\n\n/);
if (!mapper) throw new Error('__BPF_FUNC_MAPPER not found');
const ids = [];
let id = 0;
for (const m of (mapper[1] ?? mapper[2]).matchAll(/FN\(\s*([a-z0-9_]+)\s*(?:,\s*(\d+))?/g)) {
  const n = m[2] !== undefined ? Number(m[2]) : id;
  ids.push([m[1], n]);
  id = n + 1;
}
const protos = new Map();
for (const m of src.matchAll(/^ \* ((?:[a-z_0-9]+ )*(?:struct [a-z_0-9]+ )?[a-z_0-9]+ \**)bpf_([a-z0-9_]+)\(([^)]*)\)\s*$/gm)) {
  protos.set(m[2], { ret: m[1].trim().replace(/\s+\*/g, ' *'), args: m[3].trim() });
}
function splitArgs(a) {
  if (!a || a === 'void') return [];
  return a.split(',').map((s) => s.trim().replace(/\s+/g, ' '));
}
let helpers = `/**
 * Kernel helper functions: id, name and C prototype, generated from the kernel UAPI header by
 * scripts/gen-uapi.mjs. Do not edit by hand: regenerate. See helpers.ts for the typed lookup API.
 */

/** [id, name, return C type, argument C declarations] per helper; name without the \`bpf_\` prefix. */
export const HELPER_TABLE: readonly (readonly [number, string, string, readonly string[]])[] = [
`;
for (const [name, n] of ids) {
  if (name === 'unspec') continue;
  const p = protos.get(name);
  const ret = p ? p.ret : 'long';
  const argv = p ? splitArgs(p.args) : [];
  helpers += `  [${n}, ${JSON.stringify(name)}, ${JSON.stringify(ret)}, ${JSON.stringify(argv)}],\n`;
}
helpers += '];\n';

const outs = [
  ['src/isa/uapi.ts', uapi],
  ['src/isa/helper-table.ts', helpers],
];
let differ = false;
for (const [file, text] of outs) {
  if (check) {
    let old = '';
    try {
      old = readFileSync(file, 'utf8');
    } catch {}
    // Every line the header gives must be in the committed file (the kernel's BTF may add more lines).
    const have = new Set(old.split('\n'));
    const missing = text.split('\n').filter((l) => !have.has(l) && !/^\s*(\/\*\*|\*|\*\/)/.test(l));
    if (missing.length) {
      console.error(`${file} lacks what ${header} gives: ${missing.slice(0, 5).join(' | ')}`);
      differ = true;
    }
  } else writeFileSync(file, text);
}
process.exit(differ ? 1 : 0);
