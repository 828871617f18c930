/**
 * Sanitising an object's BTF for a kernel that lacks some BTF kinds, the way libbpf's bpf_object__sanitize_btf
 * does: each unsupported type is replaced by a record of the same size, so every type id stays valid
 * (DECL_TAG → INT, TYPE_TAG → CONST, ENUM64 → UNION of placeholder ints, FLOAT → empty STRUCT, global FUNC →
 * static, VAR → INT and DATASEC → STRUCT, FUNC → TYPEDEF and FUNC_PROTO → ENUM).
 */
import type { Btf } from './btf.js';
import { BtfBuilder } from './builder.js';

/** BTF features the target kernel supports (omitted = supported). */
export interface BtfFeatures {
  /** BTF_KIND_FUNC / FUNC_PROTO (kernel 5.0). */
  func?: boolean;
  /** Global function linkage (5.6). */
  funcGlobal?: boolean;
  /** BTF_KIND_VAR / DATASEC (5.2). */
  datasec?: boolean;
  /** BTF_KIND_FLOAT (5.13). */
  float?: boolean;
  /** BTF_KIND_DECL_TAG (5.16). */
  declTag?: boolean;
  /** BTF_KIND_TYPE_TAG (5.17). */
  typeTag?: boolean;
  /** BTF_KIND_ENUM64 (6.0). */
  enum64?: boolean;
}

/** True when `features` lacks something `btf` uses (so `sanitizeBtf` would change it). */
export function needsSanitize(btf: Btf, features: BtfFeatures): boolean {
  const missing = new Set<string>();
  if (features.func === false) missing.add('func').add('func_proto');
  if (features.datasec === false) missing.add('var').add('datasec');
  if (features.float === false) missing.add('float');
  if (features.declTag === false) missing.add('decl_tag');
  if (features.typeTag === false) missing.add('type_tag');
  if (features.enum64 === false) missing.add('enum64');
  for (let id = btf.startId; id < btf.typeCount; id++) {
    const k = btf.kindNameOf(id);
    if (missing.has(k)) return true;
    if (k === 'func' && features.funcGlobal === false && btf.vlenOf(id) !== 0) return true;
  }
  return false;
}

/** A builder holding `btf` with the kinds `features` lacks replaced (ids unchanged; may append one placeholder int). */
export function sanitizeBtf(btf: Btf, features: BtfFeatures): BtfBuilder {
  const b = BtfBuilder.from(btf);
  let placeholder = 0;
  for (let id = btf.startId; id < btf.typeCount; id++) {
    const t = btf.decode(id);
    switch (t.kind) {
      case 'decl_tag':
        if (features.declTag === false) b.set(id, { kind: 'int', name: t.name, size: 1, bits: 8, bitOffset: 0, signed: false, char: false, bool: false });
        break;
      case 'type_tag':
        if (features.typeTag === false) b.set(id, { kind: 'const', typeId: t.typeId });
        break;
      case 'enum64':
        if (features.enum64 === false) {
          placeholder ||= b.addInt('enum64_placeholder', 1);
          b.set(id, { kind: 'union', name: t.name, size: t.size, members: t.values.map((v) => ({ name: v.name, typeId: placeholder, bitOffset: 0, bitfieldSize: 0 })) });
        }
        break;
      case 'float':
        if (features.float === false) b.set(id, { kind: 'struct', name: t.name, size: t.size, members: [] });
        break;
      case 'func':
        if (features.func === false) b.set(id, { kind: 'typedef', name: t.name, typeId: t.typeId });
        else if (features.funcGlobal === false && t.linkage !== 'static') b.set(id, { ...t, linkage: 'static' });
        break;
      case 'func_proto':
        if (features.func === false) {
          b.set(id, { kind: 'enum', name: t.name, size: 4, signed: false, values: t.params.map((p) => ({ name: p.name, value: p.typeId })) });
        }
        break;
      case 'var':
        if (features.datasec === false) b.set(id, { kind: 'int', name: t.name, size: 1, bits: 8, bitOffset: 0, signed: false, char: false, bool: false });
        break;
      case 'datasec':
        if (features.datasec === false) {
          b.set(id, {
            kind: 'struct',
            name: t.name.replaceAll('.', '_'),
            size: t.size,
            members: t.vars.map((v) => ({ name: btf.nameOf(v.typeId), typeId: v.typeId, bitOffset: v.offset * 8, bitfieldSize: 0 })),
          });
        }
        break;
      default:
        break;
    }
  }
  return b;
}
