/** BTF and CO-RE: parse/write BTF and .BTF.ext, kernel BTF, C header dump, CO-RE relocation. */
export * from './types.js';
export { Btf, MAX_RESOLVE_DEPTH, essentialName, type BtfHeader, type BtfParseOptions } from './btf.js';
export { BtfStrings, StringTableBuilder } from './strings.js';
export { BtfBuilder, encodeBtf, type BtfBuilderOptions } from './builder.js';
export { parseBtfExt, encodeBtfExt, CORE_RELO_KIND_NAMES, type BtfExt, type BtfExtInput, type CoreRelo, type FuncInfo, type LineInfo } from './ext.js';
export { loadKernelBtf, loadKernelModules, KERNEL_BTF_DIR, type KernelModulesBtf } from './kernel.js';
export { btfToC, btfToCBytes, btfToCChunks, writeBtfAsC, type BtfToCOptions, type WriteBtfAsCOptions } from './cdump.js';
export { CWriter, formatCDecl, type CWriterOptions } from './cdecl.js';
export { btfToRaw, formatRawType } from './raw.js';
export { applyCoreRelocations, formatCoreResult, CORE_POISON_IMM, type CoreResult, type CoreOptions, type CoreCandidateCache } from './core.js';
export { sanitizeBtf, needsSanitize, type BtfFeatures } from './sanitize.js';
