/**
 * `btf dump format raw`: one line per type plus one per member, in the layout of
 * `bpftool btf dump file ... format raw` (`[1] INT 'long unsigned int' size=8 bits_offset=0 nr_bits=64 encoding=(none)`).
 */
import type { Btf } from './btf.js';
import type { BtfType } from './types.js';

const KIND_STR = [
  'UNKNOWN', 'INT', 'PTR', 'ARRAY', 'STRUCT', 'UNION', 'ENUM', 'FWD', 'TYPEDEF', 'VOLATILE', 'CONST', 'RESTRICT',
  'FUNC', 'FUNC_PROTO', 'VAR', 'DATASEC', 'FLOAT', 'DECL_TAG', 'TYPE_TAG', 'ENUM64',
];

const q = (name: string) => `'${name || '(anon)'}'`;

function intEncoding(t: { signed: boolean; char: boolean; bool: boolean }): string {
  const n = (t.signed ? 1 : 0) | (t.char ? 2 : 0) | (t.bool ? 4 : 0);
  return n === 0 ? '(none)' : n === 1 ? 'SIGNED' : n === 2 ? 'CHAR' : n === 4 ? 'BOOL' : 'UNKN';
}

/** The raw-format text of one decoded type (with its trailing member lines, no final newline). */
export function formatRawType(btf: Btf, t: BtfType): string {
  let s = `[${t.id}] ${KIND_STR[btf.kindOf(t.id)]} ${q(t.name)}`;
  switch (t.kind) {
    case 'int':
      s += ` size=${t.size} bits_offset=${t.bitOffset} nr_bits=${t.bits} encoding=${intEncoding(t)}`;
      break;
    case 'ptr':
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'typedef':
    case 'type_tag':
      s += ` type_id=${t.typeId}`;
      break;
    case 'array':
      s += ` type_id=${t.typeId} index_type_id=${t.indexTypeId} nr_elems=${t.nelems}`;
      break;
    case 'struct':
    case 'union':
      s += ` size=${t.size} vlen=${t.members.length}`;
      for (const m of t.members) {
        s += `\n\t${q(m.name)} type_id=${m.typeId} bits_offset=${m.bitOffset}`;
        if (m.bitfieldSize) s += ` bitfield_size=${m.bitfieldSize}`;
      }
      break;
    case 'enum':
    case 'enum64':
      s += ` encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`;
      for (const v of t.values) {
        s += `\n\t${q(v.name)} val=${v.value}${t.kind === 'enum64' ? (t.signed ? 'LL' : 'ULL') : ''}`;
      }
      break;
    case 'fwd':
      s += ` fwd_kind=${t.fwdKind}`;
      break;
    case 'func':
      s += ` type_id=${t.typeId} linkage=${t.linkage}`;
      break;
    case 'func_proto':
      s += ` ret_type_id=${t.returnTypeId} vlen=${t.params.length}`;
      for (const p of t.params) s += `\n\t${q(p.name)} type_id=${p.typeId}`;
      break;
    case 'var':
      s += ` type_id=${t.typeId}, linkage=${t.linkage}`;
      break;
    case 'datasec':
      s += ` size=${t.size} vlen=${t.vars.length}`;
      for (const v of t.vars) {
        s += `\n\ttype_id=${v.typeId} offset=${v.offset} size=${v.size}`;
        if (v.typeId < btf.typeCount) s += ` (${KIND_STR[btf.kindOf(v.typeId)]} ${q(btf.nameOf(v.typeId))})`;
      }
      break;
    case 'float':
      s += ` size=${t.size}`;
      break;
    case 'decl_tag':
      s += ` type_id=${t.typeId} component_idx=${t.componentIdx}`;
      break;
    case 'void':
      break;
  }
  return s;
}

/**
 * Every own type of `btf` in raw format, in chunks of about `chunkSize` characters (whole types, each line ending
 * in a newline), so a caller can stream vmlinux's ~25 MB of text without holding it all.
 */
export function* btfToRawChunks(btf: Btf, chunkSize = 1 << 16): Generator<string> {
  let buf = '';
  for (let id = btf.startId; id < btf.typeCount; id++) {
    buf += formatRawType(btf, btf.decode(id)) + '\n';
    if (buf.length >= chunkSize) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

/** Every own type of `btf` in raw format, one type (and its members) per line, ending in a newline. */
export function btfToRaw(btf: Btf): string {
  return [...btfToRawChunks(btf)].join('');
}
