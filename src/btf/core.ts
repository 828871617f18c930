/**
 * CO-RE (compile once, run everywhere) relocation, following libbpf's relo_core.c: for each relocation the local
 * access spec ("0:1:2" over the object's BTF) is parsed, candidate target types are found by name (ignoring
 * `___flavor` suffixes) and kind, each candidate is matched field by field (walking into anonymous members,
 * checking compatibility), the (original, new) values are computed, and the instruction is patched: ALU
 * immediates, load/store offsets (and access size for byte_sz changes), 64-bit immediates. A relocation that
 * cannot be satisfied turns its instruction into the poison call `call 0xbad2310` so the failure surfaces at
 * load or run time, and is reported.
 */
import { BtfError } from '../errors.js';
import { Class, JmpOp, LDDW, Source, opClass, opMode, opSize, opSource, sizeBytes, sizeCode } from '../isa/opcodes.js';
import type { Insn } from '../isa/insn.js';
import type { Btf } from './btf.js';
import { essentialName } from './btf.js';
import { CoreReloKind } from '../isa/uapi.js';
import { CORE_RELO_KIND_NAMES, type CoreRelo } from './ext.js';
import type { BtfType } from './types.js';

/** The poison helper id libbpf writes into unsatisfiable relocations (0xbad2310, "bad relo"). */
export const CORE_POISON_IMM = 195896080;
/** Longest access spec accepted (libbpf's BPF_CORE_SPEC_MAX_LEN). */
const SPEC_MAX_LEN = 64;
const K = CoreReloKind;

/** Outcome of one relocation. */
export interface CoreResult {
  /** Index of the relocation in the list given to `applyCoreRelocations`. */
  index: number;
  relo: CoreRelo;
  /** Instruction slot patched (or that would have been), in `insns`. */
  insnIndex: number;
  /** libbpf's name of the relocation kind (`byte_off`, `field_exists`, ...). */
  kindName: string;
  /** The local root type as C (`struct task_struct___old`). */
  typeName: string;
  /** The access path with field names: `task_struct___old.real_parent`, `pid_type::PIDTYPE_TGID`. */
  access: string;
  /** libbpf-style local spec: `[12] struct task_struct___old.pid (0:1 @ offset 4)`. */
  localSpec: string;
  /** Matched target spec (when a candidate matched). */
  targetSpec?: string;
  /** Target BTF name (`vmlinux` or a module) and type id of the match. */
  targetBtf?: string;
  targetTypeId?: number;
  /** Value computed against the local BTF (what the compiler wrote) and against the target. */
  origValue: bigint;
  newValue: bigint;
  /** `relocated`: patched; `poisoned`: replaced by the poison call; `error`: malformed relocation (also poisoned). */
  status: 'relocated' | 'poisoned' | 'error';
  /** Why it was poisoned or failed. */
  reason?: string;
  /** The instruction before and after patching. */
  before?: Insn;
  after?: Insn;
}

/** Options for `applyCoreRelocations`. */
export interface CoreOptions {
  /** Byte offset of `insns[0]` inside its ELF section (relocation offsets are section-relative). Default 0. */
  insnBase?: number;
  /** Throw `BtfError` on the first relocation with status `error` (libbpf fails the load). Default false. */
  strict?: boolean;
  /** Candidate cache shared across calls with the same local and target BTFs (speeds up many programs). */
  cache?: CoreCandidateCache;
}

/** Cache of candidate lists, keyed by local type id; create one per (local BTF, target list). */
export type CoreCandidateCache = Map<number, CoreCandidate[]>;

/** A candidate target type of a CO-RE relocation. */
export interface CoreCandidate {
  btf: Btf;
  id: number;
}

interface Acc {
  typeId: number;
  idx: number;
  name?: string;
}

interface Spec {
  btf: Btf;
  rootTypeId: number;
  kind: number;
  spec: Acc[];
  raw: number[];
  bitOffset: number;
}

interface Res {
  origVal: bigint;
  newVal: bigint;
  poison: boolean;
  poisonReason?: string;
  validate: boolean;
  failMemszAdjust: boolean;
  origSz: number;
  newSz: number;
  origTypeId: number;
  newTypeId: number;
}

/** A malformed relocation or an impossible request (libbpf returns -EINVAL/-E2BIG...). */
class CoreFail extends Error {}
/** The relocation cannot be satisfied: poison the instruction. */
class Poison extends Error {}

const isFieldBased = (k: number) => k >= K.FIELD_BYTE_OFFSET && k <= K.FIELD_RSHIFT_U64;
const isTypeBased = (k: number) =>
  k === K.TYPE_ID_LOCAL || k === K.TYPE_ID_TARGET || k === K.TYPE_EXISTS || k === K.TYPE_SIZE || k === K.TYPE_MATCHES;
