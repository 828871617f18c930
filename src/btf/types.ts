/**
 * The BTF data model: kind numbers and names (from the kernel's include/uapi/linux/btf.h), the decoded type
 * objects (a discriminated union on `kind`) and the input shape the writer accepts.
 */

/** `BTF_KIND_*` numbers as stored in bits 24-28 of a type's `info` word. */
export const BtfKind = {
  UNKN: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

/** Highest kind number this implementation understands. */
export const BTF_KIND_MAX = BtfKind.ENUM64;

/** `kind` strings of decoded types, indexed by kind number (0 is `void`, the kernel's id 0). */
export const KIND_NAMES = [
  'void',
  'int',
  'ptr',
  'array',
  'struct',
  'union',
  'enum',
  'fwd',
  'typedef',
  'volatile',
  'const',
  'restrict',
  'func',
  'func_proto',
  'var',
  'datasec',
  'float',
  'decl_tag',
  'type_tag',
  'enum64',
] as const;

/** A kind name as used in `BtfType.kind`. */
export type BtfKindName = (typeof KIND_NAMES)[number];

/** Kind number of a kind name. */
export function kindNumber(name: BtfKindName): number {
  const n = KIND_NAMES.indexOf(name);
  if (n < 0) throw new RangeError(`unknown BTF kind ${name}`);
  return n;
}

/** BTF magic number (`0xeB9F`), header size and version. */
export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
export const BTF_HEADER_SIZE = 24;
/** Largest vlen the format can hold (16 bits). */
export const BTF_MAX_VLEN = 0xffff;

/** `BTF_INT_*` encoding bits. */
export const BtfIntEncoding = { SIGNED: 1, CHAR: 2, BOOL: 4 } as const;

/** Function / variable linkage. Numbers: func 0 static, 1 global, 2 extern; var 0 static, 1 global, 2 extern. */
export type BtfLinkage = 'static' | 'global' | 'extern';
export const LINKAGES: readonly BtfLinkage[] = ['static', 'global', 'extern'];

interface Base {
  /** The type id (0 = void). */
  id: number;
  /** The name ('' when anonymous). */
  name: string;
}

export interface BtfVoid extends Base {
  kind: 'void';
}
export interface BtfInt extends Base {
  kind: 'int';
  size: number;
  /** Number of value bits (`nr_bits`). */
  bits: number;
  /** Deprecated bit offset inside the storage unit (0 in modern BTF). */
  bitOffset: number;
  signed: boolean;
  char: boolean;
  bool: boolean;
}
export interface BtfPtr extends Base {
  kind: 'ptr';
  typeId: number;
}
export interface BtfArray extends Base {
  kind: 'array';
  typeId: number;
  indexTypeId: number;
  nelems: number;
}
/** A struct or union member. `bitfieldSize` is 0 unless the member is a bitfield. */
export interface BtfMember {
  name: string;
  typeId: number;
  bitOffset: number;
  bitfieldSize: number;
}
export interface BtfStruct extends Base {
  kind: 'struct';
  size: number;
  members: BtfMember[];
}
export interface BtfUnion extends Base {
  kind: 'union';
  size: number;
  members: BtfMember[];
}
export interface BtfEnumValue {
  name: string;
  value: number;
}
export interface BtfEnum extends Base {
  kind: 'enum';
  size: number;
  signed: boolean;
  values: BtfEnumValue[];
}
export interface BtfEnum64Value {
  name: string;
  value: bigint;
}
export interface BtfEnum64 extends Base {
  kind: 'enum64';
  size: number;
  signed: boolean;
  values: BtfEnum64Value[];
}
export interface BtfFwd extends Base {
  kind: 'fwd';
  fwdKind: 'struct' | 'union';
}
export interface BtfTypedef extends Base {
  kind: 'typedef';
  typeId: number;
}
export interface BtfVolatile extends Base {
  kind: 'volatile';
  typeId: number;
}
export interface BtfConst extends Base {
  kind: 'const';
  typeId: number;
}
export interface BtfRestrict extends Base {
  kind: 'restrict';
  typeId: number;
}
export interface BtfFunc extends Base {
  kind: 'func';
  /** The FUNC_PROTO. */
  typeId: number;
  linkage: BtfLinkage;
}
export interface BtfParam {
  name: string;
  /** 0 for the trailing `...` of a variadic prototype. */
  typeId: number;
}
export interface BtfFuncProto extends Base {
  kind: 'func_proto';
  returnTypeId: number;
  params: BtfParam[];
}
export interface BtfVar extends Base {
  kind: 'var';
  typeId: number;
  linkage: BtfLinkage;
}
export interface BtfVarSecinfo {
  typeId: number;
  offset: number;
  size: number;
}
export interface BtfDatasec extends Base {
  kind: 'datasec';
  size: number;
  vars: BtfVarSecinfo[];
}
export interface BtfFloat extends Base {
  kind: 'float';
  size: number;
}
export interface BtfDeclTag extends Base {
  kind: 'decl_tag';
  typeId: number;
  /** Member / parameter index the tag applies to, -1 for the type itself. */
  componentIdx: number;
  /** kflag: the tag is a C attribute rather than a btf_decl_tag string. */
  attr: boolean;
}
export interface BtfTypeTag extends Base {
  kind: 'type_tag';
  typeId: number;
  /** kflag: the tag is a C attribute rather than a btf_type_tag string. */
  attr: boolean;
}

/** One decoded BTF type: a discriminated union on `kind`. */
export type BtfType =
  | BtfVoid
  | BtfInt
  | BtfPtr
  | BtfArray
  | BtfStruct
  | BtfUnion
  | BtfEnum
  | BtfEnum64
  | BtfFwd
  | BtfTypedef
  | BtfVolatile
  | BtfConst
  | BtfRestrict
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag
  | BtfTypeTag;

/** Kinds that refer to exactly one other type through `typeId`. */
export type BtfRefType = BtfPtr | BtfTypedef | BtfVolatile | BtfConst | BtfRestrict | BtfTypeTag;

/** A type as given to the writer: like `BtfType` without `id`, and `name` optional. */
export type BtfTypeInput = BtfType extends infer T
  ? T extends BtfType
    ? Omit<T, 'id' | 'name'> & { name?: string; id?: number }
    : never
  : never;

/** The `BtfType` variant of a given kind. */
export type BtfTypeOf<K extends BtfKindName> = Extract<BtfType, { kind: K }>;
