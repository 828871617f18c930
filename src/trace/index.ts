/**
 * bpftrace-compatible tracing scripts compiled straight to eBPF (no LLVM): parser, semantic checks,
 * code generation, and a runtime that loads, attaches and prints like bpftrace 0.17.
 */
export { parseScript } from './parser.js';
export type { Script, Probe, ProbeSpec, Stmt, Expr, MapExpr, Loc as TraceLoc } from './ast.js';
export { compileScript, compileAst, type CompiledScript, type CompiledProbe, type CompileOptions } from './compile.js';
export { runScript, decodeJoin, joinText, type RunOptions as TraceRunOptions, type RunResult as TraceRunResult, type StackFrames, type JoinResult } from './runtime.js';
export type { MapInfo as TraceMapInfo } from './types.js';
export { kernelSymbol } from './symbols.js';
export { formatMap, histText, lhistText, type RawEntry } from './output.js';
export { parseFormat, formatPrintf, type FormatPart } from './printf-format.js';
export { expandProbe, progTypeFor, type AttachPoint } from './probes.js';
export { parseTracepointFormat as parseTracefsFormat, tracepointFields, type TpField } from './tpformat.js';
export { EventKind } from './codegen.js';
export { loadCompiledProbe } from './load.js';
export { expandUsdt, attachUsdtPoint, usdtBinaryPath, type UsdtPoint, type UsdtSiteRef } from './usdt.js';
export { userSymbol, userSymbolName, dataSymbol, type DataSymbol } from './usyms.js';