const isEnumvalBased = (k: number) => k === K.ENUMVAL_EXISTS || k === K.ENUMVAL_VALUE;
const isComposite = (t: BtfType) => t.kind === 'struct' || t.kind === 'union';
const isAnyEnum = (t: BtfType) => t.kind === 'enum' || t.kind === 'enum64';
const kindCompat = (a: BtfType, b: BtfType) => a.kind === b.kind || (isAnyEnum(a) && isAnyEnum(b));

function skip(btf: Btf, id: number): { id: number; t: BtfType } {
  const r = btf.resolveTypedefs(id);
  return { id: r, t: btf.typeById(r) };
}

function resolveSize(btf: Btf, id: number): number {
  const s = btf.trySizeOf(id);
  if (typeof s === 'string') throw new CoreFail(s);
  return s;
}

function essLen(name: string): number {
  return essentialName(name).length;
}

function namesMatch(a: string, b: string): boolean {
  if (!a || !b) return true;
  const la = essLen(a);
  return la === essLen(b) && a.slice(0, la) === b.slice(0, la);
}

function isFlexArr(btf: Btf, acc: Acc | undefined, nelems: number): boolean {
  if (!acc || !acc.name || nelems > 0) return false;
  const t = btf.typeById(acc.typeId);
  return isComposite(t) && acc.idx === (t as { members: unknown[] }).members.length - 1;
}

/** libbpf's bpf_core_parse_spec. */
function parseSpec(btf: Btf, typeId: number, accessStr: string, kind: number): Spec {
  const spec: Spec = { btf, rootTypeId: typeId, kind, spec: [], raw: [], bitOffset: 0 };
  if (!accessStr || accessStr[0] === ':') throw new CoreFail(`invalid access string "${accessStr}"`);
  if (isTypeBased(kind)) {
    if (accessStr !== '0') throw new CoreFail(`type-based relocation with access string "${accessStr}" (expected "0")`);
    return spec;
  }
  for (const part of accessStr.split(':')) {
    if (!/^\d+$/.test(part)) throw new CoreFail(`invalid access string "${accessStr}"`);
    if (spec.raw.length === SPEC_MAX_LEN) throw new CoreFail(`access string "${accessStr}" is too long`);
    spec.raw.push(Number(part));
  }
  let { id, t } = skip(btf, typeId);
  let idx = spec.raw[0]!;
  spec.spec.push({ typeId: id, idx });
  if (isEnumvalBased(kind)) {
    if (!isAnyEnum(t) || spec.raw.length > 1) throw new CoreFail(`enum value relocation on ${t.kind} or with a nested access string`);
    const values = (t as { values: { name: string }[] }).values;
    if (idx >= values.length) throw new CoreFail(`enumerator index ${idx} out of range (${values.length})`);
    spec.spec[0]!.name = values[idx]!.name;
    return spec;
  }
  if (!isFieldBased(kind)) throw new CoreFail(`unknown relocation kind ${kind}`);
  spec.bitOffset = idx * resolveSize(btf, id) * 8;
  for (let i = 1; i < spec.raw.length; i++) {
    ({ id, t } = skip(btf, id));
    idx = spec.raw[i]!;
    if (t.kind === 'struct' || t.kind === 'union') {
      if (idx >= t.members.length) throw new CoreFail(`member index ${idx} out of range in ${t.kind} ${t.name || '<anon>'} [${id}]`);
      const m = t.members[idx]!;
      spec.bitOffset += m.bitOffset;
      if (m.name) spec.spec.push({ typeId: id, idx, name: m.name });
      id = m.typeId;
    } else if (t.kind === 'array') {
      const flex = isFlexArr(btf, spec.spec[spec.spec.length - 1], t.nelems);
      ({ id } = skip(btf, t.typeId));
      if (!flex && idx >= t.nelems) throw new CoreFail(`array index ${idx} out of range (${t.nelems})`);
      spec.spec.push({ typeId: id, idx });
      spec.bitOffset += idx * resolveSize(btf, id) * 8;
    } else {
      throw new CoreFail(`access string "${accessStr}" reaches a ${t.kind} [${id}] at position ${i}`);
    }
  }
  return spec;
}

