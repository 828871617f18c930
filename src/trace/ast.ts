/** The bpftrace-language syntax tree produced by the parser (positions kept for error messages). */

/** A source range on one line (columns are 1-based, `endCol` inclusive). */
export interface Loc {
  line: number;
  col: number;
  endCol: number;
}

export type BinOp = '+' | '-' | '*' | '/' | '%' | '&' | '|' | '^' | '<<' | '>>' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '&&' | '||';
export type AssignOp = '=' | '+=' | '-=' | '*=' | '/=' | '%=' | '&=' | '|=' | '^=' | '<<=' | '>>=';

export type Expr =
  | { kind: 'int'; value: bigint; loc: Loc }
  | { kind: 'str'; value: string; loc: Loc }
  | { kind: 'builtin'; name: string; loc: Loc }
  | { kind: 'var'; name: string; loc: Loc }
  | MapExpr
  | { kind: 'call'; name: string; args: Expr[]; loc: Loc }
  | { kind: 'binop'; op: BinOp; left: Expr; right: Expr; loc: Loc }
  | { kind: 'unop'; op: '!' | '-' | '~'; expr: Expr; loc: Loc }
  | { kind: 'ternary'; cond: Expr; then: Expr; else: Expr; loc: Loc }
  | { kind: 'field'; expr: Expr; field: string; /** `->` (else `.`) */ arrow?: boolean; loc: Loc }
  /** `$1`..`$N` (n >= 1) and `$#` (n = '#'). */
  | { kind: 'positional'; n: number | '#'; loc: Loc }
  /** `(type)expr`; `typeLoc` covers the parenthesised type. */
  | { kind: 'cast'; type: TypeRef; expr: Expr; typeLoc: Loc; loc: Loc }
  | { kind: 'index'; expr: Expr; index: Expr; loc: Loc }
  | { kind: 'deref'; expr: Expr; loc: Loc }
  | { kind: 'incdec'; op: '++' | '--'; prefix: boolean; target: MapExpr | VarExpr; loc: Loc }
  /** `sizeof(TYPE)` or `sizeof(expr)`. */
  | { kind: 'sizeof'; type?: TypeRef; expr?: Expr; typeLoc?: Loc; loc: Loc }
  /** `offsetof(struct NAME, field.sub)` or `offsetof(expr, field)`. */
  | { kind: 'offsetof'; type?: TypeRef; expr?: Expr; fields: string[]; typeLoc?: Loc; loc: Loc };

export interface MapExpr {
  kind: 'map';
  /** Name without the `@` ('' for the anonymous map `@`). */
  name: string;
  keys: Expr[];
  loc: Loc;
}
export type VarExpr = Extract<Expr, { kind: 'var' }>;

export type Stmt =
  | { kind: 'expr'; expr: Expr; loc: Loc }
  | { kind: 'assign'; target: MapExpr | VarExpr; op: AssignOp; value: Expr; loc: Loc }
  | { kind: 'if'; cond: Expr; then: Stmt[]; else?: Stmt[]; loc: Loc }
  | { kind: 'while'; cond: Expr; body: Stmt[]; loc: Loc }
  | { kind: 'unroll'; count: Expr; body: Stmt[]; loc: Loc }
  | { kind: 'jump'; what: 'break' | 'continue' | 'return'; loc: Loc }
  /** `for ($kv : @map) { ... }` (bpftrace >= 0.21): `$kv.0` is the key, `$kv.1` the value. */
  | { kind: 'for'; var: string; map: MapExpr; body: Stmt[]; loc: Loc };

/** A type named in a cast: an integer type or a struct/union, with pointer depth. */
export type TypeRef = ({ base: 'int'; bits: number; signed: boolean } | { base: 'record'; name: string } | { base: 'void' }) & { ptr: number; text: string };

/** A `struct NAME { members }` (or union) definition in the script; members are C declarations as written. */
export interface StructDef {
  kind: 'struct' | 'union';
  name: string;
  members: { type: string; name: string; array: number[]; loc: Loc }[];
  loc: Loc;
}

/** One probe spec as written (`tracepoint:syscalls:sys_enter_*`). */
export interface ProbeSpec {
  text: string;
  loc: Loc;
}

export interface Probe {
  specs: ProbeSpec[];
  pred?: Expr;
  body: Stmt[];
  loc: Loc;
}

/** One enumerator of a script `enum [NAME] { A, B = 5 }` definition (values already computed, C rules). */
export interface EnumConst {
  name: string;
  value: bigint;
  loc: Loc;
}

export interface Script {
  probes: Probe[];
  structs: StructDef[];
  enums: EnumConst[];
}
