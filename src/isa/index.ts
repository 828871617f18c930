/** The eBPF instruction set: opcode tables, the instruction model and its encoding, helpers, UAPI constants and context layouts. */
export * from './opcodes.js';
export * from './insn.js';
export * from './helpers.js';
export * from './uapi.js';
export * from './names.js';
export * from './errno.js';
export {
  XDP_MD as XDP_MD_LAYOUT,
  SK_BUFF as SK_BUFF_LAYOUT,
  PT_REGS as PT_REGS_LAYOUT,
  PERF_EVENT_DATA as PERF_EVENT_DATA_LAYOUT,
  SECCOMP_DATA as SECCOMP_DATA_LAYOUT,
  PT_REGS_ARGS,
  layoutFor,
  fieldAt,
  fieldNamed,
  type CtxLayout,
  type CtxField,
  type CtxPointer,
} from './contexts.js';
export { verifierProto, helperAllowed, type ArgKind as HelperArgClass, type RetKind as HelperRetClass, type VerifierProto } from './helper-kinds.js';