/** libbpf's bpf_core_fields_are_compat. */
function fieldsCompat(lb: Btf, lid: number, tb: Btf, tid: number): boolean {
  for (let depth = 0; depth < 32; depth++) {
    const l = skip(lb, lid);
    const t = skip(tb, tid);
    if (isComposite(l.t) && isComposite(t.t)) return true;
    if (!kindCompat(l.t, t.t)) return false;
    switch (l.t.kind) {
      case 'ptr':
      case 'float':
        return true;
      case 'fwd':
      case 'enum':
      case 'enum64': {
        const a = l.t.name;
        const b = t.t.name;
        const la = essLen(a);
        const lb2 = essLen(b);
        return la === 0 || lb2 === 0 || (la === lb2 && a.slice(0, la) === b.slice(0, la));
      }
      case 'int':
        return l.t.bitOffset === 0 && (t.t as { bitOffset: number }).bitOffset === 0;
      case 'array':
        lid = l.t.typeId;
        tid = (t.t as { typeId: number }).typeId;
        continue;
      default:
        return false;
    }
  }
  throw new CoreFail('type chain too deep');
}

/** libbpf's __bpf_core_types_are_compat. */
function typesCompat(lb: Btf, lid: number, tb: Btf, tid: number, level = 32): boolean {
  if (!kindCompat(lb.typeById(lid), tb.typeById(tid))) return false;
  for (let depth = 32; depth > 0; depth--) {
    const l = skip(lb, lid);
    const t = skip(tb, tid);
    if (!kindCompat(l.t, t.t)) return false;
    switch (l.t.kind) {
      case 'void':
      case 'struct':
      case 'union':
      case 'enum':
      case 'enum64':
      case 'fwd':
        return true;
      case 'int':
        return l.t.bitOffset === 0 && (t.t as { bitOffset: number }).bitOffset === 0;
      case 'ptr':
      case 'array':
        lid = l.t.typeId;
        tid = (t.t as { typeId: number }).typeId;
        continue;
      case 'func_proto': {
        const tp = t.t as typeof l.t;
        if (l.t.params.length !== tp.params.length) return false;
        for (let i = 0; i < l.t.params.length; i++) {
          if (level <= 0) throw new CoreFail('function prototypes nest too deep');
          if (!typesCompat(lb, lb.resolveTypedefs(l.t.params[i]!.typeId), tb, tb.resolveTypedefs(tp.params[i]!.typeId), level - 1)) return false;
        }
        lid = lb.resolveTypedefs(l.t.returnTypeId);
        tid = tb.resolveTypedefs(tp.returnTypeId);
        continue;
      }
      default:
        return false;
    }
  }
  throw new CoreFail('type chain too deep');
}

/** libbpf's __bpf_core_types_match (TYPE_MATCHES). */
function typesMatch(lb: Btf, lid: number, tb: Btf, tid: number, behindPtr: boolean, level: number): boolean {
  if (level <= 0) throw new CoreFail('types nest too deep');
  for (let depth = 32; depth > 0; depth--) {
    const l = skip(lb, lid);
    const t = skip(tb, tid);
    if (!namesMatch(l.t.name, t.t.name)) return false;
    const lk = l.t.kind;
    const tk = t.t.kind;
    switch (l.t.kind) {
      case 'void':
        return lk === tk;
      case 'fwd': {
        const lf = l.t.fwdKind === 'union';
        if (behindPtr) {
          if (lk === tk) return lf === ((t.t as { fwdKind: string }).fwdKind === 'union');
          return (tk === 'struct' && !lf) || (tk === 'union' && lf);
        }
        if (lk !== tk) return false;
        return lf === ((t.t as { fwdKind: string }).fwdKind === 'union');
      }
      case 'enum':
      case 'enum64': {
        if (!isAnyEnum(t.t)) return false;
        const tt = t.t as { size: number; values: { name: string }[] };
        if (l.t.size !== tt.size || l.t.values.length > tt.values.length) return false;
        for (const v of l.t.values) if (!tt.values.some((w) => namesMatch(v.name, w.name))) return false;
        return true;
      }
      case 'struct':
      case 'union': {
        if (behindPtr) {
          if (lk === tk) return true;
          if (tk !== 'fwd') return false;
          return (lk === 'union') === ((t.t as { fwdKind: string }).fwdKind === 'union');
        }
        if (lk !== tk) return false;
        const tm = (t.t as { members: { name: string; typeId: number }[] }).members;
        if (l.t.members.length > tm.length) return false;
        for (const m of l.t.members) {
          let matched = false;
          for (const n of tm) {
            if (!namesMatch(m.name, n.name)) continue;
            if (typesMatch(lb, m.typeId, tb, n.typeId, behindPtr, level - 1)) {
              matched = true;
              break;
            }
          }
          if (!matched) return false;
        }
        return true;
      }
      case 'int': {
        if (lk !== tk) return false;
        const ti = t.t as { size: number; signed: boolean };
        return l.t.size === ti.size && l.t.signed === ti.signed;
      }
      case 'ptr':
        if (lk !== tk) return false;
        behindPtr = true;
        lid = l.t.typeId;
        tid = (t.t as { typeId: number }).typeId;
        continue;
      case 'array': {
        if (lk !== tk) return false;
        const ta = t.t as { nelems: number; typeId: number };
        if (l.t.nelems !== ta.nelems) return false;
        lid = l.t.typeId;
        tid = ta.typeId;
        continue;
      }
      case 'func_proto': {
        if (lk !== tk) return false;
        const tp = t.t as typeof l.t;
        if (l.t.params.length !== tp.params.length) return false;
        for (let i = 0; i < l.t.params.length; i++) {
          if (!typesMatch(lb, l.t.params[i]!.typeId, tb, tp.params[i]!.typeId, behindPtr, level - 1)) return false;
        }
        lid = l.t.returnTypeId;
        tid = tp.returnTypeId;
        continue;
      }
      default:
        return false;
    }
  }
  throw new CoreFail('type chain too deep');
}

