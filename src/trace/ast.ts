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
  | { kind: 'field'; expr: Expr; field: string; loc: Loc }
  | { kind: 'incdec'; op: '++' | '--'; prefix: boolean; target: MapExpr | VarExpr; loc: Loc };

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
  | { kind: 'if'; cond: Expr; then: Stmt[]; else?: Stmt[]; loc: Loc };

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

export interface Script {
  probes: Probe[];
}