/** libbpf's bpf_core_match_member: find the local member (by name) in target composite `tid`, recursing into anonymous members. */
function matchMember(lb: Btf, lacc: Acc, tb: Btf, tid: number, spec: Spec, next: { id: number }): boolean {
  const { id, t } = skip(tb, tid);
  if (t.kind !== 'struct' && t.kind !== 'union') return false;
  const lt = lb.typeById(lacc.typeId) as { members: { name: string; typeId: number }[] };
  const lm = lt.members[lacc.idx]!;
  for (let i = 0; i < t.members.length; i++) {
    const m = t.members[i]!;
    if (spec.raw.length === SPEC_MAX_LEN) throw new CoreFail('struct/union/array nesting too deep');
    spec.bitOffset += m.bitOffset;
    spec.raw.push(i);
    if (!m.name) {
      if (matchMember(lb, lacc, tb, m.typeId, spec, next)) return true;
    } else if (m.name === lm.name) {
      spec.spec.push({ typeId: id, idx: i, name: m.name });
      next.id = m.typeId;
      const ok = fieldsCompat(lb, lm.typeId, tb, m.typeId);
      if (!ok) spec.spec.pop();
      return ok;
    }
    spec.bitOffset -= m.bitOffset;
    spec.raw.pop();
  }
  return false;
}

/** libbpf's bpf_core_spec_match: does candidate `tid` satisfy the local spec? Fills the target spec. */
function specMatch(local: Spec, tb: Btf, tid: number): Spec | undefined {
  const targ: Spec = { btf: tb, rootTypeId: tid, kind: local.kind, spec: [], raw: [], bitOffset: 0 };
  if (isTypeBased(local.kind)) {
    const ok =
      local.kind === K.TYPE_MATCHES
        ? typesMatch(local.btf, local.rootTypeId, tb, tid, false, 32)
        : typesCompat(local.btf, local.rootTypeId, tb, tid);
    return ok ? targ : undefined;
  }
  const lacc0 = local.spec[0]!;
  if (isEnumvalBased(local.kind)) {
    const { id, t } = skip(tb, tid);
    if (!isAnyEnum(t)) return undefined;
    const values = (t as { values: { name: string }[] }).values;
    const want = essentialName(lacc0.name!);
    for (let i = 0; i < values.length; i++) {
      if (essentialName(values[i]!.name) === want) {
        targ.spec.push({ typeId: id, idx: i, name: values[i]!.name });
        targ.raw.push(i);
        return targ;
      }
    }
    return undefined;
  }
  let cur = tid;
  for (let i = 0; i < local.spec.length; i++) {
    const lacc = local.spec[i]!;
    const s = skip(tb, cur);
    cur = s.id;
    if (lacc.name) {
      const next = { id: cur };
      if (!matchMember(local.btf, lacc, tb, cur, targ, next)) return undefined;
      cur = next.id;
    } else {
      if (i > 0) {
        if (s.t.kind !== 'array') return undefined;
        const flex = isFlexArr(tb, targ.spec[targ.spec.length - 1], s.t.nelems);
        if (!flex && lacc.idx >= s.t.nelems) return undefined;
        cur = skip(tb, s.t.typeId).id;
      }
      if (targ.raw.length === SPEC_MAX_LEN) throw new CoreFail('struct/union/array nesting too deep');
      targ.spec.push({ typeId: cur, idx: lacc.idx });
      targ.raw.push(lacc.idx);
      targ.bitOffset += lacc.idx * resolveSize(tb, cur) * 8;
    }
  }
  return targ;
}

interface FieldVal {
  val: bigint;
  size: number;
  typeId: number;
  validate: boolean;
}

/** libbpf's bpf_core_calc_field_relo. */
function calcField(kind: number, spec: Spec | undefined): FieldVal {
  const out: FieldVal = { val: 0n, size: 0, typeId: 0, validate: true };
  if (kind === K.FIELD_EXISTS) {
    out.val = spec ? 1n : 0n;
    return out;
  }
  if (!spec) throw new Poison('field not found in target');
  const acc = spec.spec[spec.spec.length - 1]!;
  const btf = spec.btf;
  if (!acc.name) {
    if (kind === K.FIELD_BYTE_OFFSET) {
      out.val = BigInt(Math.floor(spec.bitOffset / 8));
      out.size = resolveSize(btf, acc.typeId);
      out.typeId = acc.typeId;
    } else if (kind === K.FIELD_BYTE_SIZE) {
      out.val = BigInt(resolveSize(btf, acc.typeId));
    } else {
      throw new CoreFail(`relocation ${CORE_RELO_KIND_NAMES[kind]} cannot be applied to an array element`);
    }
    return out;
  }
  const t = btf.typeById(acc.typeId) as { members: { typeId: number; bitfieldSize: number }[] };
  const m = t.members[acc.idx]!;
  const { id: fieldTypeId, t: mt } = skip(btf, m.typeId);
  const bitOff = spec.bitOffset;
  let bitSz = m.bitfieldSize;
  const bitfield = bitSz > 0;
  let byteSz: number;
  let byteOff: number;
  if (bitfield) {
    byteSz = (mt as { size?: number }).size ?? 0;
    if (!byteSz) throw new CoreFail('bitfield of a sizeless type');
    byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    while (bitOff + bitSz - byteOff * 8 > byteSz * 8) {
      if (byteSz >= 8) throw new CoreFail('bitfield cannot be read with a 64-bit load');
      byteSz *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    }
  } else {
    byteSz = resolveSize(btf, fieldTypeId);
    byteOff = Math.floor(bitOff / 8);
    bitSz = byteSz * 8;
  }
  out.validate = !bitfield;
  switch (kind) {
    case K.FIELD_BYTE_OFFSET:
      out.val = BigInt(byteOff);
      if (!bitfield) {
        out.size = byteSz;
        out.typeId = fieldTypeId;
      }
      break;
    case K.FIELD_BYTE_SIZE:
      out.val = BigInt(byteSz);
      break;
    case K.FIELD_SIGNED:
      out.val = (isAnyEnum(mt) && (mt as { signed: boolean }).signed) || (mt.kind === 'int' && mt.signed) ? 1n : 0n;
      break;
    case K.FIELD_LSHIFT_U64:
      out.val = btf.bigEndian ? BigInt((8 - byteSz) * 8 + (bitOff - byteOff * 8)) : BigInt(64 - (bitOff + bitSz - byteOff * 8));
      break;
    case K.FIELD_RSHIFT_U64:
      out.val = BigInt(64 - bitSz);
      out.validate = true;
      break;
    default:
      throw new CoreFail(`unknown field relocation kind ${kind}`);
  }
  return out;
}

/** libbpf's bpf_core_calc_type_relo. */
function calcType(kind: number, spec: Spec | undefined): { val: bigint; validate: boolean } {
  if (!spec) return { val: 0n, validate: true };
  switch (kind) {
    case K.TYPE_ID_TARGET:
      return { val: BigInt(spec.rootTypeId), validate: false };
    case K.TYPE_EXISTS:
    case K.TYPE_MATCHES:
      return { val: 1n, validate: true };
    case K.TYPE_SIZE:
      return { val: BigInt(resolveSize(spec.btf, spec.rootTypeId)), validate: true };
    default:
      throw new CoreFail(`unknown type relocation kind ${kind}`);
  }
}

/** libbpf's bpf_core_calc_enumval_relo. */
function calcEnumval(kind: number, spec: Spec | undefined): bigint {
  if (kind === K.ENUMVAL_EXISTS) return spec ? 1n : 0n;
  if (!spec) throw new Poison('enumerator not found in target');
  const t = spec.btf.typeById(spec.spec[0]!.typeId) as { values: { value: number | bigint }[]; kind: string };
  return BigInt(t.values[spec.spec[0]!.idx]!.value);
}

/** libbpf's bpf_core_calc_relo: (orig, new) for a local spec and an optional target spec. */
function calcRelo(kind: number, local: Spec, targ: Spec | undefined): Res {
  const res: Res = { origVal: 0n, newVal: 0n, poison: false, validate: true, failMemszAdjust: false, origSz: 0, newSz: 0, origTypeId: 0, newTypeId: 0 };
  try {
    if (isFieldBased(kind)) {
      const o = calcField(kind, local);
      res.origVal = o.val;
      res.origSz = o.size;
      res.origTypeId = o.typeId;
      res.validate = o.validate;
      const n = calcField(kind, targ);
      res.newVal = n.val;
      res.newSz = n.size;
      res.newTypeId = n.typeId;
      if (res.origSz !== res.newSz && targ) {
        const ot = local.btf.typeById(res.origTypeId);
        const nt = targ.btf.typeById(res.newTypeId);
        const okPtr = ot.kind === 'ptr' && nt.kind === 'ptr';
        const okInt = ot.kind === 'int' && nt.kind === 'int' && !ot.signed && !nt.signed;
        if (!okPtr && !okInt) res.failMemszAdjust = true;
      }
    } else if (isTypeBased(kind)) {
      const o = calcType(kind, local);
      res.origVal = o.val;
      res.validate = o.validate;
      res.newVal = calcType(kind, targ).val;
    } else if (isEnumvalBased(kind)) {
      res.origVal = calcEnumval(kind, local);
      res.newVal = calcEnumval(kind, targ);
    } else {
      throw new CoreFail(`unrecognized CO-RE relocation kind ${kind}`);
    }
  } catch (e) {
    if (e instanceof Poison) {
      res.poison = true;
      res.poisonReason = e.message;
    } else throw e;
  }
  return res;
}

function typeLabel(btf: Btf, id: number): string {
  const t = btf.typeById(id);
  return `${t.kind} ${t.name || '<anon>'}`;
}

/** The access path with names: `task_struct.pid`, `task_struct[1].comm[2]`, `pid_type::PIDTYPE_TGID`. */
function accessPath(spec: Spec): string {
  const root = spec.btf.typeById(spec.rootTypeId);
  let s = root.name || '<anon>';
  if (isTypeBased(spec.kind)) return s;
  if (isEnumvalBased(spec.kind)) return `${s}::${spec.spec[0]?.name ?? '?'}`;
  spec.spec.forEach((a, i) => {
    if (a.name) s += `.${a.name}`;
    else if (i > 0 || a.idx > 0) s += `[${a.idx}]`;
  });
  return s;
}

/** libbpf's bpf_core_format_spec. */
function formatSpec(spec: Spec): string {
  let s = `[${spec.rootTypeId}] ${typeLabel(spec.btf, spec.rootTypeId)}`;
  if (isTypeBased(spec.kind)) return s;
  if (isEnumvalBased(spec.kind)) {
    const t = spec.btf.resolveType(spec.rootTypeId) as { values: { name: string; value: number | bigint }[]; kind: string; signed: boolean };
    const v = t.values[spec.raw[0] ?? spec.spec[0]!.idx];
    return v ? `${s}::${v.name} = ${v.value}${t.kind === 'enum64' ? (t.signed ? 'LL' : 'ULL') : ''}` : s;
  }
  spec.spec.forEach((a, i) => {
    if (a.name) s += `.${a.name}`;
    else if (i > 0 || a.idx > 0) s += `[${a.idx}]`;
  });
  const off = spec.bitOffset % 8 ? `${Math.floor(spec.bitOffset / 8)}.${spec.bitOffset % 8}` : `${spec.bitOffset / 8}`;
  return `${s} (${spec.raw.join(':')} @ offset ${off})`;
}

/** Candidate target types for local type `id`: same kind (enum/enum64 interchangeable), same essential name. */
function findCandidates(local: Btf, id: number, targets: readonly Btf[]): CoreCandidate[] {
  const lt = local.typeById(id);
  const out: CoreCandidate[] = [];
  const compat = (b: Btf, cid: number) => kindCompat(b.typeById(cid), lt);
  const first = targets[0];
  if (first) for (const cid of first.findByEssentialName(lt.name)) if (compat(first, cid)) out.push({ btf: first, id: cid });
  if (out.length) return out;
  // Modules are searched only when vmlinux has no candidate; only their own (split) types.
  for (const b of targets.slice(1)) for (const cid of b.findByEssentialName(lt.name, undefined, true)) if (compat(b, cid)) out.push({ btf: b, id: cid });
  return out;
}

/** libbpf's bpf_core_calc_relo_insn: the relocation decision over all candidates. */
function decide(relo: CoreRelo, local: Btf, targets: readonly Btf[], cache: CoreCandidateCache): { res: Res; lspec: Spec; tspec?: Spec } {
  const lt = local.typeById(relo.typeId);
  const lspec = parseSpec(local, relo.typeId, relo.accessStr, relo.kind);
  if (relo.kind === K.TYPE_ID_LOCAL) {
    const v = BigInt(relo.typeId);
    return {
      res: { origVal: v, newVal: v, poison: false, validate: true, failMemszAdjust: false, origSz: 0, newSz: 0, origTypeId: 0, newTypeId: 0 },
      lspec,
    };
  }
  if (!lt.name) throw new CoreFail(`relocation against anonymous ${lt.kind} [${relo.typeId}] is not supported`);
  let cands = cache.get(relo.typeId);
  if (!cands) {
    cands = findCandidates(local, relo.typeId, targets);
    cache.set(relo.typeId, cands);
  }
  let targ: Res | undefined;
  let tspec: Spec | undefined;
  for (const c of cands) {
    const cspec = specMatch(lspec, c.btf, c.id);
    if (!cspec) continue;
    const cres = calcRelo(relo.kind, lspec, cspec);
    if (!targ) {
      targ = cres;
      tspec = cspec;
    } else {
      if (isFieldBased(relo.kind) && cspec.bitOffset !== tspec!.bitOffset) {
        throw new CoreFail(`field offset ambiguity: ${formatSpec(tspec!)} vs ${formatSpec(cspec)}`);
      }
      if (cres.poison !== targ.poison || cres.newVal !== targ.newVal) {
        throw new CoreFail(
          `relocation decision ambiguity: ${formatSpec(tspec!)} gives ${targ.poison ? 'poison' : targ.newVal} but ${formatSpec(cspec)} gives ${cres.poison ? 'poison' : cres.newVal}`,
        );
      }
    }
  }
  if (!targ) {
    targ = calcRelo(relo.kind, lspec, undefined);
    if (targ.poison) {
      const what = isEnumvalBased(relo.kind) ? `enumerator ${lspec.spec[0]?.name}` : `field ${accessPath(lspec)}`;
      targ.poisonReason = cands.length
        ? `${what} not found in ${cands.map((c) => `${typeLabel(c.btf, c.id)} [${c.id}] (${c.btf.name})`).join(', ')}`
        : `no type named ${essentialName(lt.name)} (kind ${lt.kind}) in the target BTF`;
    }
  }
  return { res: targ, lspec, tspec };
}

/** Replace the instruction(s) at `idx` with the poison call (both slots of an lddw). */
function poisonInsn(insns: Insn[], idx: number): void {
  if (insns[idx]!.code === LDDW && insns[idx + 1]) {
    insns[idx + 1] = { code: Class.JMP | JmpOp.CALL, dst: 0, src: 0, off: 0, imm: CORE_POISON_IMM };
  }
  insns[idx] = { code: Class.JMP | JmpOp.CALL, dst: 0, src: 0, off: 0, imm: CORE_POISON_IMM };
}

/** libbpf's bpf_core_patch_insn. Returns an error message, or undefined on success. */
function patchInsn(insns: Insn[], idx: number, res: Res): string | undefined {
  const insn = insns[idx]!;
  const cls = opClass(insn.code);
  if (res.poison) {
    poisonInsn(insns, idx);
    return undefined;
  }
  const orig = res.origVal;
  const nv = res.newVal;
  switch (cls) {
    case Class.ALU:
    case Class.ALU64: {
      if (opSource(insn.code) !== Source.K) return 'ALU instruction with a register source cannot be relocated';
      if (res.validate && BigInt.asUintN(64, BigInt(insn.imm)) !== orig) return `unexpected ALU immediate ${insn.imm}, expected ${orig}`;
      insns[idx] = { ...insn, imm: Number(BigInt.asIntN(32, nv)) };
      return undefined;
    }
    case Class.LDX:
    case Class.ST:
    case Class.STX: {
      if (res.validate && BigInt.asUintN(64, BigInt(insn.off)) !== orig) return `unexpected memory offset ${insn.off}, expected ${orig}`;
      if (nv > 0x7fffn) return `offset ${nv} does not fit an instruction (max 32767)`;
      if (res.failMemszAdjust) {
        res.poison = true;
        res.poisonReason = 'field size differs and is not a pointer or unsigned integer: cannot adjust the access size';
        poisonInsn(insns, idx);
        return undefined;
      }
      let code = insn.code;
      if (res.newSz !== res.origSz) {
        const have = sizeBytes(opSize(insn.code));
        if (have !== res.origSz) return `unexpected access size ${have}, expected ${res.origSz}`;
        if (![1, 2, 4, 8].includes(res.newSz)) return `invalid new access size ${res.newSz}`;
        code = opMode(insn.code) | sizeCode(res.newSz) | cls;
      }
      insns[idx] = { ...insn, code, off: Number(nv) };
      return undefined;
    }
    case Class.LD: {
      const next = insns[idx + 1];
      if (insn.code !== LDDW || insn.src !== 0 || insn.off !== 0 || !next || next.code !== 0 || next.dst !== 0 || next.src !== 0 || next.off !== 0) {
        return '64-bit immediate load has an unexpected form';
      }
      const imm = (BigInt(next.imm >>> 0) << 32n) | BigInt(insn.imm >>> 0);
      if (res.validate && imm !== orig) return `unexpected 64-bit immediate ${imm}, expected ${orig}`;
      const v = BigInt.asUintN(64, nv);
      insns[idx] = { ...insn, imm: Number(BigInt.asIntN(32, v & 0xffffffffn)) };
      insns[idx + 1] = { ...next, imm: Number(BigInt.asIntN(32, v >> 32n)) };
      return undefined;
    }
    default:
      return `instruction class ${cls} (code 0x${insn.code.toString(16)}) cannot be relocated`;
  }
}

/**
 * Apply CO-RE relocations to `insns` in place. `relos` are the .BTF.ext records of the section `insns` come from
 * (`insnOff` in bytes, section-relative; set `opts.insnBase` when `insns` start later in the section); `local`
 * is the object's BTF; `target` the kernel's (vmlinux first, then module BTFs, searched only when vmlinux has no
 * candidate). Returns one result per relocation. Unsatisfiable relocations are poisoned; malformed ones are
 * poisoned too and reported with status `error` (thrown as `BtfError` when `opts.strict`).
 */
export function applyCoreRelocations(
  insns: Insn[],
  relos: readonly CoreRelo[],
  local: Btf,
  target: Btf | readonly Btf[],
  opts: CoreOptions = {},
): CoreResult[] {
  const targets = Array.isArray(target) ? (target as readonly Btf[]) : [target as Btf];
  const cache = opts.cache ?? new Map<number, CoreCandidate[]>();
  const base = opts.insnBase ?? 0;
  const results: CoreResult[] = [];
  relos.forEach((relo, index) => {
    const kindName = CORE_RELO_KIND_NAMES[relo.kind] ?? `kind ${relo.kind}`;
    const r: CoreResult = {
      index,
      relo,
      insnIndex: -1,
      kindName,
      typeName: '',
      access: relo.accessStr,
      localSpec: '',
      origValue: 0n,
      newValue: 0n,
      status: 'error',
    };
    results.push(r);
    const off = relo.insnOff - base;
    if (off % 8 !== 0 || off < 0 || off / 8 >= insns.length) {
      r.reason = `instruction offset ${relo.insnOff} is not an instruction of this program (base ${base}, ${insns.length} slots)`;
      return;
    }
    const idx = off / 8;
    r.insnIndex = idx;
    r.before = { ...insns[idx]! };
    try {
      if (!(relo.typeId > 0 && relo.typeId < local.typeCount)) throw new CoreFail(`local type id ${relo.typeId} does not exist`);
      r.typeName = typeLabel(local, relo.typeId);
      const { res, lspec, tspec } = decide(relo, local, targets, cache);
      r.access = accessPath(lspec);
      r.localSpec = formatSpec(lspec);
      if (tspec) {
        r.targetSpec = formatSpec(tspec);
        r.targetBtf = tspec.btf.name;
        r.targetTypeId = tspec.rootTypeId;
      }
      r.origValue = res.origVal;
      r.newValue = res.newVal;
      const err = patchInsn(insns, idx, res);
      if (err) throw new CoreFail(err);
      r.status = res.poison ? 'poisoned' : 'relocated';
      if (res.poison) r.reason = res.poisonReason;
    } catch (e) {
      if (!(e instanceof CoreFail || e instanceof BtfError)) throw e;
      r.status = 'error';
      r.reason = e.message;
      poisonInsn(insns, idx);
    }
    r.after = { ...insns[idx]! };
    if (r.status === 'error' && opts.strict) {
      throw new BtfError(`CO-RE relocation #${index} (${kindName}) of ${r.typeName || `type ${relo.typeId}`} ${r.access} at insn ${idx}: ${r.reason}`, {
        section: '.BTF.ext',
      });
    }
  });
  return results;
}

/** One line per result, like libbpf's debug log: `insn 3: byte_off task_struct___old.pid: 4 -> 1264`. */
export function formatCoreResult(r: CoreResult): string {
  const head = `insn ${r.insnIndex}: ${r.kindName} ${r.typeName ? r.typeName + ' ' : ''}${r.access}`;
  if (r.status === 'relocated') return `${head}: ${r.origValue} -> ${r.newValue}${r.targetSpec ? ` (${r.targetBtf} ${r.targetSpec})` : ''}`;
  return `${head}: ${r.status}${r.reason ? ` (${r.reason})` : ''}`;
}
